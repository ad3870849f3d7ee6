# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup's cache: only complete reads, keyed by everything that decides the answer;
owner-only files without the key in a private per-user location; one filler among concurrent
processes; finished runs removed; a cache that fails or is not safe never fails the lookup."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import multiprocessing
import os
import resource
import shutil
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.plugin_utils import lookup_cache

KEY = "nl-cache-test-key-0123456789"
OTHER_UID = 65534  # "nobody": the other user of a shared temporary directory
MATERIAL = {"query": "q"}


def complete(*ids):
    return {"entries": [{"id": i} for i in ids], "report": {"complete": True}}


class Api(object):
    """A read for ``read_through``: counts the reads, returns ``result``."""

    def __init__(self, result):
        self.result = result
        self.reads = 0

    def __call__(self):
        self.reads += 1
        return self.result


def lookup(root, api, material=None, **kwargs):
    """One evaluation through the cache: (result, warnings)."""
    material = MATERIAL if material is None else material
    warnings = []
    result = lookup_cache.read_through(KEY, material, api, warnings.append, root=str(root),
                                       run_id=os.getpid(), **kwargs)
    return result, warnings


def run_directory(root):
    return lookup_cache.LookupCache(root=str(root), run_id=os.getpid()).directory


def user_directory(root):
    return lookup_cache.LookupCache(root=str(root), run_id=os.getpid()).user_directory


def kept_files(root):
    directory = run_directory(root)
    return sorted(name for name in os.listdir(directory) if not name.endswith(".lock"))


def test_the_digest_depends_on_the_key_and_on_what_was_asked():
    material = {"base_url": "https://a", "window": {"since": "x", "until": "y"}, "query": "f"}
    digest = lookup_cache.cache_key(KEY, material)
    assert digest != lookup_cache.cache_key(KEY + "2", material)
    assert digest != lookup_cache.cache_key(KEY, dict(material, base_url="https://b"))
    assert KEY not in digest and len(digest) == 64


BASE_CONNECTION = {"api_key": KEY, "base_url": "https://api.example", "validate_certs": True,
                   "ca_path": None, "timeout": 30, "max_retries": 3, "use_proxy": True,
                   "max_body_bytes": None}
BASE_SETTINGS = {"page_size": 100, "max_results": None, "parallelism": 1, "max_pages": None,
                 "scan_timeout": None}
BASE_QUERY = {"since": "2026-10-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}

# One change of each input that can change what a read returns.
ANSWER_CHANGING = [
    ("connection", {"base_url": "https://other.example"}),
    ("connection", {"validate_certs": False}),
    ("connection", {"ca_path": "/etc/ssl/private-ca.pem"}),
    ("query", {"since": "2026-09-01T00:00:00Z"}),
    ("query", {"until": "2026-10-15T00:00:00Z"}),
    ("query", {"action": "vm.*"}),
    ("query", {"actor_type": "user"}),
    ("query", {"status_code": "5xx"}),
    ("query", {"order": "oldest_first"}),
    ("fields", (("id",),)),
    ("settings", {"page_size": 20}),
    ("settings", {"max_results": 50}),
    ("settings", {"max_pages": 3}),
    ("settings", {"scan_timeout": 1.5}),
]
# Inputs that only decide how the entries are read, or whether a read fails (not kept).
ANSWER_KEEPING = [
    ("connection", {"timeout": 5}),
    ("connection", {"max_retries": 0}),
    ("connection", {"use_proxy": False}),
    ("connection", {"max_body_bytes": 1024}),
    ("settings", {"parallelism": 8}),
]


def material_key(change=None):
    parts = {"connection": dict(BASE_CONNECTION), "query": dict(BASE_QUERY), "fields": None,
             "settings": dict(BASE_SETTINGS)}
    if change is not None:
        part, value = change
        parts[part] = dict(parts[part], **value) if isinstance(value, dict) else value
    material = lookup_cache.cache_material(parts["connection"], Query.from_options(parts["query"]),
                                           parts["fields"], parts["settings"])
    return lookup_cache.cache_key(KEY, material)


def test_the_key_differs_for_each_input_that_changes_the_answer():
    keys = [material_key()] + [material_key(change) for change in ANSWER_CHANGING]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("change", ANSWER_KEEPING, ids=lambda c: sorted(c[1])[0])
def test_how_the_entries_are_read_does_not_change_the_key(change):
    assert material_key(change) == material_key()


def test_files_are_owner_only_and_hold_no_key(tmp_path):
    cache = lookup_cache.LookupCache.open(root=str(tmp_path / "tmp"), run_id=os.getpid())
    key = lookup_cache.cache_key(KEY, {"q": 1})
    with cache.slot(key) as slot:
        assert slot.value is None
        assert slot.store(complete("a")) is True
    with cache.slot(key) as slot:
        assert slot.value == complete("a")
    for directory in (cache.user_directory, cache.directory):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for name in os.listdir(cache.directory):
        path = os.path.join(cache.directory, name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, "rb") as handle:
            assert KEY.encode() not in handle.read()
    assert (cache.hits, cache.fills) == (1, 1)


def test_a_complete_read_is_served_to_the_next_evaluation(tmp_path):
    api = Api(complete("a", "b"))
    assert lookup(tmp_path, api) == (complete("a", "b"), [])
    assert lookup(tmp_path, api) == (complete("a", "b"), [])
    assert api.reads == 1


@pytest.mark.parametrize("report", [
    {"complete": False, "stopped_by": "max_pages",
     "incomplete_reason": "stopped after max_pages=3 pages; the server has more"},
    {"complete": False, "stopped_by": "deadline",
     "incomplete_reason": "stopped at the deadline of 1.5 s, after 3 pages"},
    {"complete": None, "incomplete_reason": "the server sent no total_count"},
    {},
], ids=["max_pages", "scan_timeout", "unknown", "no-flag"])
def test_an_incomplete_read_is_never_kept(tmp_path, report):
    api = Api({"entries": [{"id": "a"}], "report": report})
    for dummy in range(3):
        assert lookup(tmp_path, api) == (api.result, [])
    assert api.reads == 3
    assert kept_files(tmp_path) == []


def test_an_expired_entry_is_read_afresh(tmp_path):
    now = [1000.0]
    cache = lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid(),
                                          clock=lambda: now[0])
    with cache.slot("k") as slot:
        slot.store(complete())
    os.utime(os.path.join(cache.directory, "k.json"), (now[0], now[0]))
    now[0] += lookup_cache.CACHE_TTL + 1
    with cache.slot("k") as slot:
        assert slot.value is None


def test_an_oversized_entry_is_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(lookup_cache, "MAX_ENTRY_BYTES", 10)
    cache = lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid())
    with cache.slot("k") as slot:
        assert slot.store(complete("a" * 20)) is False
    with cache.slot("k") as slot:
        assert slot.value is None


def test_directories_of_finished_runs_are_removed(tmp_path):
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    os.makedirs(user_directory(tmp_path), 0o700)
    stale = os.path.join(user_directory(tmp_path), "run-%d" % done.pid)
    legacy = tmp_path / ("nirvana_labs_audit_lookup_%d" % done.pid)  # 0.x layout
    for directory in (stale, str(legacy)):
        os.mkdir(directory, 0o700)
        with open(os.path.join(directory, "x.json"), "w") as handle:
            handle.write("{}")
    lookup_cache.LookupCache.open(root=str(tmp_path), run_id=os.getpid())
    assert not os.path.exists(stale) and not legacy.exists()


# A write that fails: the entries already read are the answer, with a warning.

def _no_space(fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_returns_the_entries_read_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", _no_space)  # the data is written, its flush fails
    api = Api(complete("a", "b"))
    result, warnings = lookup(tmp_path, api)
    assert result == complete("a", "b")
    assert warnings == ["the entries were read but could not be kept in the lookup cache (No"
                        " space left on device); they are returned as read, and the next"
                        " evaluation reads them again"]
    assert kept_files(tmp_path) == []  # no temporary file left behind
    monkeypatch.undo()
    assert lookup(tmp_path, api) == (complete("a", "b"), [])
    assert api.reads == 2


def _store_under_a_file_size_limit(root, outputs):
    # In a child: the limit must not reach pytest's own output files.
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    api = Api(complete(*["entry-%03d" % n for n in range(50)]))
    try:
        result, warnings = lookup(root, api)
        outputs.put((result == api.result, warnings, kept_files(root)))
    except BaseException as err:  # pylint: disable=broad-except
        outputs.put(("raised", repr(err), None))


def test_a_file_size_limit_returns_the_entries_read_with_a_warning(tmp_path):
    # Python ignores SIGXFSZ: past RLIMIT_FSIZE a write fails with EFBIG.
    context = multiprocessing.get_context("fork")
    outputs = context.Queue()
    child = context.Process(target=_store_under_a_file_size_limit, args=(str(tmp_path), outputs))
    child.start()
    same, warnings, left = outputs.get(timeout=30)
    child.join(30)
    assert same is True, warnings
    assert warnings == ["the entries were read but could not be kept in the lookup cache (File"
                        " too large); they are returned as read, and the next evaluation reads"
                        " them again"]
    assert left == []


def test_a_directory_pruned_during_the_read_returns_the_entries_with_a_warning(tmp_path):
    answer = complete("a")

    def read_while_another_process_prunes():
        shutil.rmtree(run_directory(tmp_path))
        return answer

    result, warnings = lookup(tmp_path, read_while_another_process_prunes)
    assert result == answer
    assert len(warnings) == 1
    assert warnings[0].startswith("the entries were read but could not be kept in the lookup"
                                  " cache (No such file or directory: ")
    api = Api(answer)  # the next evaluation makes the directory again and keeps the read
    assert lookup(tmp_path, api) == (answer, []) and lookup(tmp_path, api) == (answer, [])
    assert api.reads == 1


def test_a_failed_read_propagates_and_frees_the_entry(tmp_path):
    def failing():
        raise RuntimeError("the API failed")

    with pytest.raises(RuntimeError, match="the API failed"):
        lookup(tmp_path, failing)
    api = Api(complete("a"))
    assert lookup(tmp_path, api) == (complete("a"), [])


# A read of the cache that fails: the API is asked, and its complete answer replaces it.

def _slot_path(root):
    return os.path.join(run_directory(root), lookup_cache.cache_key(KEY, MATERIAL) + ".json")


@pytest.mark.parametrize("content", [
    b'{"entries": [{"id": "a"}], "rep',
    b"\xff\xfe not json",
    b'{"entries": [{"id": "a"}], "report": {"complete": false}}',
    b'{"entries": {"id": "a"}, "report": {"complete": true}}',
    b"[]",
], ids=["truncated", "binary", "incomplete", "wrong-shape", "not-an-object"])
def test_a_cache_file_that_is_not_a_complete_read_is_read_afresh(tmp_path, content):
    lookup(tmp_path, Api(complete("x")))
    with open(_slot_path(tmp_path), "wb") as handle:
        handle.write(content)
    api = Api(complete("a", "b"))
    assert lookup(tmp_path, api) == (complete("a", "b"), [])
    assert lookup(tmp_path, api) == (complete("a", "b"), [])
    assert api.reads == 1


def _plant(path, answer=None):
    answer = complete("planted") if answer is None else answer
    with open(path, "w") as handle:
        handle.write('{"entries": [{"id": "%s"}], "report": {"complete": true}}'
                     % answer["entries"][0]["id"])


def test_a_cache_file_of_another_user_is_not_served(tmp_path):
    lookup(tmp_path, Api({"entries": [], "report": {}}))  # makes the directories
    _plant(_slot_path(tmp_path))
    os.chown(_slot_path(tmp_path), OTHER_UID, OTHER_UID)
    api = Api(complete("a"))
    assert lookup(tmp_path, api) == (complete("a"), [])
    assert os.stat(_slot_path(tmp_path)).st_uid == os.geteuid()  # replaced by ours
    assert lookup(tmp_path, api) == (complete("a"), []) and api.reads == 1


def test_a_cache_file_that_is_a_link_is_not_followed(tmp_path):
    lookup(tmp_path, Api({"entries": [], "report": {}}))
    target = tmp_path / "elsewhere.json"
    _plant(str(target))
    os.chmod(str(target), 0o600)
    os.symlink(str(target), _slot_path(tmp_path))
    api = Api(complete("a"))
    assert lookup(tmp_path, api) == (complete("a"), [])
    assert not os.path.islink(_slot_path(tmp_path))
    assert "planted" in target.read_text()  # the link's target was not written through


# A location planted by another user, or open to others: no cache, a warning, never a failure.

def _refused(root, reason):
    api = Api(complete("a"))
    outcomes = [lookup(root, api) for dummy in range(2)]
    assert api.reads == 2  # read from the API each time: nothing planted is served
    for result, warnings in outcomes:
        assert result == complete("a")
        assert len(warnings) == 1, warnings
        assert warnings[0].startswith("the lookup cache is not used (")
        assert warnings[0].endswith("); the entries are read from the API")
        assert reason in warnings[0]


def _planted_user_directory(root):
    planted = user_directory(root)
    os.makedirs(os.path.join(planted, "run-%d" % os.getpid()))
    _plant(os.path.join(planted, "run-%d" % os.getpid(),
                        lookup_cache.cache_key(KEY, MATERIAL) + ".json"))
    return planted


def test_a_user_directory_planted_by_another_user_is_refused(tmp_path):
    planted = _planted_user_directory(tmp_path)
    for dirpath, dirnames, filenames in os.walk(planted):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            os.chown(name, OTHER_UID, OTHER_UID)
    os.chmod(planted, 0o700)
    _refused(tmp_path, "belongs to another user (uid %d)" % OTHER_UID)


def test_a_user_directory_that_is_a_link_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chmod(str(theirs), 0o700)  # even a private directory of ours: a link is not followed
    os.symlink(str(theirs), user_directory(tmp_path))
    _refused(tmp_path, "is not a directory (a link or a file is there)")
    assert os.listdir(str(theirs)) == []


def test_a_user_directory_open_to_others_is_refused(tmp_path):
    planted = _planted_user_directory(tmp_path)
    os.chmod(planted, 0o777)
    _refused(tmp_path, "is open to other users (mode 0777)")


def test_a_run_directory_planted_by_another_user_is_refused(tmp_path):
    os.makedirs(user_directory(tmp_path), 0o700)
    run = run_directory(tmp_path)
    os.mkdir(run, 0o700)
    os.chown(run, OTHER_UID, OTHER_UID)
    _refused(tmp_path, "belongs to another user (uid %d)" % OTHER_UID)


def test_a_lock_file_that_is_a_link_is_refused(tmp_path):
    lookup(tmp_path, Api({"entries": [], "report": {}}))
    lock = _slot_path(tmp_path)[:-len(".json")] + ".lock"
    os.unlink(lock)
    target = tmp_path / "victim"
    target.write_text("keep")
    os.symlink(str(target), lock)
    _refused(tmp_path, "is a link")
    assert target.read_text() == "keep"


def test_a_lock_file_of_another_user_is_refused(tmp_path):
    lookup(tmp_path, Api({"entries": [], "report": {}}))
    lock = _slot_path(tmp_path)[:-len(".json")] + ".lock"
    os.chown(lock, OTHER_UID, OTHER_UID)
    _refused(tmp_path, "belongs to another user (uid %d)" % OTHER_UID)


def test_a_temporary_directory_of_another_user_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(str(shared), OTHER_UID, OTHER_UID)
    _refused(shared, "the temporary directory %s belongs to another user" % shared)


def test_a_temporary_directory_others_may_rename_in_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)  # no sticky bit: anyone may rename our directory away
    _refused(shared, "has no sticky bit")


def test_a_shared_sticky_temporary_directory_is_used_privately(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o1777)  # like /tmp
    api = Api(complete("a"))
    assert lookup(shared, api) == (complete("a"), []) == lookup(shared, api)
    assert api.reads == 1
    assert stat.S_IMODE(os.lstat(user_directory(shared)).st_mode) == 0o700


# Concurrency and runs.

def _fill_or_read(root, run_id, number, outputs):
    cache = lookup_cache.LookupCache.open(root=root, run_id=run_id)
    with cache.slot("shared") as slot:
        if slot.value is None:
            time.sleep(0.3)  # a scan in progress: the others must wait, not scan too
            slot.store(complete(str(number)))
            outputs.put("filled %d" % number)
        else:
            outputs.put("read %s" % slot.value["entries"][0]["id"])


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
