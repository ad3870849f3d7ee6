# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a bundle is read from, read so that no input can crash, hang or exhaust the verifier.

Files are opened without following a link and without blocking, anything but a regular file
is refused, the manifest and SHA256SUMS are read under a size cap, SHA256SUMS lines are parsed
strictly (each name once), and every manifest field verification uses is checked for its type.
Standard library only, like chain.py, which imports it (and which the offline script loads by
its path, this file with it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import hashlib
import json
import os
import re
import stat

MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
CHUNK = 1024 * 1024
# Far above anything the export writes (a few hundred bytes, a few kilobytes), far below what
# would exhaust memory.
MAX_SUMS_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 4 * 1024 * 1024

_SUMS_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_INSTANT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


class BundleFileError(Exception):
    """A file of a bundle that cannot be read as evidence; ``str()`` is the sentence."""


def file_sha256(path):
    """SHA-256 of a file, read in chunks; None when it does not exist."""
    sha = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK)
                if not chunk:
                    break
                sha.update(chunk)
    except (IOError, OSError) as err:
        if err.errno == errno.ENOENT:
            return None
        raise
    return sha.hexdigest()


def open_regular(path):
    """A descriptor of the regular file ``path``, opened read-only without following a link
    and without blocking (a FIFO would hang a reader, a device never end); raises
    BundleFileError naming the file otherwise."""
    name = os.path.basename(path)
    flags = os.O_RDONLY
    for flag in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC", "O_NOCTTY"):
        flags |= getattr(os, flag, 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ENOENT:
            raise BundleFileError("%s is missing" % name)
        if err.errno == errno.ELOOP or os.path.islink(path):
            raise BundleFileError("%s is a symbolic link; a bundle's files must be regular"
                                  " files" % name)
        raise BundleFileError("%s cannot be read: %s" % (name, err.strerror))
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise BundleFileError("%s is not a regular file (it is %s)" % (name, _kind(mode)))
    return fd


def _kind(mode):
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "not a file"


def read_regular(path, limit):
    """The bytes of the regular file ``path`` (see ``open_regular``), at most ``limit``."""
    fd = open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BundleFileError("%s is larger than %d bytes, far more than any the export writes"
                              % (os.path.basename(path), limit))
    return data


def sha256_regular(path):
    """SHA-256 of the regular file ``path`` (see ``open_regular``), read in chunks."""
    sha = hashlib.sha256()
    with os.fdopen(open_regular(path), "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            sha.update(chunk)
    return sha.hexdigest()


def parse_sums(data):
    """``{name: sha256}`` from SHA256SUMS bytes; raises ValueError on a malformed line or a
    name listed twice (``sha256sum -c`` would check it twice; a bundle lists each file once)."""
    result, lines = {}, {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line)
        if not match:
            raise ValueError("%s line %d is not '<sha256>  <file>'" % (SUMS_NAME, number))
        name = match.group(2)
        if name in result:
            raise ValueError("%s lists %s twice (lines %d and %d)"
                             % (SUMS_NAME, name, lines[name], number))
        result[name], lines[name] = match.group(1).lower(), number
    return result


def plain_name(name):
    return (isinstance(name, str) and name not in ("", ".", "..") and "\0" not in name
            and os.path.basename(name) == name and "/" not in name)


def manifest_facts(manifest):
    """``(facts, problems)``: the fields verification uses, each checked for its type.

    ``facts`` has ``files`` ({name: sha256}), ``window`` ({since, until}: an RFC 3339 string
    or None each) and ``previous`` (None, or {manifest_sha256, verified}); a field of the
    wrong type is reported in ``problems`` and left out of ``facts``.
    """
    problems = []
    # An absent field is empty (no data files, an open window); a field of the wrong type is
    # a problem.
    files = manifest.get("files", {})
    facts = {"files": {}, "window": {"since": None, "until": None}, "previous": None,
             "previous_invalid": False,
             # Declared in the signed manifest, so removing the companion is evident.
             "signed": isinstance(manifest.get("signature"), dict),
             "timestamped": isinstance(manifest.get("timestamp"), dict),
             "signed_at": _run_finished(manifest)}
    if not isinstance(files, dict):
        problems.append("%s has no object 'files'" % MANIFEST_NAME)
        files = {}
    for name in sorted(k for k in files if isinstance(k, str)):
        info = files[name]
        sha = info.get("sha256") if isinstance(info, dict) else None
        if not plain_name(name):
            problems.append("%s lists a file outside the bundle: %r" % (MANIFEST_NAME, name[:200]))
        elif not (isinstance(sha, str) and SHA256_RE.match(sha)):
            problems.append("%s gives no SHA-256 for %s" % (MANIFEST_NAME, name))
        else:
            facts["files"][name] = sha.lower()
    window = manifest.get("window", {})
    if not isinstance(window, dict):
        problems.append("%s has no object 'window'" % MANIFEST_NAME)
        window = {}
    for bound in ("since", "until"):
        value = window.get(bound)
        if value is not None and parse_instant(value) is None:
            problems.append("%s window.%s is not an RFC 3339 instant" % (MANIFEST_NAME, bound))
        else:
            facts["window"][bound] = value
    previous = manifest.get("previous")
    if isinstance(previous, dict):
        recorded, verified = previous.get("manifest_sha256"), previous.get("verified", True)
        signature = previous.get("signature_sha256")
        if signature is not None and not (isinstance(signature, str) and SHA256_RE.match(signature)):
            problems.append("%s previous.signature_sha256 is not a SHA-256" % MANIFEST_NAME)
            facts["previous_invalid"] = True
        elif not (isinstance(recorded, str) and SHA256_RE.match(recorded)):
            problems.append("%s previous.manifest_sha256 is not a SHA-256" % MANIFEST_NAME)
            facts["previous_invalid"] = True
        elif not isinstance(verified, bool):
            problems.append("%s previous.verified is not true or false" % MANIFEST_NAME)
            facts["previous_invalid"] = True
        else:
            facts["previous"] = {"manifest_sha256": recorded.lower(), "verified": verified,
                                 "signature_sha256": signature and signature.lower()}
    elif previous is not None:
        problems.append("%s previous is neither an object nor null" % MANIFEST_NAME)
        facts["previous_invalid"] = True
    return facts, problems


def _run_finished(manifest):
    run = manifest.get("run")
    value = run.get("finished_at") if isinstance(run, dict) else None
    return value if parse_instant(value) is not None else None


def parse_instant(text):
    """A naive UTC datetime from an RFC 3339 instant, or None when it is not one."""
    match = _INSTANT.match(text) if isinstance(text, str) else None
    if not match:
        return None
    day, clock, fraction, zone = match.groups()
    micros = int((fraction or ".0")[1:7].ljust(6, "0"))
    try:
        stamp = datetime.datetime.strptime("%s %s" % (day, clock), "%Y-%m-%d %H:%M:%S")
        stamp = stamp.replace(microsecond=micros)
        if zone not in ("Z", "z"):
            sign = 1 if zone[0] == "+" else -1
            hours, minutes = int(zone[1:3]), int(zone[4:6])
            stamp -= sign * datetime.timedelta(hours=hours, minutes=minutes)
    except (ValueError, OverflowError):  # 2026-13-45, or beyond what datetime holds
        return None
    return stamp


def json_object(data):
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def find_bundles(paths):
    """Bundle directories from ``paths``: each a bundle, or a directory holding bundles.

    A directory with a SHA256SUMS or manifest.json is a bundle; otherwise its subdirectories
    that are bundles are taken. Raises ValueError for a path that is neither.
    """
    found = []
    for path in paths:
        path = os.path.abspath(path)
        if os.path.basename(path) == MANIFEST_NAME and not os.path.isdir(path):
            path = os.path.dirname(path)
        if not os.path.isdir(path):
            raise ValueError("%s is not a directory" % path)
        if _is_bundle(path):
            found.append(path)
            continue
        inner = [os.path.join(path, name) for name in sorted(os.listdir(path))]
        inner = [p for p in inner if os.path.isdir(p) and _is_bundle(p)]
        if not inner:
            raise ValueError("%s holds no evidence bundle (no %s or %s in it or in its"
                             " subdirectories)" % (path, SUMS_NAME, MANIFEST_NAME))
        found.extend(inner)
    unique = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _is_bundle(path):
    # lexists: a bundle whose SHA256SUMS is a link or a FIFO is a bundle, and fails.
    return any(os.path.lexists(os.path.join(path, name)) for name in (SUMS_NAME, MANIFEST_NAME))
