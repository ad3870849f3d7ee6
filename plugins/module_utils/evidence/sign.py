# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sign a bundle's manifest with an SSH key: ``ssh-keygen -Y sign`` in the collection's
namespace, from a private key file or from an ssh-agent holding the key of a public key file.

The key is never read here: ssh-keygen reads it. It is given an empty passphrase (``-P ""``)
and no askpass program, so a key with a passphrase and no agent fails at once with a clear
message instead of a prompt that hangs a play (on a terminal too). The messages name the key's
path, never its content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (
    NAMESPACE,
    ToolError,
    fingerprint,
    run_tool,
)

# No askpass program: a prompt is never wanted in a play (SSH_ASKPASS_REQUIRE: OpenSSH 8.4+;
# an empty SSH_ASKPASS for older ones).
_NO_PROMPT_ENV = {"SSH_ASKPASS_REQUIRE": "never", "SSH_ASKPASS": ""}


class SigningError(AuditLogError):
    """The manifest could not be signed; the message names the option and the key's path."""

    def __init__(self, option, message):
        super(SigningError, self).__init__("%s: %s" % (option, message))
        self.option = option


def signing_option(signing_key=None, signing_public_key=None):
    """``(option name, path, use agent)`` of the key to sign with, or None when unsigned.
    SigningError when both are given or the file cannot be read."""
    if signing_key and signing_public_key:
        raise SigningError("signing_key", "give signing_key or signing_public_key, not both")
    if not (signing_key or signing_public_key):
        return None
    option, path = (("signing_key", signing_key) if signing_key
                    else ("signing_public_key", signing_public_key))
    path = os.path.abspath(os.path.expanduser(path))
    if not (os.path.isfile(path) and os.access(path, os.R_OK)):
        raise SigningError(option, "%s is not a readable file" % path)
    if signing_public_key and not os.environ.get("SSH_AUTH_SOCK"):
        raise SigningError(option, "the private half of %s must be in an ssh-agent, but"
                           " SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add the key,"
                           " or give signing_key)" % path)
    return option, path, bool(signing_public_key)


def _failure(option, path, agent, stderr):
    """The sentence for a failed ssh-keygen: what to do about it, and its last word."""
    lines = [line.replace("Enter passphrase:", "").strip() for line in stderr.splitlines()]
    last = [line for line in lines if line and not line.startswith("Signing ")][-1:]
    if "passphrase" in stderr and not agent:
        return SigningError(option, "%s is protected by a passphrase and no ssh-agent holds it;"
                            " ssh-add it to an agent and give its public key as"
                            " signing_public_key, or use a key without a passphrase" % path)
    if agent:
        return SigningError(option, "the ssh-agent at SSH_AUTH_SOCK could not sign with the"
                            " key of %s (is it added, with ssh-add?)%s"
                            % (path, ": " + last[0][:200] if last else ""))
    return SigningError(option, "ssh-keygen could not sign with %s%s"
                        % (path, ": " + last[0][:200] if last else ""))


def sign_manifest(data, key, runner):
    """The SSH signature (armored bytes) of the manifest bytes ``data`` and the signing key's
    ``(type, fingerprint)``; ``key`` is what ``signing_option`` returned, ``runner`` runs
    ssh-keygen (see attestation.run_tool)."""
    option, path, agent = key
    workdir = tempfile.mkdtemp(prefix="nirvana-sign-")
    try:
        message = os.path.join(workdir, "manifest.json")
        with open(message, "wb") as handle:
            handle.write(data)
        # -P "": ssh-keygen tries the empty passphrase and never asks for another.
        argv = ["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-P", "", "-f", path]
        if agent:
            argv.insert(3, "-U")
        try:
            code, _out, err = run_tool(runner, argv + [message], env=_NO_PROMPT_ENV)
            signature_path = message + ".sig"
            if code != 0 or not os.path.isfile(signature_path):
                raise _failure(option, path, agent, err)
            with open(signature_path, "rb") as handle:
                signature = handle.read()
            return signature, fingerprint(signature_path, data, runner)
        except ToolError as exc:
            raise SigningError(option, str(exc))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
