# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who signed a bundle and since when it exists: its SSH signature and RFC 3161 timestamp.

Standard library only, like chain.py, which imports it (both are inlined in the offline script). The
cryptography is OpenSSH's and OpenSSL's own: ``ssh-keygen -Y find-principals | verify |
check-novalidate`` and ``openssl ts -verify | -reply -text``, run without a shell, with a
timeout, fed the signed bytes on stdin. They run through a *runner* the caller gives: a module
passes ``tool_runner.module_runner(module)`` (AnsibleModule.run_command, which ansible-test
requires of code that runs on a managed host), the offline script its own on ``subprocess``.

The signature covers ``manifest.json`` (which records the previous manifest's and the previous
signature's SHA-256, so a chain cannot be re-signed in part); the timestamp token covers the
signature, or the manifest when the bundle is unsigned. The key is judged at the bundle's
signing time: the timestamp's time when one verified, else the later of the manifest's
``run.finished_at`` and its window's end (a signature cannot predate the period it proves).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import os
import re
import shutil
import tempfile

try:
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import bundle_inputs
except ImportError:  # loaded by its path, without the collection: the sibling by its path too
    import importlib.util as _util
    import sys as _sys

    bundle_inputs = _sys.modules.get("nirvana_audit_evidence_bundle_inputs")
    if bundle_inputs is None:  # chain.py registers the one it loaded; else load it here
        _SPEC = _util.spec_from_file_location(
            "nirvana_audit_evidence_bundle_inputs",
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "bundle_inputs.py"))
        bundle_inputs = _util.module_from_spec(_SPEC)
        _SPEC.loader.exec_module(bundle_inputs)

NAMESPACE = "nirvana-labs-audit-evidence@v1"
SIGNATURE_NAME = "manifest.json.sig"
TIMESTAMP_NAME = "manifest.json.tsr"
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_TIMESTAMP_BYTES = 256 * 1024
# A safety net against a tool that hangs; these answer in milliseconds.
TOOL_TIMEOUT = 60

_FINGERPRINT = re.compile(r"with (\S+) key (SHA256:[A-Za-z0-9+/=]+)")
_TS_TIME = re.compile(r"^Time stamp: (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{4})"
                      r" GMT\s*$", re.M)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ToolError(Exception):
    """A tool that is missing or did not answer; ``str()`` is the sentence."""


def run_tool(runner, argv, data=None, env=None):
    """``(returncode, stdout text, stderr text)`` of ``argv`` run by ``runner``; ``data`` is fed
    on stdin, ``env`` added to the environment. Raises ToolError when the tool is missing, cannot
    start or hangs.

    ``runner(argv, data, env)`` returns ``(returncode, stdout bytes, stderr bytes)``, with
    returncode None when it killed the tool after TOOL_TIMEOUT seconds.
    """
    if runner is None:
        raise ToolError("%s cannot be run: the caller gave no process runner" % argv[0])
    if shutil.which(argv[0]) is None:
        raise ToolError("%s is not installed (it comes with %s)"
                        % (argv[0], "openssh-client" if argv[0] == "ssh-keygen" else "openssl"))
    try:
        code, out, err = runner(argv, data, env)
    except OSError as exc:
        raise ToolError("%s could not be run: %s" % (argv[0], exc.strerror or exc))
    if code is None:
        raise ToolError("%s did not answer within %d s" % (argv[0], TOOL_TIMEOUT))
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def verify_time(stamp):
    """``ssh-keygen -O verify-time=`` for a naive UTC datetime."""
    return "verify-time=%sZ" % stamp.strftime("%Y%m%d%H%M%S")


def fingerprint(signature_path, data, runner):
    """``(key type, SHA256:... fingerprint)`` of the key that made a valid signature over
    ``data``, whoever it is; ``(None, None)`` when the signature does not verify at all."""
    argv = ["ssh-keygen", "-Y", "check-novalidate", "-n", NAMESPACE, "-s", signature_path]
    code, out, _err = run_tool(runner, argv, data)
    match = _FINGERPRINT.search(out)
    return (match.group(1), match.group(2)) if code == 0 and match else (None, None)


def check_signature(signature_path, data, allowed_signers, at, runner):
    """The verdict on ``signature_path`` over ``data``: ``{status, principal, fingerprint,
    key_type, problem}``; status ``valid``, ``unchecked`` (valid, but no allowed_signers to
    say whose), ``not_allowed`` or ``invalid``."""
    key_type, fp = fingerprint(signature_path, data, runner)
    verdict = {"status": "invalid", "principal": None, "fingerprint": fp, "key_type": key_type,
               "problem": None}
    if fp is None:
        verdict["problem"] = ("%s is not a valid signature of manifest.json (namespace %s)"
                              % (SIGNATURE_NAME, NAMESPACE))
        return verdict
    if allowed_signers is None:
        verdict["status"] = "unchecked"
        return verdict
    code, out, _err = run_tool(runner, ["ssh-keygen", "-Y", "find-principals", "-s",
                                        signature_path, "-f", allowed_signers, "-O",
                                        verify_time(at)])
    principals = [line.strip() for line in out.splitlines() if line.strip()] if code == 0 else []
    for principal in principals:
        code, out, _err = run_tool(runner, ["ssh-keygen", "-Y", "verify", "-n", NAMESPACE,
                                            "-s", signature_path, "-f", allowed_signers, "-I",
                                            principal, "-O", verify_time(at)], data)
        if code == 0:
            verdict.update(status="valid", principal=principal)
            return verdict
    verdict["status"] = "not_allowed"
    verdict["problem"] = ("%s is by %s key %s, which the allowed signers file does not allow for"
                          " namespace %s at %s" % (SIGNATURE_NAME, key_type, fp, NAMESPACE,
                                                   at.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return verdict


def _token_time(text):
    match = _TS_TIME.search(text)
    if not match or match.group(1) not in _MONTHS:
        return None
    month = _MONTHS.index(match.group(1)) + 1
    try:
        return datetime.datetime(int(match.group(6)), month, int(match.group(2)),
                                 int(match.group(3)), int(match.group(4)), int(match.group(5)))
    except ValueError:
        return None


def check_timestamp(token_path, data, ca_path, runner):
    """The verdict on the RFC 3161 response ``token_path`` over ``data``: ``{status, time,
    problem}``; status ``valid``, ``unchecked`` (no CA given: the time is read, not trusted)
    or ``invalid``. ``time`` is a naive UTC datetime or None."""
    code, out, _err = run_tool(runner, ["openssl", "ts", "-reply", "-in", token_path, "-text"])
    stamp = _token_time(out) if code == 0 else None
    verdict = {"status": "invalid", "time": stamp, "problem": None}
    if stamp is None:
        verdict["problem"] = "%s is not a readable RFC 3161 time-stamp response" % TIMESTAMP_NAME
        return verdict
    if ca_path is None:
        verdict["status"] = "unchecked"
        return verdict
    code, out, err = run_tool(runner, ["openssl", "ts", "-verify", "-digest",
                                       hashlib.sha256(data).hexdigest(), "-in", token_path,
                                       "-CAfile", ca_path])
    if code != 0 or "Verification: OK" not in out:
        # "<thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:": the reason only,
        # the same from one process to the next.
        reason = [line.split(":")[5] for line in err.splitlines()
                  if ":error:" in line and len(line.split(":")) > 5][-1:]
        verdict["problem"] = ("%s does not verify against the time-stamping CA %s for this"
                              " bundle's content%s" % (TIMESTAMP_NAME, ca_path,
                                                       ": " + reason[0][:200] if reason else ""))
        return verdict
    verdict["status"] = "valid"
    return verdict


def check_settings(allowed_signers=None, require_signature=False, timestamp_ca=None,
                   runner=None):
    """``{allowed_signers, require_signature, timestamp_ca, runner}`` checked; ValueError naming
    the bad argument. ``runner`` runs the tools (see run_tool); without one, a bundle that has a
    signature or a timestamp cannot be judged (ToolError)."""
    for name, path in (("allowed_signers", allowed_signers), ("timestamp_ca", timestamp_ca)):
        if path is not None and not os.path.isfile(path):
            raise ValueError("%s: %s is not a readable file" % (name, path))
    if require_signature and allowed_signers is None:
        raise ValueError("require_signature: give allowed_signers too, else any key would do")
    return {"allowed_signers": allowed_signers and os.path.abspath(allowed_signers),
            "require_signature": bool(require_signature),
            "timestamp_ca": timestamp_ca and os.path.abspath(timestamp_ca),
            "runner": runner}


def _read(directory, name, limit, out):
    """The bytes of the companion ``name``, or None (absent, or a problem recorded)."""
    path = os.path.join(directory, name)
    if not os.path.lexists(path):
        return None
    try:
        return bundle_inputs.read_regular(path, limit)
    except bundle_inputs.BundleFileError as err:
        out["problems"].append((str(err), name))
        return None


def _copy(workdir, name, data):
    # The tools read a private copy: the bytes judged are the bytes read, whatever happens to
    # the bundle meanwhile.
    path = os.path.join(workdir, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _signing_time(facts):
    times = [bundle_inputs.parse_instant(facts.get("signed_at")),
             bundle_inputs.parse_instant(facts["window"]["until"])]
    times = [t for t in times if t is not None]
    return max(times) if times else datetime.datetime.utcnow()


def _stamp(workdir, token, content, facts, settings, out):
    verdict = check_timestamp(_copy(workdir, TIMESTAMP_NAME, token), content,
                              settings["timestamp_ca"], settings["runner"])
    when = verdict["time"]
    out["timestamp"] = {"time": when and when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "status": verdict["status"]}
    end = bundle_inputs.parse_instant(facts["window"]["until"])
    if verdict["problem"]:
        out["problems"].append(("timestamp: " + verdict["problem"], TIMESTAMP_NAME))
        return None
    if end is not None and when < end:
        out["problems"].append(("timestamp: its time %s is before the window's end %s: it"
                                " attests another content or a bundle made too early"
                                % (out["timestamp"]["time"], facts["window"]["until"]),
                                TIMESTAMP_NAME))
        return None
    if verdict["status"] == "unchecked":
        out["notes"].append("the timestamp says %s; give timestamp_ca to verify it"
                            % out["timestamp"]["time"])
        return None
    return when


def attest(directory, data, facts, settings):
    """Signature and timestamp of the bundle in ``directory`` whose manifest bytes are
    ``data`` (``facts`` its checked fields, ``settings`` from ``check_settings``).

    Returns ``{signature, signer, timestamp, signature_sha256, problems, notes}``;
    ``problems`` are ``(sentence, file)`` pairs. Raises ToolError when a tool is missing.
    """
    out = {"signature": "unsigned", "signer": None, "timestamp": None,
           "signature_sha256": None, "problems": [], "notes": []}
    signature = _read(directory, SIGNATURE_NAME, MAX_SIGNATURE_BYTES, out)
    token = _read(directory, TIMESTAMP_NAME, MAX_TIMESTAMP_BYTES, out)
    if signature is None and facts.get("signed"):
        out["signature"] = "missing"
        out["problems"].append(("signature: %s says it was signed, but %s is missing"
                                % (bundle_inputs.MANIFEST_NAME, SIGNATURE_NAME), SIGNATURE_NAME))
    elif signature is None and settings["require_signature"]:
        out["problems"].append(("signature: the bundle is not signed, and a signature is"
                                " required", SIGNATURE_NAME))
    if token is None and facts.get("timestamped"):
        out["problems"].append(("timestamp: %s says it was timestamped, but %s is missing"
                                % (bundle_inputs.MANIFEST_NAME, TIMESTAMP_NAME), TIMESTAMP_NAME))
    workdir = tempfile.mkdtemp(prefix="nirvana-verify-")
    try:
        at = None
        if token is not None:
            at = _stamp(workdir, token, signature if signature is not None else data, facts,
                        settings, out)
        if signature is not None:
            _sign_verdict(_copy(workdir, SIGNATURE_NAME, signature), data,
                          at or _signing_time(facts), settings, out)
            out["signature_sha256"] = hashlib.sha256(signature).hexdigest()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def _sign_verdict(path, data, at, settings, out):
    verdict = check_signature(path, data, settings["allowed_signers"], at, settings["runner"])
    out["signature"] = verdict["status"]
    if verdict["fingerprint"]:
        out["signer"] = {"principal": verdict["principal"], "fingerprint": verdict["fingerprint"]}
    if verdict["problem"]:
        out["problems"].append(("signature: " + verdict["problem"], SIGNATURE_NAME))
    elif verdict["status"] == "unchecked":
        out["notes"].append("signed by key %s; give allowed_signers to check who that is"
                            % verdict["fingerprint"])
