# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Streaming entries into a bundle's data files in canonical order.

Entries arrive one at a time from a scan. Lines are written in the canonical order
(``order.sort_key``, in the direction the query asked for), so the same entries always give
the same bytes whatever order the server sent them in.

While the stream is already in that order (what a server that honours ``sort`` sends) lines go
straight to the data files: one pass, constant memory. Because the order is strict, a line
whose key equals the previous one is the same entry again and is dropped, which proves
"each entry once" without remembering ids. The first out-of-order entry switches to a
bounded-memory external sort (sorted runs on disk, then a k-way merge) that gives the same
bytes; duplicates are then adjacent in the merge and dropped there.

``BundleWriter`` can run the writer in a forked child process (writer_process.py), on Linux:
the child writes the same bytes, and the read no longer shares its interpreter lock with the
writer's CPU (canonical JSON, SHA-256, the sort key: about half the read's). Batches reach it
as marshal bytes; a block a parallel read spilled to disk goes over undecoded, so the reading
process neither decodes it nor encodes anything for the writer. The export uses it wherever it
can fork (bench section 8 measures it beside the writer in this process). Plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import heapq
import json
import os
import shutil
import sys
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.canonical import (
    CSV_COLUMNS,
    canonical_line,
    csv_row,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    CSV_NAME,
    FORMATS,
    JSONL_NAME,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import (
    CHUNK,
    HashingFile,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.writer_process import (
    WriterProcess,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.batches import (
    batch_size,
    entries_of,
    packed_bytes,
    unpack,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import remove_quietly
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import (
    NEWEST_FIRST,
    is_descending,
    sort_key,
)

# Entries held in memory per sorted run when the server's order has to be fixed: about
# 0.5 KiB each, so a run costs a few MiB whatever the size of the export.
RUN_SIZE = 10000
# Runs merged at once; more are merged in rounds so open files stay few.
MAX_FAN_IN = 64
# fork() without exec is safe enough only where no system library forbids it (macOS does).
CAN_FORK = sys.platform.startswith("linux") and hasattr(os, "fork")


def _part_path(directory, name, pid):
    """A fresh hidden part file named for ``pid``: the export's process, also when the
    writer carries on in a child (a later run removes parts of dead exports only)."""
    handle, path = tempfile.mkstemp(dir=directory, prefix=".%s.%d." % (name, pid),
                                    suffix=".part")
    os.close(handle)
    return path


class _TextSink(object):
    """What ``csv.writer`` writes to: str in, UTF-8 bytes to a HashingFile."""

    def __init__(self, target):
        self.target = target

    def write(self, text):
        self.target.write(text.encode("utf-8"))


class _CsvOut(object):
    def __init__(self, hashing_file):
        self.file = hashing_file
        # "\n" endings: the file is read by Unix tools as often as by spreadsheets.
        self._writer = csv.writer(_TextSink(hashing_file), lineterminator="\n")
        # With "\n" endings, csv leaves a cell holding a bare "\r" unquoted, which readers
        # take for a line end: such a row is written with every cell quoted.
        self._quoted = csv.writer(_TextSink(hashing_file), lineterminator="\n",
                                  quoting=csv.QUOTE_ALL)
        self._writer.writerow(CSV_COLUMNS)

    def add(self, entry):
        row = csv_row(entry)
        (self._quoted if any("\r" in cell for cell in row) else self._writer).writerow(row)
        self.file.lines += 1


class StreamWriter(object):
    """Streams entries into the data files' part files in canonical order, in this process.

    ``add(entry)`` for each entry, then ``finish()`` returns ``{final name: HashingFile}``
    (finished, fsync'ed, still under their part names), or ``abort()`` on any failure.
    """

    def __init__(self, workdir, order=NEWEST_FIRST, formats="jsonl", run_size=RUN_SIZE,
                 owner_pid=None):
        if formats not in FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(FORMATS))
        self.workdir = workdir
        self.owner_pid = owner_pid or os.getpid()
        self.descending = is_descending(order)
        self.want_jsonl = formats in ("jsonl", "both")
        self.want_csv = formats in ("csv", "both")
        self.run_size = max(2, int(run_size))
        self.received = 0
        self.written = 0
        self.duplicates = 0
        # Same id and created_at but other bytes: kept once (the first), and counted, since
        # that is the server contradicting itself.
        self.conflicts = 0
        self.client_sorted = False
        self._prev_key = None
        self._prev_line = None
        self._files = []
        self._spill_dir = None
        self._runs = []
        self._buffer = []
        # The JSONL part is always written: in the fallback it is the first sorted run.
        self._jsonl = self._open(JSONL_NAME)
        self._csv = _CsvOut(self._open(CSV_NAME)) if self.want_csv else None

    def _open(self, name):
        handle = HashingFile(_part_path(self.workdir, name, self.owner_pid))
        self._files.append(handle)
        return handle

    def _in_order(self, previous, key):
        return key < previous if self.descending else key > previous

    def add(self, entry):
        """Take one entry; returns False when it was dropped as a duplicate."""
        self.received += 1
        key = sort_key(entry, self.descending)
        line = canonical_line(entry)
        if self._spill_dir is not None:
            self._buffer.append((key, line))
            if len(self._buffer) >= self.run_size:
                self._spill()
            return True
        if self._prev_key is not None and key == self._prev_key:
            self._drop(line)
            return False
        if self._prev_key is None or self._in_order(self._prev_key, key):
            self._emit(key, line, entry)
            return True
        self._start_sorting()
        self._buffer.append((key, line))
        return True

    def _drop(self, line):
        self.duplicates += 1
        if line != self._prev_line:
            self.conflicts += 1

    def _emit(self, key, line, entry):
        self._jsonl.write_line(line)
        if self._csv is not None:
            self._csv.add(entry)
        self._prev_key = key
        self._prev_line = line
        self.written += 1

    def _start_sorting(self):
        """The stream left canonical order: what was written so far becomes run 0."""
        self.client_sorted = True
        self._spill_dir = tempfile.mkdtemp(dir=self.workdir, prefix=".spill.%d." % self.owner_pid,
                                           suffix=".part")
        prefix = self._jsonl.finish()
        self._files.remove(prefix)
        self._runs.append(("jsonl", prefix.path))
        if self._csv is not None:
            self._files.remove(self._csv.file)
            self._csv.file.abort()
            self._csv = None

    def _spill(self):
        self._buffer.sort(key=lambda item: item[0], reverse=self.descending)
        path = os.path.join(self._spill_dir, "run-%06d" % len(self._runs))
        with open(path, "wb", buffering=CHUNK) as handle:
            for key, line in self._buffer:
                handle.write(json.dumps(key, separators=(",", ":")).encode("utf-8"))
                handle.write(b"\t")
                handle.write(line)
        self._runs.append(("spill", path))
        self._buffer = []

    def _read_run(self, run):
        kind, path = run
        with open(path, "rb", buffering=CHUNK) as handle:
            for raw in handle:
                if kind == "jsonl":
                    yield sort_key(json.loads(raw.decode("utf-8")), self.descending), raw
                else:
                    head, line = raw.split(b"\t", 1)
                    yield tuple(json.loads(head.decode("utf-8"))), line

    def _merged(self, runs, tail):
        sources = [self._read_run(run) for run in runs]
        if tail:
            sources.append(iter(tail))
        return heapq.merge(*sources, key=lambda item: item[0], reverse=self.descending)

    def _reduce_runs(self):
        """Merge runs in rounds until few enough remain to merge at once."""
        while len(self._runs) > MAX_FAN_IN:
            group, self._runs = self._runs[:MAX_FAN_IN], self._runs[MAX_FAN_IN:]
            path = os.path.join(self._spill_dir, "merged-%06d" % len(self._runs))
            with open(path, "wb", buffering=CHUNK) as handle:
                for key, line in self._merged(group, None):
                    handle.write(json.dumps(list(key), separators=(",", ":")).encode("utf-8"))
                    handle.write(b"\t")
                    handle.write(line)
            for _kind, done in group:
                remove_quietly(done)
            self._runs.append(("spill", path))

    def _merge_all(self):
        self._buffer.sort(key=lambda item: item[0], reverse=self.descending)
        tail, self._buffer = self._buffer, []
        self._reduce_runs()
        self._jsonl = self._open(JSONL_NAME)
        self._csv = _CsvOut(self._open(CSV_NAME)) if self.want_csv else None
        self._prev_key = None
        self._prev_line = None
        self.written = 0
        for key, line in self._merged(self._runs, tail):
            if key == self._prev_key:
                self._drop(line)
                continue
            entry = json.loads(line.decode("utf-8")) if self._csv is not None else None
            self._emit(key, line, entry)
        for _kind, path in self._runs:
            remove_quietly(path)
        self._runs = []

    def finish(self):
        """Finish every part file; returns ``{final name: HashingFile}`` of the formats asked."""
        if self._spill_dir is not None:
            self._merge_all()
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None
        result = {}
        self._jsonl.finish()
        if self.want_jsonl:
            result[JSONL_NAME] = self._jsonl
        else:
            self._files.remove(self._jsonl)
            self._jsonl.abort()
        if self._csv is not None:
            result[CSV_NAME] = self._csv.file.finish()
        return result

    def flush_files(self):
        """Push what the open part files buffer to the OS (before a fork: else parent and
        child would each write it)."""
        for handle in self._files:
            handle._file.flush()  # pylint: disable=protected-access

    def close_copies(self):
        """In the parent after a fork: close this process's handles of the part files, which
        the child now writes (their buffers are empty: nothing is written)."""
        for handle in self._files:
            handle._file.close()  # pylint: disable=protected-access
        self._files = []

    def abort(self):
        for handle in self._files:
            handle.abort()
        self._files = []
        for _kind, path in self._runs:
            remove_quietly(path)
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None


class FinishedPart(object):
    """What the export reads of a finished part file that a child process wrote."""

    def __init__(self, path, sha256, size, lines):
        self.path, self.sha256, self.size, self.lines = path, sha256, size, lines

    def finish(self):
        return self

    def abort(self):
        remove_quietly(self.path)


_COUNTERS = ("written", "duplicates", "conflicts", "client_sorted")


def _summary(writer, parts):
    """The child's answer: the finished parts and the writer's counters."""
    return {"parts": dict((name, (part.path, part.sha256, part.size, part.lines))
                          for name, part in parts.items()),
            "counters": dict((name, getattr(writer, name)) for name in _COUNTERS)}


def _add_packed(writer, data):
    for entry in unpack(data):
        writer.add(entry)


class BundleWriter(object):
    """A StreamWriter (same arguments, same calls, same bytes), run in a forked child process
    when ``separate_process`` is true and the system can fork (CAN_FORK).

    Create it before the scan starts any thread: the fork then copies a process that holds
    no lock another thread could own. ``add(entry)`` or ``add_batch(batch)`` (a list, or a
    ``batches.Packed`` block, whose bytes go to the child undecoded); then ``finish()`` or
    ``abort()``.
    """

    def __init__(self, workdir, order=NEWEST_FIRST, formats="jsonl", run_size=RUN_SIZE,
                 separate_process=False):
        self._local = StreamWriter(workdir, order=order, formats=formats, run_size=run_size)
        self._child = None
        self._parts = {}
        self._counters = {}
        self.received = 0
        if separate_process and CAN_FORK:
            local, self._local = self._local, None
            local.flush_files()  # the CSV header: else both processes would write it
            try:
                self._child = WriterProcess(local, _summary, StreamWriter.close_copies,
                                            _add_packed)
            except OSError:  # no fork here (a process limit): the writer stays in this one
                self._local = local

    def __getattr__(self, name):
        # The counters: the local writer's, or those the child sent back (0 meanwhile).
        if name in _COUNTERS:
            local = self.__dict__.get("_local")
            return getattr(local, name) if local is not None else self.__dict__.get(
                "_counters", {}).get(name, 0)
        raise AttributeError(name)

    @property
    def in_child(self):
        return self._child is not None

    def add(self, entry):
        """Take one entry; returns False when it was dropped as a duplicate (known only
        while the writer is in this process: True from a child)."""
        self.received += 1
        if self._child is not None:
            self._child.send(entry)
            return True
        return self._local.add(entry)

    def add_batch(self, batch):
        """Take a batch of entries (batches.py), in order."""
        self.received += batch_size(batch)
        if self._child is not None:
            self._child.send_packed(packed_bytes(batch))
            return
        for entry in entries_of(batch):
            self._local.add(entry)

    def finish(self):
        if self._child is None:
            return self._local.finish()
        try:
            answer = self._child.finish()
        finally:
            self._child = None
        self._counters = answer["counters"]
        self._parts = dict((name, FinishedPart(*fields))
                           for name, fields in answer["parts"].items())
        return dict(self._parts)

    def abort(self):
        if self._local is not None:
            self._local.abort()
        if self._child is not None:
            self._child.abort()
            self._child = None
        for part in self._parts.values():
            part.abort()
        self._parts = {}
