# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export writer in a forked child: its errors reach the parent, an abort stops it and
leaves no file, a packed block reaches it undecoded, and nothing of it outlives the export.
(That it writes the same bytes is a property: tests/property/test_writer_process_bytes.py.)"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import batches
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import writer
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)

pytestmark = pytest.mark.skipif(not writer.CAN_FORK, reason="the writer forks on Linux only")


def _child_gone(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_an_error_in_the_child_is_raised_by_finish_and_leaves_no_file(tmp_path):
    bundle = writer.BundleWriter(str(tmp_path), formats="both", separate_process=True)
    for entry in make_entries(10):
        bundle.add(entry)
    pid = bundle._child.pid  # pylint: disable=protected-access
    bad = dict(make_entries(1, seed=2)[0], extra={1, 2})  # not JSON: the child's encoder fails
    bundle.add_batch([bad])
    with pytest.raises(TypeError):
        bundle.finish()
    bundle.abort()
    assert os.listdir(str(tmp_path)) == []
    assert _child_gone(pid)


def test_an_abort_stops_the_child_and_removes_its_files(tmp_path):
    bundle = writer.BundleWriter(str(tmp_path), formats="both", run_size=7,
                                 separate_process=True)
    assert bundle.in_child
    for entry in reversed(make_entries(500)):  # out of order: spill runs in the child too
        bundle.add(entry)
    pid = bundle._child.pid  # pylint: disable=protected-access
    bundle.abort()
    assert os.listdir(str(tmp_path)) == []
    assert _child_gone(pid)


def test_without_separate_process_the_writer_stays_here(tmp_path):
    bundle = writer.BundleWriter(str(tmp_path))
    for entry in make_entries(50):
        bundle.add(entry)
    assert not bundle.in_child
    parts = bundle.finish()
    assert parts[writer.JSONL_NAME].lines == 50
    bundle.abort()


def test_a_packed_block_reaches_the_child_undecoded(tmp_path, monkeypatch):
    """The reading process hands a spilled block over as bytes: decoding it here would cost
    the read the CPU the child is there to take."""
    entries = make_entries(30)
    bundle = writer.BundleWriter(str(tmp_path), separate_process=True)

    def refuse(data):
        raise AssertionError("the parent decoded a packed block")

    # After the fork: only this process's functions refuse.
    monkeypatch.setattr(batches, "unpack", refuse)
    monkeypatch.setattr(writer, "entries_of", refuse)
    bundle.add_batch(batches.Packed(batches.pack(entries[:20]), 20))
    bundle.add_batch(entries[20:])
    parts = bundle.finish()
    assert parts[writer.JSONL_NAME].lines == 30
    assert bundle.received == 30 and bundle.written == 30
    bundle.abort()


def test_a_failed_fork_keeps_the_writer_here(tmp_path, monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    open_before = len(os.listdir("/proc/self/fd"))
    bundle = writer.BundleWriter(str(tmp_path), separate_process=True)
    assert not bundle.in_child
    assert len(os.listdir("/proc/self/fd")) == open_before + 1  # the part file, no pipe
    bundle.add_batch(batches.Packed(batches.pack(make_entries(5)), 5))
    assert bundle.finish()[writer.JSONL_NAME].lines == 5
    bundle.abort()


def test_parts_written_by_the_child_carry_the_exports_pid(tmp_path):
    bundle = writer.BundleWriter(str(tmp_path), formats="both", separate_process=True)
    for entry in make_entries(20):
        bundle.add(entry)
    parts = bundle.finish()
    for part in parts.values():
        assert ".%d." % os.getpid() in os.path.basename(part.path)
    assert bundle.written == 20 and bundle.received == 20
    bundle.abort()
