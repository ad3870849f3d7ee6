# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file rules shared by the bundle, the event source's state and the lookup's cache."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils import files


def test_atomic_write_replaces_the_file_privately(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    files.atomic_write(str(path), b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ["state.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        files.atomic_write(str(path), b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(str(tmp_path)) == ["state.json"]


def test_fsync_dir_tolerates_a_filesystem_that_refuses(tmp_path, monkeypatch):
    def refuse(fd):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "fsync", refuse)
    files.fsync_dir(str(tmp_path))  # no error
    files.fsync_dir(str(tmp_path / "missing"))


def test_open_no_follow_refuses_a_symlink(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError) as err:
        files.open_no_follow(str(link), os.O_RDWR | os.O_CREAT)
    assert err.value.errno == errno.ELOOP
    os.close(files.open_no_follow(str(target), os.O_RDWR))


def test_pid_alive():
    assert files.pid_alive(os.getpid())
    assert files.pid_alive(1)  # another user's process counts as alive
    assert not files.pid_alive(2 ** 22 + 12345)
