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
bytes; duplicates are then adjacent in the merge and dropped there. Plain Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import heapq
import json
import os
import shutil
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
    part_path,
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


class BundleWriter(object):
    """Streams entries into the data files' part files in canonical order.

    ``add(entry)`` for each entry, then ``finish()`` returns ``{final name: HashingFile}``
    (finished, fsync'ed, still under their part names), or ``abort()`` on any failure.
    """

    def __init__(self, workdir, order=NEWEST_FIRST, formats="jsonl", run_size=RUN_SIZE):
        if formats not in FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(FORMATS))
        self.workdir = workdir
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
        handle = HashingFile(part_path(self.workdir, name))
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
        self._spill_dir = tempfile.mkdtemp(dir=self.workdir, prefix=".spill.%d." % os.getpid(),
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

    def abort(self):
        for handle in self._files:
            handle.abort()
        self._files = []
        for _kind, path in self._runs:
            remove_quietly(path)
        if self._spill_dir is not None:
            shutil.rmtree(self._spill_dir, ignore_errors=True)
            self._spill_dir = None
