# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The export's last step: sign the final manifest and timestamp the signature.

The manifest declares beforehand what will lie beside it (``signature`` and ``timestamp``),
so a verifier knows a missing companion was removed, and its ``previous`` records the SHA-256
of the previous bundle's signature too, so a chain cannot be re-signed in part. A signature
and a token are made again only when the manifest changed or they are missing; a companion of
a manifest that changed and is no longer signed (or timestamped) is removed with it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (
    NAMESPACE,
    SIGNATURE_NAME,
    TIMESTAMP_NAME,
    check_timestamp,
    fingerprint,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    MANIFEST_NAME,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.parts import (
    file_sha256,
    write_bytes_part,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.sign import (
    sign_manifest,
    signing_option,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.timestamp import (
    request_token,
)

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def key_of(options):
    """The key to sign with (see ``sign.signing_option``), checked before any scan."""
    return signing_option(options.signing_key, options.signing_public_key)


def declare(manifest, key, options):
    """Record in ``manifest`` the companions this run will put beside it."""
    if key is not None:
        manifest["signature"] = {"file": SIGNATURE_NAME, "namespace": NAMESPACE,
                                 "format": "sshsig"}
    if options.timestamp_url:
        manifest["timestamp"] = {"file": TIMESTAMP_NAME, "format": "rfc3161",
                                 "over": SIGNATURE_NAME if key is not None else MANIFEST_NAME,
                                 "url": options.timestamp_url}


def link_previous(previous, previous_path):
    """Add the previous bundle's signature SHA-256 to the link, when it is signed."""
    if previous is None:
        return
    directory = (os.path.dirname(previous_path) if os.path.basename(previous_path) ==
                 MANIFEST_NAME else previous_path)
    digest = file_sha256(os.path.join(os.path.abspath(directory), SIGNATURE_NAME))
    if digest is not None:
        previous["signature_sha256"] = digest


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _existing(dest, name):
    path = os.path.join(dest, name)
    return _read(path) if os.path.isfile(path) and not os.path.islink(path) else None


def seal(dest, workdir, staged, key, options, check_mode, runner):
    """Sign and timestamp; ``staged`` is ``{to_commit, stale, changed_files, extra_parts}``
    from the staging step, extended here; ``runner`` runs ssh-keygen and openssl (see
    attestation.run_tool). Returns ``{signature, timestamp}`` for the result (each None when
    not asked for)."""
    to_commit, changed = staged["to_commit"], staged["changed_files"]
    renewed = MANIFEST_NAME in to_commit
    manifest = (_read(to_commit[MANIFEST_NAME].path) if renewed
                else _existing(dest, MANIFEST_NAME) or b"")
    for name, wanted in ((SIGNATURE_NAME, key is not None),
                         (TIMESTAMP_NAME, bool(options.timestamp_url))):
        if renewed and not wanted and os.path.lexists(os.path.join(dest, name)):
            staged["stale"].append(name)  # it vouches for a manifest that is gone
            changed.append(name)
    info = {"signature": None, "timestamp": None}
    signature = None if key is None or renewed else _existing(dest, SIGNATURE_NAME)
    if key is not None:
        path = os.path.join(dest, SIGNATURE_NAME)
        if signature is None and check_mode:
            changed.append(SIGNATURE_NAME)
        elif signature is None:
            signature, (key_type, fp) = sign_manifest(manifest, key, runner)
            _add(staged, workdir, SIGNATURE_NAME, signature)
            info["signature"] = {"path": path, "key_type": key_type, "fingerprint": fp}
        else:
            key_type, fp = fingerprint(path, manifest, runner)
            info["signature"] = {"path": path, "key_type": key_type, "fingerprint": fp}
    if options.timestamp_url:
        info["timestamp"] = _stamp(dest, workdir, staged, signature or manifest,
                                   renewed or SIGNATURE_NAME in to_commit, options, check_mode,
                                   runner)
    return info


def _stamp(dest, workdir, staged, content, renewed, options, check_mode, runner):
    path = os.path.join(dest, TIMESTAMP_NAME)
    if not renewed and os.path.isfile(path):
        when = check_timestamp(path, content, None, runner)["time"]
        return {"path": path, "time": when and when.strftime(TIME_FORMAT),
                "url": options.timestamp_url}
    if check_mode:
        staged["changed_files"].append(TIMESTAMP_NAME)
        return None
    token, when = request_token(content, options.timestamp_url, runner,
                                options.timestamp_ca_path,
                                timeout=options.timestamp_timeout,
                                validate_certs=options.validate_certs)
    _add(staged, workdir, TIMESTAMP_NAME, token)
    return {"path": path, "time": when.strftime(TIME_FORMAT), "url": options.timestamp_url}


def _add(staged, workdir, name, data):
    part = write_bytes_part(workdir, name, data)
    staged["extra_parts"].append(part)
    staged["to_commit"][name] = part
    staged["changed_files"].append(name)
