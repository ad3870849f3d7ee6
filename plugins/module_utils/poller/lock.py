# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One source per state file: a non-blocking flock on ``<state_file>.lock``, held for the
source's life. Two sources sharing a state file would overwrite each other's progress (a
re-delivery, a miss); the second is refused at start instead. The lock file is opened without
following a link, so a planted symlink cannot make the source create or lock a file elsewhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system
    fcntl = None

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import open_no_follow


class StateLock(object):
    """``StateLock(state_file)`` takes the lock or raises InvalidOption; ``release()`` ends it
    (the kernel also ends it when the process dies, so a killed source leaves no stale lock)."""

    def __init__(self, state_file):
        self.path = state_file + ".lock"
        try:
            self._fd = open_no_follow(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise InvalidOption("state_file", "cannot open its lock file %s: %s" % (
                self.path, "it is a symbolic link" if err.errno == errno.ELOOP else err.strerror))
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._fd)
            self._fd = None
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise InvalidOption("state_file", "%s is in use by another running source (it"
                                    " holds %s); give each source its own state_file"
                                    % (state_file, self.path))
            raise InvalidOption("state_file", "cannot lock %s: %s" % (self.path, err.strerror))

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
