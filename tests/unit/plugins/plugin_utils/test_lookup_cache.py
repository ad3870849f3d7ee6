# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup's cache: owner-only files without the key, one filler
among concurrent processes, finished runs removed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import multiprocessing
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.plugin_utils import lookup_cache

KEY = "nl-cache-test-key-0123456789"
def test_the_digest_depends_on_the_key_and_on_what_was_asked():
    material = {"base_url": "https://a", "window": {"since": "x", "until": "y"}, "query": "f"}
    digest = lookup_cache.cache_key(KEY, material)
    assert digest != lookup_cache.cache_key(KEY + "2", material)
    assert digest != lookup_cache.cache_key(KEY, dict(material, base_url="https://b"))
    assert KEY not in digest and len(digest) == 64


def test_files_are_owner_only_and_hold_no_key(tmp_path):
    cache = lookup_cache.LookupCache.open(root=str(tmp_path / "tmp"), run_id=os.getpid())
    key = lookup_cache.cache_key(KEY, {"q": 1})
    with cache.slot(key) as slot:
        assert slot.value is None
        slot.store({"entries": [{"id": "a"}], "report": {}})
    with cache.slot(key) as slot:
        assert slot.value == {"entries": [{"id": "a"}], "report": {}}
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    for name in os.listdir(cache.directory):
        path = os.path.join(cache.directory, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, "rb") as handle:
            assert KEY.encode() not in handle.read()
    assert (cache.hits, cache.fills) == (1, 1)


def test_expired_entries_are_read_afresh(tmp_path):
    now = [1000.0]
    cache = lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid(),
                                          clock=lambda: now[0])
    with cache.slot("k") as slot:
        slot.store({"entries": []})
    os.utime(os.path.join(cache.directory, "k.json"), (now[0], now[0]))
    now[0] += lookup_cache.CACHE_TTL + 1
    with cache.slot("k") as slot:
        assert slot.value is None


def test_an_oversized_entry_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(lookup_cache, "MAX_ENTRY_BYTES", 10)
    cache = lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid())
    with cache.slot("k") as slot:
        assert slot.store({"entries": ["a" * 20]}) is False
    with cache.slot("k") as slot:
        assert slot.value is None


def test_directories_of_finished_runs_are_removed(tmp_path):
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    stale = tmp_path / ("nirvana_labs_audit_lookup_%d" % done.pid)
    stale.mkdir()
    (stale / "x.json").write_text("{}")
    lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid())
    assert not stale.exists()


def _fill_or_read(root, run_id, number, outputs):
    cache = lookup_cache.LookupCache.open(root=root, run_id=run_id)
    with cache.slot("shared") as slot:
        if slot.value is None:
            time.sleep(0.3)  # a scan in progress: the others must wait, not scan too
            slot.store({"by": number})
            outputs.put("filled %d" % number)
        else:
            outputs.put("read %d" % slot.value["by"])


def test_one_process_fills_while_the_others_wait(tmp_path):
    # Forked like Ansible's workers, all asking at the same instant.
    context = multiprocessing.get_context("fork")
    outputs = context.Queue()
    workers = [context.Process(target=_fill_or_read,
                               args=(str(tmp_path), os.getpid(), n, outputs)) for n in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    seen = sorted(outputs.get(timeout=5) for dummy in workers)
    filled = [line for line in seen if line.startswith("filled")]
    assert len(filled) == 1
    filler = filled[0].split()[1]
    assert [line for line in seen if line.startswith("read")] == ["read " + filler] * 5


def _report_controller(outputs):
    outputs.put(lookup_cache.controller_pid())


def test_a_forked_worker_names_its_controller_as_the_run():
    # Ansible's workers are multiprocessing children that call setsid: the process group
    # would differ per worker, the parent does not.
    context = multiprocessing.get_context("fork")
    outputs = context.Queue()
    worker = context.Process(target=_report_controller, args=(outputs,))
    worker.start()
    worker.join(30)
    assert outputs.get(timeout=5) == os.getpid() == lookup_cache.controller_pid()
