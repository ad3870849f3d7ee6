# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source's main() with ``state_dsn`` in process: a standby waits without blocking
the event loop, stops at once when cancelled (what a SIGTERM turns into), and takes over when
the leader goes; a wrong password stops it at start with the password nowhere in the log.
The API is a closed loopback port (polls fail as an outage; leadership is what is tested)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import logging
import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
    PostgresStore,
)

import pg_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "audit_log.py")


def load_source():
    namespace = {"__file__": SOURCE, "__name__": "<run_path>"}
    with open(SOURCE) as handle:
        exec(compile(handle.read(), SOURCE, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


def args_for(dsn, key):
    return {"api_key": "test-api-key-x", "base_url": "http://127.0.0.1:9", "max_retries": 0,
            "state_dsn": dsn, "state_key": key, "interval": 0.2}


async def until_logged(caplog, text, task):
    for dummy in range(300):
        if any(text in r.getMessage() for r in caplog.records):
            return
        assert not task.done(), task.exception()
        await asyncio.sleep(0.05)
    raise AssertionError("never logged %r" % text)


def test_a_standby_waits_stops_at_once_and_takes_over(pg, fresh_key, caplog):
    caplog.set_level(logging.INFO, logger="nirvana_labs.audit.audit_log")
    main = load_source()["main"]
    leader = PostgresStore(pg.dsn(), fresh_key).open()
    assert leader.lead() is False

    async def scenario():
        standby = asyncio.ensure_future(main(asyncio.Queue(), args_for(pg.dsn(), fresh_key)))
        await until_logged(caplog, "standby for key %s" % fresh_key, standby)
        ticks = 0
        for dummy in range(10):  # the loop is free while it waits
            await asyncio.sleep(0.01)
            ticks += 1
        standby.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(standby, 5)
        assert ticks == 10

        caplog.clear()
        second = asyncio.ensure_future(main(asyncio.Queue(), args_for(pg.dsn(), fresh_key)))
        await until_logged(caplog, "standby for key", second)
        leader.close()
        await until_logged(caplog, "took over key %s" % fresh_key, second)
        await until_logged(caplog, "starting from", second)  # the stored checkpoint's start
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(second, 5)
    try:
        asyncio.run(scenario())
    finally:
        leader.close()
    assert "test-api-key-x" not in caplog.text
    assert pg_server.PASSWORD not in caplog.text


def test_a_wrong_password_stops_it_at_start(pg, fresh_key, caplog):
    main = load_source()["main"]
    with pytest.raises(InvalidOption) as caught:
        asyncio.run(main(asyncio.Queue(), args_for(pg.uri(password="Bad-pw-4242"), fresh_key)))
    assert str(caught.value).startswith("state_dsn: cannot connect to the state database")
    assert "Bad-pw-4242" not in caplog.text and "Bad-pw-4242" not in str(caught.value)
    assert "state_dsn: cannot connect" in caplog.text
