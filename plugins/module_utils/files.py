# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Durable, private, link-safe file operations shared by the bundle writer, the event source's
state and the lookup's cache: each rule about files is written once, here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import tempfile


def fsync_dir(directory):
    """Flush a directory's entries (a rename in it) to disk. A platform or filesystem that has
    no directory handles or refuses fsync on one is not an error: the files themselves were
    synced, and that is as durable as it gets there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, data, mode=0o600):
    """Replace ``path`` with ``data`` (bytes) so that a reader or a crash sees the old content
    or the new, never a mix: a private temporary file beside it, flushed to disk, renamed over
    it, and the directory flushed so the rename itself survives. Nothing is left behind when
    the write fails (a full disk, a file size limit)."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp",
                                   dir=directory)
    try:
        # mkstemp creates the file 0600: private from the first byte.
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(directory)


def remove_quietly(path):
    """Remove a file if it is there."""
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def open_no_follow(path, flags, mode=0o600):
    """``os.open`` that refuses a symbolic link in the last component (ELOOP) instead of
    following it to a file chosen by whoever planted the link."""
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), mode)


def pid_alive(pid):
    """Whether a process with this id runs (this one included). A process of another user
    counts as alive: signalling it is refused, not impossible."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except OSError as err:
        return err.errno == errno.EPERM
    return True
