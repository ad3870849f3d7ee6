# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Part files: written once, hashed on the way, fsync'ed, and renamed into place together.

Every file of a bundle (and of a report) is written under a hidden ``.part`` name that carries
the writer's pid, hashed as it is written, fsync'ed, and only renamed into place by
``commit_files``, in an order that never shows a false bundle. A later run removes the parts
of dead processes only. Plain Python: no Ansible here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import os
import re
import shutil
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.chain import (  # noqa: F401 pylint: disable=unused-import
    file_sha256,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import SUMS_NAME
from ansible_collections.nirvana_labs.audit.plugins.module_utils.files import (
    fsync_dir,
    pid_alive,
    remove_quietly,
)

CHUNK = 1024 * 1024
# Bundles and reports hold user names and client IPs: owner and group only (a compliance
# group can read them, the world cannot). A stricter umask still applies.
FILE_MODE = 0o640
DIR_MODE = 0o750

# Part files carry the writer's pid so a later run removes only leftovers of dead processes.
_PART_RE = re.compile(r"^\.(?P<name>[A-Za-z0-9_.]+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.part$")


class HashingFile(object):
    """A binary file written once, front to back, hashed on the way.

    ``finish`` flushes and fsyncs it; ``abort`` removes it. The text adapter lets ``csv``
    write through it.
    """

    def __init__(self, path):
        self.path = path
        self._file = open(path, "wb", buffering=CHUNK)
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


def part_path(directory, name):
    """A fresh hidden part file in ``directory`` for the final file ``name``."""
    handle, path = tempfile.mkstemp(dir=directory, prefix=".%s.%d." % (name, os.getpid()),
                                    suffix=".part")
    os.close(handle)
    return path


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
        if not match or pid_alive(int(match.group("pid"))):
            continue
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            remove_quietly(path)
        removed.append(name)
    return removed


def write_bytes_part(directory, name, data):
    """A finished part file holding ``data``."""
    handle = HashingFile(part_path(directory, name))
    try:
        handle.write(data)
        return handle.finish()
    except Exception:
        handle.abort()
        raise


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def commit_files(directory, parts, remove=(), mode=FILE_MODE):
    """Put a new bundle state in place, in an order that never shows a false bundle.

    ``parts`` maps final names to finished part files (only the ones that changed),
    ``remove`` names files to delete. SHA256SUMS goes first (so an interruption leaves a
    bundle that fails verification rather than one that verifies stale data) and comes back
    last, after the data files and the manifest.
    """
    # Parts were created private (mkstemp's 0600); the bundle gets ``mode`` (owner and group
    # only by default), never more than the caller's umask allows.
    mode = mode & ~current_umask()
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


def read_lines(path):
    """The lines of a data file, as bytes, streamed."""
    with io.open(path, "rb", buffering=CHUNK) as handle:
        yield from handle
