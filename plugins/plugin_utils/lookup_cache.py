# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup's reuse of settled reads within a run, across Ansible's forked workers.

Ansible evaluates a lookup in a forked worker per host and task, and a play variable holding
``query(...)`` at each reference: eight hosts ask the same question at the same instant. Only
a settled window can be shared (its ``until`` ended before the settle delay: the API adds no
entry to it any more); an open window is always read afresh.

Controller side only. Files live in one directory per run, under ``$ANSIBLE_LOCAL_TEMP`` (else
``~/.ansible/tmp``), mode 0700, files 0600. A run is one ansible-playbook process (its forked
workers name it as their parent); a directory whose process is gone, and any file older than
``CACHE_TTL``, is removed by the next lookup that opens the cache. A file is named by an HMAC
of what was asked (base URL, resolved window, filters, order, fields) keyed by the API key: it
holds entries, never the key, and without the key its name reveals nothing. One process
fills an entry while the others wait on its lock (``fcntl``), then read it. Entries larger
than ``MAX_ENTRY_BYTES``, or beyond ``MAX_CACHE_BYTES`` in all, are not stored.
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
import tempfile
import time

from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import pid_alive

CACHE_TTL = 3600
MAX_ENTRY_BYTES = 64 * 1024 * 1024
MAX_CACHE_BYTES = 256 * 1024 * 1024
_PREFIX = "nirvana_labs_audit_lookup_"


def cache_root():
    base = os.environ.get("ANSIBLE_LOCAL_TEMP") or os.path.join("~", ".ansible", "tmp")
    return os.path.expanduser(os.path.expandvars(base))


def cache_key(api_key, material):
    """HMAC-SHA256 of the request's material, keyed by the API key (which is not stored)."""
    text = json.dumps(material, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(api_key.encode("utf-8"), text, hashlib.sha256).hexdigest()


def controller_pid():
    """The pid of the ansible-playbook process this lookup runs for: the parent of a forked
    worker (a multiprocessing child that left its process group with setsid), else this
    process itself."""
    if multiprocessing.current_process().name != "MainProcess":
        return os.getppid()
    return os.getpid()


class LookupCache(object):
    """One run's cache directory; ``slot(key)`` holds the lock of one entry."""

    def __init__(self, root=None, run_id=None, clock=time.time):
        self.root = root or cache_root()
        self.run_id = run_id if run_id is not None else controller_pid()
        self.directory = os.path.join(self.root, "%s%d" % (_PREFIX, self.run_id))
        self._clock = clock
        self.hits = self.fills = 0

    @classmethod
    def open(cls, **kwargs):
        """The run's cache, or None when its directory cannot be made safely (then every
        read goes to the API, as with ``cache: false``)."""
        cache = cls(**kwargs)
        try:
            cache._prepare()
        except (OSError, IOError):
            return None
        return cache

    def _prepare(self):
        if not os.path.isdir(self.root):
            os.makedirs(self.root, 0o700)
        try:
            os.mkdir(self.directory, 0o700)
        except OSError as err:
            if err.errno != errno.EEXIST:
                raise
        if os.stat(self.directory).st_uid != os.getuid():
            raise OSError(errno.EPERM, "cache directory owned by another user")
        os.chmod(self.directory, 0o700)
        self._prune()

    def _prune(self):
        """Removes the directories of finished runs and the expired files of this one."""
        for name in os.listdir(self.root):
            if name.startswith(_PREFIX) and name != os.path.basename(self.directory):
                try:
                    pid = int(name[len(_PREFIX):])
                except ValueError:
                    continue
                if not pid_alive(pid):
                    shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
        limit = self._clock() - CACHE_TTL
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            try:
                if name.endswith(".json") and os.stat(path).st_mtime < limit:
                    os.unlink(path)
            except OSError:
                pass  # another worker removed it first

    def _size(self):
        total = 0
        for name in os.listdir(self.directory):
            try:
                total += os.stat(os.path.join(self.directory, name)).st_size
            except OSError:
                pass
        return total

    @contextlib.contextmanager
    def slot(self, key):
        """Yields a Slot for ``key`` with the entry's lock held: ``slot.value`` is the cached
        value or None; ``slot.store(value)`` fills it."""
        lock_path = os.path.join(self.directory, key + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
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
        self.value = None
        try:
            if os.stat(path).st_mtime >= cache._clock() - CACHE_TTL:
                with open(path, "rb") as handle:
                    self.value = json.loads(handle.read().decode("utf-8"))
        except (OSError, IOError, ValueError):
            self.value = None

    def store(self, value):
        data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        if len(data) > MAX_ENTRY_BYTES or self._cache._size() + len(data) > MAX_CACHE_BYTES:
            return False  # bounded: too large to keep; the next asker reads afresh
        fd, temp = tempfile.mkstemp(dir=os.path.dirname(self._path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates it 0600
                handle.write(data)
            os.rename(temp, self._path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        self._cache.fills += 1
        return True
