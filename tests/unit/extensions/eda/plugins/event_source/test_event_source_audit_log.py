# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source as ansible-rulebook runs it (``runpy``, ``await main(queue, args)``),
against an emulator of its own to which entries are added while it polls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys

import pytest
import yaml

from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import CONNECTION_NAMES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuthError,
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.schema import doc_options
from ansible_collections.nirvana_labs.audit.plugins.module_utils.options.event_source import (
    EVENT_SOURCE_GROUPS,
    event_source_arguments,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import FILTER_NAMES
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.emulator_support import (
    start_emulator,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")


def load_source(path):
    """What ``runpy.run_path`` does with a plain file. (ansible-test's collection path hook
    claims paths under ansible_collections, and ``run_path`` then takes the file for a zip;
    the subprocess test below uses the real ``runpy``, without any hook.)"""
    namespace = {"__file__": path, "__name__": "<run_path>"}
    with open(path) as handle:
        exec(compile(handle.read(), path, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


PLUGIN = load_source(SOURCE)


@pytest.fixture
def emulator():
    running = start_emulator("--entries", "50")
    yield running
    running.stop()


def add(emulator, **entry):
    return emulator._admin("POST", "entries", json=entry)["items"][0]


def args_for(emulator, **extra):
    args = {"api_key": emulator.api_key, "base_url": emulator.url, "interval": 0.2,
            "max_retries": 0}
    args.update(extra)
    return args


async def collect(queue, count, timeout=20):
    events = []
    while len(events) < count:
        events.append(await asyncio.wait_for(queue.get(), timeout))
    return events


def run(coroutine_fn):
    return asyncio.run(coroutine_fn())


def test_entries_added_while_it_polls_become_events_once_in_order(emulator):
    before = add(emulator)  # created before the source starts (and a second back, to be sure)

    async def scenario():
        queue = asyncio.Queue(1)  # as ansible-rulebook's
        await asyncio.sleep(1.1)
        task = asyncio.ensure_future(PLUGIN["main"](queue, args_for(emulator, action="vm.*")))
        await asyncio.sleep(0.5)
        made = [add(emulator), add(emulator, action="api_key.created"), add(emulator)]
        events = await collect(queue, 2)
        made.append(add(emulator, action="vm.created"))
        events += await collect(queue, 1)
        await asyncio.sleep(1)  # several more polls re-read the same entries
        assert queue.empty()
        task.cancel()
        return made, events

    made, events = run(scenario)
    expected = sorted([made[0], made[2]], key=lambda e: (e["created_at"], e["id"])) + [made[3]]
    assert events == [{"audit_log": e} for e in expected]
    assert before["id"] not in json.dumps(events)


def test_a_restart_with_the_state_file_has_no_gap_and_no_duplicate(emulator, tmp_path):
    state = str(tmp_path / "state.json")

    async def first_run():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(PLUGIN["main"](queue, args_for(emulator, state_file=state)))
        await asyncio.sleep(0.3)
        made = [add(emulator), add(emulator)]
        events = await collect(queue, 2)
        task.cancel()
        return made, events

    async def second_run():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(PLUGIN["main"](queue, args_for(emulator, state_file=state)))
        events = await collect(queue, 1)
        await asyncio.sleep(1)
        task.cancel()
        return events + [queue.get_nowait() for dummy in range(queue.qsize())]

    made, first = run(first_run)
    while_stopped = add(emulator)
    second = run(second_run)
    assert [e["audit_log"]["id"] for e in first] == sorted(
        [m["id"] for m in made], key=lambda i: [m["created_at"] for m in made if m["id"] == i] + [i])
    assert second == [{"audit_log": while_stopped}]
    assert oct(os.stat(state).st_mode & 0o777) == "0o600"
    assert emulator.api_key not in open(state).read()


def test_an_outage_is_logged_without_the_key_and_polling_resumes(emulator, caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(PLUGIN["main"](queue, args_for(emulator)))
        await asyncio.sleep(0.3)
        emulator.faults({"kind": "status", "status": 503, "times": 3},
                        {"kind": "reset", "times": 2}, {"kind": "rate_limit", "times": 1})
        made = add(emulator)
        events = await collect(queue, 1)
        for dummy in range(100):  # the recovery is logged once the poll is committed
            if "polling resumed" in caplog.text:
                break
            await asyncio.sleep(0.1)
        task.cancel()
        return made, events

    made, events = run(scenario)
    assert events == [{"audit_log": made}]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("poll failed (1 in a row" in w for w in warnings)
    assert any("polling resumed after" in w for w in warnings)
    assert emulator.api_key not in caplog.text


def test_a_refused_key_stops_it_with_a_clear_message_and_no_key(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as err:
        run(lambda: PLUGIN["main"](asyncio.Queue(), args_for(emulator, api_key="nl-wrong-key-42")))
    assert err.value.status == 401
    assert "stopped" in caplog.text and "nl-wrong-key-42" not in caplog.text + str(err.value)


@pytest.mark.parametrize("args,option", [
    ({"interval": -1}, "interval"),
    ({"status_code": "6xx"}, "status_code"),
    ({"validate_certs": "perhaps"}, "validate_certs"),
    ({"colour": "blue"}, "colour"),
    ({"since": "last tuesday"}, "since"),
])
def test_a_bad_argument_stops_it_before_any_request(emulator, args, option):
    with pytest.raises(InvalidOption) as err:
        run(lambda: PLUGIN["main"](asyncio.Queue(), args_for(emulator, **args)))
    assert err.value.option == option
    assert emulator.stats()["requests"] == 0


def test_it_reads_its_arguments_with_the_schema_and_the_environment(monkeypatch):
    """The source parses nothing itself: the schema's function reads the arguments and the
    NIRVANA_LABS_* environment (tests/unit/plugins/module_utils/test_options.py covers it)."""
    assert PLUGIN["event_source_arguments"] is event_source_arguments
    monkeypatch.delenv("NIRVANA_LABS_API_KEY", raising=False)
    with pytest.raises(InvalidOption) as err:
        run(lambda: PLUGIN["main"](asyncio.Queue(), {}))
    assert str(err.value) == "api_key: is required; set it or NIRVANA_LABS_API_KEY"


@pytest.mark.parametrize("name,must,value", [
    (name, must, value) for name, must in [
        ("timeout", "must be more than 0 and at most 3600 seconds"),
        ("max_body_bytes", "must be a whole number of at least 1024"),
        ("interval", "must be from 0.1 to 86400 seconds"),
        ("settle", "must be more than 0 and at most 86400 seconds"),
    ] for value in (0, -1)] + [("max_retries", "must be a whole number from 0 to 10", -1)])
def test_zero_and_negative_numbers_stop_it_with_a_message(name, must, value):
    args = {"api_key": "k", "base_url": "http://127.0.0.1:9", name: value}
    with pytest.raises(InvalidOption) as err:
        run(lambda: PLUGIN["main"](asyncio.Queue(), args))
    assert str(err.value) == "%s: %s" % (name, must)


def test_a_zero_from_the_environment_is_refused_too(monkeypatch):
    monkeypatch.setenv("NIRVANA_LABS_API_KEY", "k")
    monkeypatch.setenv("NIRVANA_LABS_TIMEOUT", "0")
    with pytest.raises(InvalidOption) as err:
        run(lambda: PLUGIN["main"](asyncio.Queue(), {}))
    assert str(err.value) == "timeout: must be more than 0 and at most 3600 seconds"


def test_documentation_lists_exactly_the_options_it_takes():
    documented = yaml.safe_load(PLUGIN["DOCUMENTATION"])["options"]
    assert documented == doc_options(*EVENT_SOURCE_GROUPS)
    assert set(documented) == set(FILTER_NAMES) - {"since", "until"} | set(CONNECTION_NAMES) | {
        "since", "interval", "settle", "ordered", "state_file", "feedback", "feedback_timeout"} | {
            "state_dsn", "state_key"}
    assert yaml.safe_load(PLUGIN["EXAMPLES"])[0]["sources"][0]["nirvana_labs.audit.audit_log"]


def run_as_rulebook_does(path, cwd):
    """runpy in a fresh interpreter, no collection finder, no PYTHONPATH."""
    env = dict((k, v) for k, v in os.environ.items() if k != "PYTHONPATH")
    code = ("import runpy, sys; g = runpy.run_path(sys.argv[1]); "
            "print(g['main'].__module__, g['AuditLogPoller'].__module__)")
    return subprocess.run([sys.executable, "-c", code, str(path)], cwd=str(cwd), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)


def test_it_imports_the_collection_without_a_loader_or_pythonpath(tmp_path):
    """As ansible-rulebook loads it, from an installed collection's layout."""
    collection = tmp_path / "ansible_collections" / "nirvana_labs" / "audit"
    for part in ("plugins/module_utils", "extensions/eda/plugins/event_source"):
        shutil.copytree(os.path.join(ROOT, part), str(collection / part))
    out = run_as_rulebook_does(collection / "extensions/eda/plugins/event_source/audit_log.py",
                               tmp_path)
    assert out.returncode == 0, out.stderr
    assert "ansible_collections.nirvana_labs.audit.plugins.module_utils.poller" in out.stdout


def test_outside_a_collection_it_fails_with_a_clear_import_error(tmp_path):
    loose = tmp_path / "event_source" / "audit_log.py"
    loose.parent.mkdir()
    shutil.copy(SOURCE, str(loose))
    out = run_as_rulebook_does(loose, tmp_path)
    assert out.returncode != 0
    assert "ImportError: nirvana_labs.audit.audit_log: %s is not inside an installed" % loose \
        in out.stderr
    assert "no ansible_collections folder above it" in out.stderr


def test_a_stop_signal_during_a_hand_over_is_raised_right_after_it():
    """ansible-rulebook turns SIGTERM into KeyboardInterrupt; it must not fall between handing
    an event over and recording it."""
    order = []

    def handler(signum, frame):
        order.append("signal")
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with PLUGIN["_signals_held"]():
            os.kill(os.getpid(), signal.SIGTERM)
            order.append("recorded")
        assert order == ["recorded", "signal"]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
