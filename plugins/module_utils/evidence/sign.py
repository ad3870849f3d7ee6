# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sign a bundle's manifest with an SSH key: ``ssh-keygen -Y sign`` in the collection's
namespace, from a private key file or from an ssh-agent holding the key of a public key file.

The key is never read here: ssh-keygen reads it. It runs in a new session (no controlling
terminal), with stdin closed and no askpass program, so a key with a passphrase and no agent
fails at once with a clear message instead of a prompt that hangs a play. The messages name
the key's path, never its content.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import AuditLogError
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.attestation import (
    NAMESPACE,
    TOOL_TIMEOUT,
    fingerprint,
)

# What makes ssh-keygen ask someone: never wanted in a play.
_PROMPTING_ENV = ("SSH_ASKPASS", "DISPLAY", "WAYLAND_DISPLAY")


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


def _environment():
    env = dict((k, v) for k, v in os.environ.items() if k not in _PROMPTING_ENV)
    env["SSH_ASKPASS_REQUIRE"] = "never"
    return env


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


def sign_manifest(data, key):
    """The SSH signature (armored bytes) of the manifest bytes ``data`` and the signing key's
    ``(type, fingerprint)``; ``key`` is what ``signing_option`` returned."""
    option, path, agent = key
    workdir = tempfile.mkdtemp(prefix="nirvana-sign-")
    try:
        message = os.path.join(workdir, "manifest.json")
        with open(message, "wb") as handle:
            handle.write(data)
        argv = ["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-f", path]
        if agent:
            argv.insert(3, "-U")
        try:
            proc = subprocess.run(argv + [message], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=_environment(), timeout=TOOL_TIMEOUT,
                                  start_new_session=True, check=False)
        except FileNotFoundError:
            raise SigningError(option, "ssh-keygen is not installed (package openssh-client)")
        except subprocess.TimeoutExpired:
            raise SigningError(option, "ssh-keygen did not sign within %d s" % TOOL_TIMEOUT)
        signature_path = message + ".sig"
        if proc.returncode != 0 or not os.path.isfile(signature_path):
            raise _failure(option, path, agent, proc.stderr.decode("utf-8", "replace"))
        with open(signature_path, "rb") as handle:
            signature = handle.read()
        return signature, fingerprint(signature_path, data)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
