# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup's reuse of settled reads within a run, across Ansible's forked workers.

Ansible evaluates a lookup in a forked worker per host and task, and a play variable holding
``query(...)`` at each reference: eight hosts ask the same question at the same instant. Only
a settled window can be shared (its ``until`` ended before the settle delay: the API adds no
entry to it any more); an open window is always read afresh.

What is kept: only complete reads (``report["complete"] is True``), under a key that holds
everything that decides what a read returns (``cache_material``). A kept answer is therefore
one the same lookup could have read itself, never a part of one.

Where: under ``$ANSIBLE_LOCAL_TEMP`` (else ``~/.ansible/tmp``), one private directory per user
(``nirvana_labs_audit_lookup-<uid>``, 0700) holding one directory per run (``run-<pid>``,
0700), files 0600. That temporary directory may be shared and world-writable, so every
directory and file is checked without following links (``lstat``, ``O_NOFOLLOW``): a link,
anything owned by another user or open to others is refused, and a refused location means no
cache (with a warning), never a failure. The temporary directory itself must belong to us or
to root and, when others may write in it, have the sticky bit (else they could rename our
directory away and plant theirs between a check and its use).

A run is one ansible-playbook process (its forked workers name it as their parent); a run
directory whose process is gone, and any file older than ``CACHE_TTL``, is removed by the next
lookup that opens the cache. A file is named by an HMAC of the material keyed by the API key:
it holds entries, never the key, and without the key its name reveals nothing. One process
fills an entry while the others wait on its lock (``fcntl``), then read it. Entries larger
than ``MAX_ENTRY_BYTES``, or beyond ``MAX_CACHE_BYTES`` in all, are not stored.

The cache never fails a lookup: a file that cannot be read (corrupt, vanished, not ours) is
read afresh from the API, and a read that cannot be kept (a full disk, a file size limit, the
directory pruned meanwhile) is returned as read, with a warning.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import stat
import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import (
    atomic_write,
    open_no_follow,
    pid_alive,
)

CACHE_TTL = 3600
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_CACHE_BYTES = 256 * 1024 * 1024
_USER_DIR = "nirvana_labs_audit_lookup-%d"
_RUN_PREFIX = "run-"
_LEGACY_PREFIX = "nirvana_labs_audit_lookup_"  # 0.x: one directory per run in the root

# What decides the answer of a read, besides the API key (the HMAC's key: another account may
# see other entries), the query (resolved window, filters, order) and the fields:
# - base_url: another server, another log;
# - validate_certs, ca_path: who may answer (an unverified read never serves a verified one);
# - max_results: a complete read under a bound returns at most that many;
# - max_pages, scan_timeout: how far a read may go; keyed so that whether a lookup gets its
#   whole answer never depends on which other lookup ran first;
# - page_size: with max_pages, how far max_pages goes.
# Not keyed: parallelism (a parallel read returns the same entries in the same order, and is
# refused with max_pages and scan_timeout), timeout, max_retries, use_proxy, max_body_bytes
# (they decide whether a read fails, and a failed read is not kept).
KEYED_CONNECTION = ("base_url", "validate_certs", "ca_path")
KEYED_SETTINGS = ("page_size", "max_results", "max_pages", "scan_timeout")


class CacheRefused(Exception):
    """The cache cannot be used safely here; the lookup reads from the API."""


def cache_root():
    base = os.environ.get("ANSIBLE_LOCAL_TEMP") or os.path.join("~", ".ansible", "tmp")
    return os.path.expanduser(os.path.expandvars(base))


def cache_material(connection, query, fields, settings):
    """Everything that decides what a read returns (see KEYED_CONNECTION, KEYED_SETTINGS):
    ``connection`` and ``settings`` are mappings of option names, ``query`` a Query."""
    return {"connection": dict((name, connection.get(name)) for name in KEYED_CONNECTION),
            "query": query.describe(), "fields": fields,
            "settings": dict((name, settings.get(name)) for name in KEYED_SETTINGS)}


def cache_key(api_key, material):
    """HMAC-SHA256 of the request's material, keyed by the API key (which is not stored)."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(api_key.encode("utf-8"), text, hashlib.sha256).hexdigest()


def is_complete(result):
    """Whether ``result`` is a complete read: the only kind the cache keeps or serves."""
    return (isinstance(result, dict) and isinstance(result.get("entries"), list)
            and isinstance(result.get("report"), dict)
            and result["report"].get("complete") is True)


def controller_pid():
    """The pid of the ansible-playbook process this lookup runs for: the parent of a forked
    worker (a multiprocessing child that left its process group with setsid), else this
    process itself."""
    if multiprocessing.current_process().name != "MainProcess":
        return os.getppid()
    return os.getpid()


def _reason(err):
    if isinstance(err, OSError) and err.strerror:
        return "%s: %s" % (err.strerror, err.filename) if err.filename else err.strerror
    return str(err)


def read_through(api_key, material, read, warn, **cache_args):
    """The answer to ``material``: a complete read kept by an earlier evaluation of this run,
    else ``read()`` (kept when complete). ``read`` returns ``{"entries", "report"}``; ``warn``
    takes a message for the user; ``cache_args`` go to ``LookupCache``. Nothing here fails the
    lookup: errors of ``read`` itself are the only ones that propagate."""
    with contextlib.ExitStack() as stack:
        try:
            cache = LookupCache.open(**cache_args)
            slot = stack.enter_context(cache.slot(cache_key(api_key, material)))
        except CacheRefused as err:
            warn("the lookup cache is not used (%s); the entries are read from the API" % err)
            return read()
        except (OSError, IOError) as err:  # the cache failed before the read: read without it
            warn("the lookup cache is not used (%s); the entries are read from the API"
                 % _reason(err))
            return read()
        if slot.value is not None:
            return slot.value
        result = read()
        try:
            slot.store(result)
        except (OSError, IOError, ValueError) as err:
            warn("the entries were read but could not be kept in the lookup cache (%s);"
                 " they are returned as read, and the next evaluation reads them again"
                 % _reason(err))
        return result


def _check_private(path, info, kind):
    """Refuses ``info`` (an lstat or fstat) unless it is ours and closed to others."""
    if info.st_uid != os.geteuid():
        raise CacheRefused("the %s %s belongs to another user (uid %d)"
                           % (kind, path, info.st_uid))
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise CacheRefused("the %s %s is open to other users (mode %04o)"
                           % (kind, path, stat.S_IMODE(info.st_mode)))


def _private_dir(path):
    """Makes ``path`` 0700 if it is absent, then refuses it unless it is a directory (not a
    link) of ours that only we may use."""
    try:
        os.mkdir(path, 0o700)
    except OSError as err:
        if err.errno != errno.EEXIST:
            raise
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise CacheRefused("%s is not a directory (a link or a file is there)" % path)
    _check_private(path, info, "directory")


def _check_root(root):
    """The temporary directory may be shared; refuses one where another user could swap our
    directory for theirs (owned by someone else, or writable by others without sticky bit)."""
    info = os.stat(root)  # followed: /tmp may be a link (macOS); its target is judged
    if info.st_uid not in (os.geteuid(), 0):
        raise CacheRefused("the temporary directory %s belongs to another user (uid %d)"
                           % (root, info.st_uid))
    if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
        raise CacheRefused("others may write in the temporary directory %s and it has no"
                           " sticky bit" % root)


def _remove_dead_runs(directory, prefix):
    """Removes the run directories (ours, not links) in ``directory`` whose process is gone."""
    for name in os.listdir(directory):
        if not name.startswith(prefix) or not name[len(prefix):].isdigit():
            continue
        path = os.path.join(directory, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue  # another worker removed it first
        if (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
                and not pid_alive(int(name[len(prefix):]))):
            shutil.rmtree(path, ignore_errors=True)


class LookupCache(object):
    """One run's cache directory; ``slot(key)`` holds the lock of one entry."""

    def __init__(self, root=None, run_id=None, clock=time.time):
        self.root = root or cache_root()
        self.run_id = run_id if run_id is not None else controller_pid()
        self.user_directory = os.path.join(self.root, _USER_DIR % os.geteuid())
        self.directory = os.path.join(self.user_directory, "%s%d" % (_RUN_PREFIX, self.run_id))
        self._clock = clock
        self.hits = self.fills = 0

    @classmethod
    def open(cls, **kwargs):
        """The run's cache; CacheRefused (with the reason) when its location is not safe,
        OSError when it cannot be made."""
        cache = cls(**kwargs)
        cache._prepare()
        return cache

    def _prepare(self):
        if not os.path.isdir(self.root):
            os.makedirs(self.root, 0o700, exist_ok=True)
        _check_root(self.root)
        _private_dir(self.user_directory)
        _remove_dead_runs(self.root, _LEGACY_PREFIX)
        _remove_dead_runs(self.user_directory, _RUN_PREFIX)
        _private_dir(self.directory)
        self._remove_expired()

    def _remove_expired(self):
        """Removes this run's expired entries and the temporary files of killed writers."""
        limit = self._clock() - CACHE_TTL
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                if name.endswith((".json", ".tmp")) and os.lstat(path).st_mtime < limit:
                    os.unlink(path)
            except OSError:
                pass  # another worker removed it first

    def _size(self):
        total = 0
        for name in os.listdir(self.directory):
            try:
                total += os.lstat(os.path.join(self.directory, name)).st_size
            except OSError:
                pass
        return total

    @contextlib.contextmanager
    def slot(self, key):
        """Yields a Slot for ``key`` with the entry's lock held: ``slot.value`` is the cached
        complete read or None; ``slot.store(value)`` keeps a complete read."""
        lock_path = os.path.join(self.directory, key + ".lock")
        try:
            fd = open_no_follow(lock_path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK, 0o600)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise CacheRefused("the lock file %s is a link" % lock_path)
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise CacheRefused("the lock file %s is not a regular file" % lock_path)
            _check_private(lock_path, info, "lock file")
            fcntl.flock(fd, fcntl.LOCK_EX)  # the first process fills, the others wait here
            slot = _Slot(self, os.path.join(self.directory, key + ".json"))
            if slot.value is not None:
                self.hits += 1
            yield slot
        finally:
            os.close(fd)  # closing releases the lock


class _Slot(object):
    def __init__(self, cache, path):
        self._cache = cache
        self._path = path
        self.value = self._load()

    def _load(self):
        """The kept complete read, or None for anything else: absent, vanished, a link, not
        ours, expired, oversized, corrupt or not complete (the API is asked instead)."""
        try:
            fd = open_no_follow(self._path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            _check_private(self._path, info, "file")
            if (not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES
                    or info.st_mtime < self._cache._clock() - CACHE_TTL):
                return None
            with os.fdopen(os.dup(fd), "rb") as handle:
                value = json.loads(handle.read(MAX_ENTRY_BYTES + 1).decode("utf-8"))
        except (CacheRefused, OSError, IOError, ValueError):
            return None
        finally:
            os.close(fd)
        return value if is_complete(value) else None

    def store(self, value):
        """Keeps ``value`` when it is a complete read within the size bounds; True if kept.
        OSError when the write fails (nothing is left behind)."""
        if not is_complete(value):
            return False  # a part of an answer is never served as the answer
        data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_ENTRY_BYTES or self._cache._size() + len(data) > MAX_CACHE_BYTES:
            return False  # bounded: too large to keep; the next asker reads afresh
        atomic_write(self._path, data)  # 0600, private from the first byte
        self._cache.fills += 1
        return True
