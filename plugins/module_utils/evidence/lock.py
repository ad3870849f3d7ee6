# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One writer per bundle directory: an exclusive, non-blocking ``flock`` on a lock file in it.

A second export into the same ``dest`` while one runs fails at once with a message that says
so, rather than racing it (two renames of the same files, and a loser that reports a manifest
hash no longer on disk). The lock file stays: removing it would let a third writer lock a new
file while the second still holds the old one. The kernel drops the lock when the process
ends, however it ends. The lock file is opened without following a link and must be a regular
file: a link planted in ``dest`` would otherwise make the export create or lock a file of the
planter's choosing. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.chain import LOCK_NAME
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import open_no_follow


class BundleLocked(AuditLogError):
    """Another process holds the lock of this bundle directory."""


class LockFileRefused(AuditLogError):
    """The lock file is a symbolic link or not a regular file."""


class DirectoryLock(object):
    """``with DirectoryLock(dest, mode):`` holds ``dest/.audit_log.lock`` exclusively."""

    def __init__(self, directory, mode=0o640):
        self.path = os.path.join(directory, LOCK_NAME)
        self.mode = mode
        self._fd = None

    def _refused(self, what):
        return LockFileRefused(
            "%s is %s; the export's lock file must be a regular file. Remove it (nothing of"
            " the bundle is lost) and run the export again" % (self.path, what))

    def _open(self):
        # Non-blocking: opening a FIFO planted under the lock's name must not hang.
        try:
            fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0),
                                self.mode)
        except OSError as err:
            if err.errno == errno.ELOOP or os.path.islink(self.path):
                raise self._refused("a symbolic link")
            if err.errno == errno.EISDIR:
                raise self._refused("a directory")
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._refused("not a regular file")
        return fd

    def acquire(self):
        self._fd = self._open()
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
