# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One writer per bundle directory: an exclusive, non-blocking ``flock`` on a lock file in it.

A second export into the same ``dest`` while one runs fails at once with a message that says
so, rather than racing it (two renames of the same files, and a loser that reports a manifest
hash no longer on disk). The lock file stays: removing it would let a third writer lock a new
file while the second still holds the old one. The kernel drops the lock when the process
ends, however it ends. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError

LOCK_NAME = ".audit_log.lock"


class BundleLocked(AuditLogError):
    """Another process holds the lock of this bundle directory."""


class DirectoryLock(object):
    """``with DirectoryLock(dest, mode):`` holds ``dest/.audit_log.lock`` exclusively."""

    def __init__(self, directory, mode=0o640):
        self.path = os.path.join(directory, LOCK_NAME)
        self.mode = mode
        self._fd = None

    def acquire(self):
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, self.mode)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as err:
            os.close(self._fd)
            self._fd = None
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise BundleLocked(
                    "another export is writing to %s (it holds %s); run one export per dest"
                    " at a time, and run this one again when that one has finished"
                    % (os.path.dirname(self.path), LOCK_NAME))
            raise
        return self

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
