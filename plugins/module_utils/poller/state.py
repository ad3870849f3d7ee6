# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checkpoint (watermark and delivered keys) and where it is kept.

A store has four operations (``CheckpointStore``): ``load`` at start, ``record`` one
delivered entry (called right after it was handed over, so it must be cheap and must not
grow with history), ``save`` the whole checkpoint after a batch (compaction), ``close``.
``FileStore`` keeps a snapshot file (``state_file``, rewritten atomically by ``save``) and an
append-only journal beside it (``<state_file>.journal``, one line per delivered entry,
emptied by each ``save``); ``load`` is the snapshot plus the journal's records. Another
store (a database row written in a transaction per batch) implements the same four calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import re
import stat
import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import (
    atomic_write,
    open_no_follow,
    remove_quietly,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.lock import StateLock
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    format_utc,
    parse_rfc3339,
)

STATE_VERSION = 1
# Far more than the ids of any settle window; a larger file is not one of ours.
MAX_STATE_BYTES = 256 * 1024 * 1024
# The journal is flushed to disk at most this long after a record (and by every save): what
# an operating system crash can take back. A killed process loses nothing (see record).
JOURNAL_SYNC_SECONDS = 1.0
DIGEST_PREFIX = "sha256:"


def entry_key(entry):
    """What an entry is remembered by: its ``id`` when it is a non-empty string, else the
    SHA-256 of its canonical JSON (an entry without an id is still delivered once; the state
    never holds a null)."""
    entry_id = entry.get("id")
    if isinstance(entry_id, str) and entry_id:
        return entry_id
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()


class Checkpoint(object):
    """The watermark and the keys delivered at or after it (key -> created_at)."""

    def __init__(self, watermark, sent=None):
        self.watermark = watermark
        self.sent = dict(sent or {})

    def forget_before(self, watermark):
        """Move the watermark forward (never back) and drop the keys it has passed."""
        if watermark > self.watermark:
            self.watermark = watermark
        self.sent = dict((i, c) for i, c in self.sent.items() if c >= self.watermark)

    def to_json(self):
        return {
            "version": STATE_VERSION,
            "watermark": format_utc(self.watermark),
            "sent": [{"id": i, "created_at": format_utc(c)}
                     for i, c in sorted(self.sent.items(), key=lambda item: (item[1], item[0]))],
        }

    @classmethod
    def from_json(cls, data):
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("not a version %d state" % STATE_VERSION)
        watermark = parse_rfc3339(data.get("watermark"))
        if watermark is None or not isinstance(data.get("sent"), list):
            raise ValueError("no watermark or no list of sent ids")
        sent = {}
        for item in data["sent"]:
            created = parse_rfc3339(item.get("created_at")) if isinstance(item, dict) else None
            if created is None or not isinstance(item.get("id"), str) or not item["id"]:
                raise ValueError("a sent id without its created_at")
            sent[item["id"]] = created
        return cls(watermark, sent)


def _read_regular(path):
    """The bytes of ``path``; None when it does not exist. Anything but a regular file (a
    FIFO would block, /dev/zero never ends, a link points elsewhere) is refused."""
    try:
        fd = open_no_follow(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as err:
        if err.errno == errno.ENOENT:
            return None
        raise InvalidOption("state_file", "cannot read %s: %s" % (
            path, "it is a symbolic link" if err.errno == errno.ELOOP else err.strerror))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidOption("state_file", "%s is not a regular file" % path)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_STATE_BYTES:
                raise InvalidOption("state_file", "%s is larger than %d bytes: not a state file"
                                                  " of this source" % (path, MAX_STATE_BYTES))
            chunks.append(chunk)
    except OSError as err:
        raise InvalidOption("state_file", "cannot read %s: %s" % (path, err.strerror))
    finally:
        os.close(fd)


def _not_ours(path, reason):
    return InvalidOption("state_file", "%s is not a state file of this source (%s); move it"
                                       " away to start from 'since'" % (path, reason))


def load_state(path):
    """The checkpoint in the snapshot ``path``, or None when there is no such file."""
    data = _read_regular(path)
    if data is None:
        return None
    try:
        return Checkpoint.from_json(json.loads(data.decode("utf-8")))
    except UnicodeDecodeError:
        raise _not_ours(path, "not UTF-8 text")
    except RecursionError:
        raise _not_ours(path, "nested too deeply")
    except ValueError as err:
        raise _not_ours(path, err)


def read_journal(path):
    """[(key, created_at)] of the journal; a last line without its newline was cut by a crash
    mid-write and is ignored (that entry's record never became durable)."""
    data = _read_regular(path)
    if not data:
        return []
    lines = data.split(b"\n")[:-1]  # the part after the last newline is torn or empty
    records = []
    for number, line in enumerate(lines, 1):
        try:
            key, created = json.loads(line.decode("utf-8"))
            created = parse_rfc3339(created)
            if not isinstance(key, str) or not key or created is None:
                raise ValueError(line)
        except (ValueError, TypeError, RecursionError, UnicodeDecodeError):
            raise _not_ours(path, "line %d of the journal is damaged" % number)
        records.append((key, created))
    return records


def save_state(path, checkpoint):
    """Write the snapshot atomically (``files.atomic_write``: private, flushed, renamed)."""
    atomic_write(path, json.dumps(checkpoint.to_json(), separators=(",", ":")).encode("utf-8"))


def remove_stale_temp_files(path):
    """Remove temporary snapshots a killed source left beside ``path`` (``atomic_write``'s
    names). Called under the state lock: no live process of this state writes them."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(r"^\.%s\.[A-Za-z0-9_]{8}\.tmp$" % re.escape(os.path.basename(path)))
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if pattern.match(name):
            remove_quietly(os.path.join(directory, name))


class CheckpointStore(object):
    """Where the checkpoint lives; this one keeps it in memory only (no ``state_file``)."""

    def load(self):
        """(checkpoint or None, [(key, created_at)] recorded since it was saved)."""
        return None, []

    def record(self, key, created):
        """One delivered entry; called right after the hand-over, before the next one."""

    def save(self, checkpoint):
        """The whole checkpoint, after a batch; the records it includes may be dropped."""

    def close(self):
        """Release what the store holds (files, locks, connections)."""


class FileStore(CheckpointStore):
    """Snapshot + journal in files, one source per file (``StateLock``)."""

    def __init__(self, path, clock=time.monotonic):
        self.path = path
        self.journal_path = path + ".journal"
        self._clock = clock
        self._fd = None
        self._lock = StateLock(path)
        try:
            remove_stale_temp_files(path)
        except OSError as err:
            self._lock.release()
            raise InvalidOption("state_file", "cannot clean %s's directory: %s"
                                % (path, err.strerror))
        self._synced = self._clock()

    def load(self):
        checkpoint = load_state(self.path)
        return checkpoint, read_journal(self.journal_path)

    def _journal(self):
        if self._fd is None:
            try:
                self._fd = open_no_follow(self.journal_path,
                                          os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            except OSError as err:
                raise InvalidOption("state_file", "cannot open its journal %s: %s" % (
                    self.journal_path,
                    "it is a symbolic link" if err.errno == errno.ELOOP else err.strerror))
        return self._fd

    def record(self, key, created):
        """Append one line with one write(2): once it returns, the record survives the
        process being killed (it is in the kernel). It reaches the disk by the next save or
        within JOURNAL_SYNC_SECONDS, whichever comes first; the cost does not depend on how
        many entries were delivered before."""
        line = (json.dumps([key, format_utc(created)], separators=(",", ":"))
                + "\n").encode("utf-8")
        fd = self._journal()
        while line:
            line = line[os.write(fd, line):]
        now = self._clock()
        if now - self._synced >= JOURNAL_SYNC_SECONDS:
            os.fsync(fd)
            self._synced = now

    def save(self, checkpoint):
        """The snapshot first (atomic, fsynced), then an empty journal: a crash in between
        leaves records the snapshot already holds, which ``load`` applies again harmlessly."""
        save_state(self.path, checkpoint)
        fd = self._journal()
        os.ftruncate(fd, 0)
        os.fsync(fd)
        self._synced = self._clock()

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._lock.release()
