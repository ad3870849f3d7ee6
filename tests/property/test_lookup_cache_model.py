# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup cache against a model of what the API says: random sequences of lookups (random
queries that differ from each other in one or two options, random completeness of each read,
random failures to keep a read, directories pruned and files corrupted meanwhile, concurrent
fills) never get an answer that differs from a fresh complete read, nor an incomplete one.

The model's answer depends on every input that decides it (so a key that forgets one serves
another query's answer) and on nothing else (so a key that holds one needlessly misses an
answer the model says was kept).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import shutil
import tempfile
import threading
from unittest import mock

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import Query
from ansible_collections.nirvana_labs.audit.plugins.plugin_utils import lookup_cache

API_KEY = "nl-model-key-6bc1bee22e409f96"

# Two values of each option; the first group decides the answer, the second only how it is read.
DECIDING = {
    "base_url": ("https://api.example", "https://other.example"),
    "validate_certs": (True, False),
    "ca_path": (None, "/etc/ssl/ca.pem"),
    "since": ("2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"),
    "until": ("2026-11-01T00:00:00Z", "2026-10-20T00:00:00Z"),
    "action": (None, "vm.*"),
    "status_code": (None, "5xx"),
    "order": ("newest_first", "oldest_first"),
    "fields": (None, (("id",),)),
    "page_size": (100, 20),
    "max_results": (None, 5),
    "max_pages": (None, 3),
    "scan_timeout": (None, 30.0),
}
HOW = {
    "parallelism": (1, 4),
    "timeout": (30, 5),
    "max_retries": (3, 0),
}
NAMES = sorted(DECIDING) + sorted(HOW)
BASES = ({}, {"action": 1, "order": 1, "page_size": 1})  # option -> index of its value

OUTCOMES = ("complete", "stopped", "unknown", "fails")
FAULTS = (None, None, "no-space", "too-large", "pruned", "corrupt")


class ApiFailed(Exception):
    pass


def options_of(choice):
    """The lookup's options for a choice (a tuple of value indexes, one per name)."""
    table = dict(DECIDING, **HOW)
    return dict((name, table[name][index]) for name, index in zip(NAMES, choice))


def material_of(options):
    query = Query.from_options(dict((name, options[name]) for name in
                                    ("since", "until", "action", "status_code", "order")))
    return lookup_cache.cache_material(options, query, options["fields"], options)


def model_id(options):
    """The question the model answers: the deciding options, nothing else."""
    return json.dumps([[name, options[name]] for name in sorted(DECIDING)])


def model_answer(options):
    """What the API says to a complete read: a function of the deciding options only."""
    digest = hashlib.sha256(model_id(options).encode("utf-8")).hexdigest()
    count = int(digest[:2], 16) % 4
    return {"entries": [{"id": "%s-%d" % (digest[:10], n)} for n in range(count)],
            "report": {"complete": True, "total_count": count}}


def fresh_read(options, outcome):
    whole = model_answer(options)
    if outcome == "fails":
        raise ApiFailed("the API failed")
    if outcome == "complete":
        return whole
    part = whole["entries"][:max(0, len(whole["entries"]) - 1)]
    flag = False if outcome == "stopped" else None
    return {"entries": part, "report": {"complete": flag,
                                        "incomplete_reason": "stopped after max_pages"}}


choices = st.tuples(st.sampled_from(BASES), st.lists(st.sampled_from(NAMES), max_size=2)).map(
    lambda base_flips: tuple((base_flips[0].get(name, 0) + base_flips[1].count(name)) % 2
                             for name in NAMES))


class LookupCacheModel(RuleBasedStateMachine):

    def __init__(self):
        super(LookupCacheModel, self).__init__()
        self.root = tempfile.mkdtemp(prefix="lookup-cache-model-")
        self.run_directory = lookup_cache.LookupCache(root=self.root,
                                                      run_id=os.getpid()).directory
        self.kept = set()       # model ids whose complete answer the cache holds now
        self.corrupt = set()    # cache keys whose file was damaged and not replaced since
        self.options = {}       # cache key -> options, for every key asked

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def key(self, options):
        key = lookup_cache.cache_key(API_KEY, material_of(options))
        self.options[key] = options
        return key

    def lookup(self, options, outcome, warnings, read=None):
        """One evaluation: (result or the raised ApiFailed, whether the API was read)."""
        reads = []

        def api():
            reads.append(1)
            if read is not None:
                read()
            return fresh_read(options, outcome)

        try:
            result = lookup_cache.read_through(API_KEY, material_of(options), api,
                                               warnings.append, root=self.root,
                                               run_id=os.getpid())
        except ApiFailed as err:
            result = err
        return result, bool(reads)

    @staticmethod
    def check_answer(options, outcome, result, was_read):
        if not was_read:  # served by the cache: the complete answer, exactly
            assert result == model_answer(options)
            assert result["report"]["complete"] is True
        elif outcome == "fails":
            assert isinstance(result, ApiFailed)
        else:  # a fresh read is returned as read
            assert result == fresh_read(options, outcome)

    @rule(choice=choices, outcome=st.sampled_from(OUTCOMES), fault=st.sampled_from(FAULTS))
    def one_lookup(self, choice, outcome, fault):
        options = options_of(choice)
        key, asked = self.key(options), model_id(options)
        warnings = []
        patches, read = [], None
        if fault == "no-space":
            patches.append(mock.patch.object(os, "fsync", side_effect=OSError(
                errno.ENOSPC, os.strerror(errno.ENOSPC))))
        else:  # fsync only costs time here: durability is not what this model checks
            patches.append(mock.patch.object(os, "fsync"))
        if fault == "too-large":
            patches.append(mock.patch.object(lookup_cache, "atomic_write", side_effect=OSError(
                errno.EFBIG, os.strerror(errno.EFBIG))))
        elif fault == "pruned":
            def read():
                shutil.rmtree(self.run_directory)
        elif fault == "corrupt":
            self.damage(key, asked)
        for patch in patches:
            patch.start()
        try:
            result, was_read = self.lookup(options, outcome, warnings, read)
        finally:
            for patch in patches:
                patch.stop()
        self.check_answer(options, outcome, result, was_read)
        assert was_read or asked in self.kept, "served an answer the model never kept"
        assert not was_read or asked not in self.kept, "read again an answer that was kept"
        failed_keep = was_read and outcome == "complete" and fault in ("no-space", "too-large",
                                                                       "pruned")
        if failed_keep:
            assert len(warnings) == 1
            assert warnings[0].startswith("the entries were read but could not be kept")
        else:
            assert warnings == []
        if fault == "pruned" and was_read:
            self.kept.clear()
            self.corrupt.clear()
        if was_read and outcome == "complete" and not failed_keep:
            self.kept.add(asked)
            self.corrupt.discard(key)  # the damaged file, if any, is replaced

    def damage(self, key, asked):
        path = os.path.join(self.run_directory, key + ".json")
        if os.path.exists(path):
            with open(path, "r+b") as handle:
                handle.truncate(max(0, os.path.getsize(path) // 2))
            self.kept.discard(asked)
            self.corrupt.add(key)

    @rule()
    def another_run_prunes_the_directory(self):
        shutil.rmtree(self.run_directory, ignore_errors=True)
        self.kept.clear()
        self.corrupt.clear()

    @rule(asks=st.lists(st.tuples(choices, st.sampled_from(OUTCOMES)), min_size=2, max_size=4))
    def concurrent_fills(self, asks):
        # Forked workers in one run asking at once: threads here, each with its own lock fd.
        outcomes = [None] * len(asks)

        def worker(number, options, outcome):
            warnings = []
            outcomes[number] = self.lookup(options, outcome, warnings) + (warnings,)

        threads, kept_before = [], set(self.kept)
        for number, (choice, outcome) in enumerate(asks):
            options = options_of(choice)
            self.key(options)
            threads.append(threading.Thread(target=worker, args=(number, options, outcome)))
        with mock.patch.object(os, "fsync"):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        filled = set(model_id(options_of(choice)) for (choice, outcome), (dummy, was_read, dummy)
                     in zip(asks, outcomes) if was_read and outcome == "complete")
        for (choice, outcome), (result, was_read, warnings) in zip(asks, outcomes):
            options = options_of(choice)
            self.check_answer(options, outcome, result, was_read)
            assert warnings == []
            if model_id(options) in kept_before:
                assert not was_read, "read again an answer that was kept"
            if not was_read:
                assert model_id(options) in kept_before | filled, "served an answer never kept"
            if was_read and outcome == "complete":
                self.kept.add(model_id(options))
                self.corrupt.discard(self.key(options))

    @invariant()
    def the_directory_holds_only_complete_answers(self):
        if not os.path.isdir(self.run_directory):
            return
        names = os.listdir(self.run_directory)
        assert not [name for name in names if name.endswith(".tmp")], names
        for name in names:
            if not name.endswith(".json"):
                continue
            key = name[:-len(".json")]
            if key in self.corrupt:
                continue
            with open(os.path.join(self.run_directory, name), "rb") as handle:
                assert json.loads(handle.read().decode("utf-8")) == model_answer(
                    self.options[key])


LookupCacheModel.TestCase.settings = settings(settings(), stateful_step_count=25)
TestLookupCacheModel = LookupCacheModel.TestCase
