# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing an evidence bundle's data files: canonical bytes, canonical order, streamed.

Entries arrive one at a time from a scan. Each becomes one canonical JSON line (sorted keys,
compact separators, UTF-8) and, when asked, one CSV row. Lines are written in a canonical
order, ``(created_at, id)`` in the direction the query asked for, so the same entries always
give the same bytes whatever order the server sent them in.

While the stream is already in that order (what a server that honours ``sort`` sends) lines go
straight to the data files: one pass, constant memory. Because the order is strict, a line
whose key equals the previous one is the same entry again and is dropped, which proves
"each entry once" without remembering ids. The first out-of-order entry switches to a
bounded-memory external sort (sorted runs on disk, then a k-way merge) that gives the same
bytes; duplicates are then adjacent in the merge and dropped there.

Every file is written under a hidden ``.part`` name, hashed as it is written, fsync'ed, and
only renamed into place by ``commit_files``. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import datetime
import errno
import hashlib
import heapq
import io
import json
import os
import re
import shutil
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import parse_rfc3339

JSONL_NAME = "audit_log.jsonl"
CSV_NAME = "audit_log.csv"
MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
DATA_NAMES = (JSONL_NAME, CSV_NAME)

FORMATS = ("jsonl", "csv", "both")
NEWEST_FIRST = "newest_first"
OLDEST_FIRST = "oldest_first"

# Entries held in memory per sorted run when the server's order has to be fixed: about
# 0.5 KiB each, so a run costs a few MiB whatever the size of the export.
RUN_SIZE = 10000
# Runs merged at once; more are merged in rounds so open files stay few.
MAX_FAN_IN = 64
_CHUNK = 1024 * 1024

# Part files carry the writer's pid so a later run removes only leftovers of dead processes.
_PART_RE = re.compile(r"^\.(?P<name>[A-Za-z0-9_.]+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.part$")

# The CSV columns: every field of the contract's AuditLog, nested objects flattened with a dot.
# Fields the contract does not know go, as one canonical JSON object, into ``extra``; the JSONL
# file is the authoritative copy, the CSV the one a spreadsheet opens.
CSV_COLUMNS = (
    "id", "created_at", "action",
    "actor.id", "actor.name", "actor.type",
    "target.id", "target.type",
    "method", "path", "status_code", "client_ip", "user_agent",
    "extra",
)
_TOP_FIELDS = ("id", "created_at", "action", "method", "path", "status_code", "client_ip",
               "user_agent")
_NESTED_FIELDS = {"actor": ("id", "name", "type"), "target": ("id", "type")}

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def canonical_json(value):
    """Compact JSON text with sorted keys: one value, one spelling."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_line(entry):
    """The bytes of one JSONL line for an entry, newline included."""
    return (canonical_json(entry) + "\n").encode("utf-8")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    return str(value)


def csv_row(entry):
    """The CSV cells of an entry, in ``CSV_COLUMNS`` order.

    ``null`` and absent are both an empty cell (the JSONL keeps the difference). A nested
    object that is not an object (the contract says it always is) is kept whole in ``extra``.
    """
    extra = {}
    cells = {}
    for key, value in entry.items():
        if key in _TOP_FIELDS:
            cells[key] = _cell(value)
        elif key in _NESTED_FIELDS and (value is None or isinstance(value, dict)):
            for sub_key, sub_value in (value or {}).items():
                if sub_key in _NESTED_FIELDS[key]:
                    cells["%s.%s" % (key, sub_key)] = _cell(sub_value)
                else:
                    extra.setdefault(key, {})[sub_key] = sub_value
        else:
            extra[key] = value
    cells["extra"] = canonical_json(extra) if extra else ""
    return [cells.get(column, "") for column in CSV_COLUMNS]


def instant_micros(text):
    """Microseconds since the epoch of an RFC 3339 string, or None when it is not one."""
    instant = parse_rfc3339(text)
    if instant is None:
        return None
    delta = instant - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def sort_key(entry, descending):
    """The canonical order of an entry: ``(created_at, id)``; entries without a readable
    ``created_at`` come last in either direction, by id.

    The first element ranks timed against untimed entries so that, read in the requested
    direction, untimed ones always come after.
    """
    ident = entry.get("id")
    if not isinstance(ident, str):
        ident = canonical_json(ident)
    micros = instant_micros(entry.get("created_at"))
    if micros is None:
        return (0 if descending else 1, 0, ident)
    return (1 if descending else 0, micros, ident)


class HashingFile(object):
    """A binary file written once, front to back, hashed on the way.

    ``finish`` flushes and fsyncs it; ``abort`` removes it. The text adapter lets ``csv``
    write through it.
    """

    def __init__(self, path):
        self.path = path
        self._file = open(path, "wb", buffering=_CHUNK)
        self._sha = hashlib.sha256()
        self.size = 0
        self.lines = 0
        self.sha256 = None

    def write(self, data):
        self._file.write(data)
        self._sha.update(data)
        self.size += len(data)

    def write_line(self, data):
        self.write(data)
        self.lines += 1

    def finish(self):
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            self.sha256 = self._sha.hexdigest()
        return self

    def abort(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        remove_quietly(self.path)


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
        self._writer.writerow(CSV_COLUMNS)

    def add(self, entry):
        self._writer.writerow(csv_row(entry))
        self.file.lines += 1


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def part_path(directory, name):
    """A fresh hidden part file in ``directory`` for the final file ``name``."""
    handle, path = tempfile.mkstemp(dir=directory, prefix=".%s.%d." % (name, os.getpid()),
                                    suffix=".part")
    os.close(handle)
    return path


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True


def remove_stale_parts(directory):
    """Remove part files and spill folders left by export processes that no longer run.

    Returns the names removed. Parts of a live process (a concurrent export) are left alone.
    """
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in sorted(names):
        match = _PART_RE.match(name)
        if not match or _pid_alive(int(match.group("pid"))):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            remove_quietly(path)
        removed.append(name)
    return removed


class BundleWriter(object):
    """Streams entries into the data files' part files in canonical order.

    ``add(entry)`` for each entry, then ``finish()`` returns ``{final name: HashingFile}``
    (finished, fsync'ed, still under their part names), or ``abort()`` on any failure.
    """

    def __init__(self, workdir, order=NEWEST_FIRST, formats="jsonl", run_size=RUN_SIZE):
        if order not in (NEWEST_FIRST, OLDEST_FIRST):
            raise ValueError("order must be %s or %s" % (NEWEST_FIRST, OLDEST_FIRST))
        if formats not in FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(FORMATS))
        self.workdir = workdir
        self.descending = order == NEWEST_FIRST
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
        with open(path, "wb", buffering=_CHUNK) as handle:
            for key, line in self._buffer:
                handle.write(json.dumps(key, separators=(",", ":")).encode("utf-8"))
                handle.write(b"\t")
                handle.write(line)
        self._runs.append(("spill", path))
        self._buffer = []

    def _read_run(self, run):
        kind, path = run
        with open(path, "rb", buffering=_CHUNK) as handle:
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
            with open(path, "wb", buffering=_CHUNK) as handle:
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


def file_sha256(path):
    """SHA-256 of a file, read in chunks; None when it does not exist."""
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(_CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
    except IOError as err:
        if err.errno == errno.ENOENT:
            return None
        raise
    return sha.hexdigest()


def sums_text(hashes):
    """SHA256SUMS as ``sha256sum`` writes and ``sha256sum -c`` reads it (text mode: two
    spaces), one line per file, sorted by name."""
    return "".join("%s  %s\n" % (hashes[name], name) for name in sorted(hashes)).encode("ascii")


_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


def parse_sums(data):
    """``{name: sha256}`` from SHA256SUMS bytes; raises ValueError on a malformed line."""
    result = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if not match:
            raise ValueError("%s line %d is not '<sha256>  <file>'" % (SUMS_NAME, number))
        result[match.group(2)] = match.group(1).lower()
    return result


def write_bytes_part(directory, name, data):
    """A finished part file holding ``data``."""
    handle = HashingFile(part_path(directory, name))
    try:
        handle.write(data)
        return handle.finish()
    except Exception:
        handle.abort()
        raise


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        # Some filesystems refuse fsync on a directory; the files themselves are synced.
        pass
    finally:
        os.close(fd)


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def commit_files(directory, parts, remove=()):
    """Put a new bundle state in place, in an order that never shows a false bundle.

    ``parts`` maps final names to finished part files (only the ones that changed),
    ``remove`` names files to delete. SHA256SUMS goes first (so an interruption leaves a
    bundle that fails verification rather than one that verifies stale data) and comes back
    last, after the data files and the manifest.
    """
    # Parts were created private (mkstemp's 0600); the bundle gets the mode any new file
    # would get under the caller's umask.
    mode = 0o666 & ~current_umask()
    for part in parts.values():
        os.chmod(part.path, mode)
    sums_part = parts.get(SUMS_NAME)
    if sums_part is not None or remove:
        remove_quietly(os.path.join(directory, SUMS_NAME))
        fsync_dir(directory)
    for name in remove:
        remove_quietly(os.path.join(directory, name))
    for name in sorted(parts):
        if name != SUMS_NAME:
            os.rename(parts[name].path, os.path.join(directory, name))
    fsync_dir(directory)
    if sums_part is not None:
        os.rename(sums_part.path, os.path.join(directory, SUMS_NAME))
        fsync_dir(directory)


def verify_bundle(directory):
    """Check a bundle as ``sha256sum -c`` would, plus the manifest's own file list.

    Returns ``(ok, problems, manifest)``: problems is a list of sentences, manifest the
    parsed manifest.json (or None).
    """
    problems = []
    manifest = None
    sums_path = os.path.join(directory, SUMS_NAME)
    try:
        with open(sums_path, "rb") as handle:
            sums = parse_sums(handle.read())
    except (IOError, OSError):
        return False, ["%s is missing" % SUMS_NAME], None
    except (ValueError, UnicodeDecodeError) as err:
        return False, [str(err)], None
    if MANIFEST_NAME not in sums:
        problems.append("%s does not cover %s" % (SUMS_NAME, MANIFEST_NAME))
    for name in sorted(sums):
        if os.path.basename(name) != name:
            problems.append("%s names a file outside the bundle: %s" % (SUMS_NAME, name))
            continue
        actual = file_sha256(os.path.join(directory, name))
        if actual is None:
            problems.append("%s is missing" % name)
        elif actual != sums[name]:
            problems.append("%s does not match its SHA-256 in %s" % (name, SUMS_NAME))
    try:
        with open(os.path.join(directory, MANIFEST_NAME), "rb") as handle:
            manifest = json.loads(handle.read().decode("utf-8"))
    except (IOError, OSError, ValueError):
        problems.append("%s is missing or not JSON" % MANIFEST_NAME)
        manifest = None
    if isinstance(manifest, dict):
        for name, info in sorted((manifest.get("files") or {}).items()):
            if sums.get(name) != (info or {}).get("sha256"):
                problems.append("%s and %s disagree about %s" % (MANIFEST_NAME, SUMS_NAME, name))
    return not problems, problems, manifest


def read_lines(path):
    """The lines of a data file, as bytes, streamed."""
    with io.open(path, "rb", buffering=_CHUNK) as handle:
        yield from handle
