# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What someone who can write the archive can do to a signed, timestamped chain, and the
verdict each gets, from chain.py, the stdlib script and the audit_log_verify module alike
(real ssh-keygen and openssl)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.nirvana_labs.audit.plugins.modules import audit_log_verify
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.signing_support import (  # noqa: E501
    LocalTSA,
    NAMESPACE,
    allowed_signers,
    fingerprint,
    make_key,
    verify_chain,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain import (  # noqa: E501
    SCRIPT,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_chain_attacks import (  # noqa: E501
    fix_sums,
    read,
    sha,
    write,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_sign import (  # noqa: E501
    PERIODS,
    signed_chain,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.modules.module_harness import (
    module_args,
)

SIG, TSR, MANIFEST = "manifest.json.sig", "manifest.json.tsr", "manifest.json"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    made = dict((name, make_key(base, name)) for name in ("alice", "bob", "mallory"))
    made["signers"] = allowed_signers(base / "allowed_signers", [
        ("alice@example.com", made["alice"] + ".pub", None),
        ("bob@example.com", made["bob"] + ".pub", None)])
    # alice's key was rotated to bob's on 15 October.
    made["rotation"] = allowed_signers(base / "rotation", [
        ("alice@example.com", made["alice"] + ".pub", 'valid-before="20261015"'),
        ("bob@example.com", made["bob"] + ".pub", 'valid-after="20261015"')])
    return made


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    authority = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield authority
    authority.stop()


@pytest.fixture
def judge(capsys):
    """The verdict of chain.py, checked equal to the script's and the module's."""
    def judged(bundles, allowed=None, required=False, ca=None, **bounds):
        result = verify_chain(bundles, allowed_signers=allowed,
                              require_signature=required, timestamp_ca=ca, **bounds)
        argv = [sys.executable, "-I", "-S", SCRIPT, "--json"] + list(bundles)
        for flag, value in (("--allowed-signers", allowed), ("--timestamp-ca", ca),
                            ("--since", bounds.get("since")), ("--until", bounds.get("until")),
                            ("--anchor", bounds.get("anchor"))):
            argv += [flag, value] if value else []
        argv += ["--require-signature"] if required else []
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == (0 if result["ok"] else 1), done.stderr
        assert json.loads(done.stdout) == json.loads(json.dumps(result))
        args = dict(bundles=list(bundles), fail_on_broken=False, allowed_signers=allowed,
                    require_signature=required, timestamp_ca_path=ca, **bounds)
        capsys.readouterr()
        with module_args(args):
            with pytest.raises(SystemExit):
                audit_log_verify.main()
        module = json.loads(capsys.readouterr().out)
        assert module["bundles"] == json.loads(json.dumps(result["bundles"]))
        assert module["first_broken"] == result["first_broken"] and module["ok"] == result["ok"]
        return result
    return judged


def edit_manifest(bundle, change):
    path = os.path.join(bundle, MANIFEST)
    manifest = json.loads(read(path).decode("utf-8"))
    change(manifest)
    write(path, (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode("utf-8"))


def sign(bundle, key):
    if os.path.exists(os.path.join(bundle, SIG)):
        os.remove(os.path.join(bundle, SIG))
    subprocess.run(["ssh-keygen", "-Y", "sign", "-n", NAMESPACE, "-f", key,
                    os.path.join(bundle, MANIFEST)], check=True, capture_output=True,
                   stdin=subprocess.DEVNULL)


def rewrite_period(paths, index, resign_with=None):
    """Rewrite period ``index`` (one entry forged), fix its SHA256SUMS and manifest, and
    recompute every later manifest's link (re-signing them all with ``resign_with``)."""
    bundle = paths[index]
    data = read(os.path.join(bundle, "audit_log.jsonl")).replace(b'"id": "', b'"id": "x', 1)
    write(os.path.join(bundle, "audit_log.jsonl"), data)
    os.remove(os.path.join(bundle, "audit_log.csv"))

    def forge(manifest):
        del manifest["files"]["audit_log.csv"]
        manifest["files"]["audit_log.jsonl"]["sha256"] = sha(data)
    edit_manifest(bundle, forge)
    for older, newer in zip(paths[index:], paths[index + 1:]):
        if resign_with:
            sign(older, resign_with)
        fix_sums(older)

        def relink(manifest, older=older):
            manifest["previous"]["manifest_sha256"] = sha(read(os.path.join(older, MANIFEST)))
            if os.path.exists(os.path.join(older, SIG)):
                manifest["previous"]["signature_sha256"] = sha(read(os.path.join(older, SIG)))
        edit_manifest(newer, relink)
    if resign_with:
        sign(paths[-1], resign_with)
    fix_sums(paths[-1])


def no_sums_of_companions(paths):
    # fix_sums lists every file; the export lists only the evidence.
    for bundle in paths:
        sums = read(os.path.join(bundle, "SHA256SUMS")).splitlines(True)
        write(os.path.join(bundle, "SHA256SUMS"),
              b"".join(line for line in sums if not line.rstrip().endswith((b".sig", b".tsr"))))


class TestSignedChainAttacks:

    def test_intact(self, tmp_path, keys, judge):
        signed_chain(tmp_path, keys["alice"])
        result = judge([str(tmp_path)], allowed=keys["signers"], required=True)
        assert result["ok"] is True and result["summary"].startswith("3 of 3 bundles valid")

    def test_a_period_rewritten_with_every_later_manifest_recomputed_fails_on_signature(
            self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, keys["alice"])
        rewrite_period(paths, 1)
        no_sums_of_companions(paths)
        assert verify_chain([str(tmp_path)])["bundles"][0]["files_ok"] is True
        result = judge([str(tmp_path)], allowed=keys["signers"], required=True)
        assert result["ok"] is False
        assert result["first_broken"]["bundle"] == paths[2]
        assert result["first_broken"]["file"] == SIG
        assert "is not a valid signature of manifest.json" in result["first_broken"]["problem"]
        assert [b["signature"] for b in result["bundles"]] == ["invalid", "invalid", "valid"]

    def test_a_chain_resigned_with_a_key_not_allowed_fails_naming_the_key(
            self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, keys["alice"])
        rewrite_period(paths, 1, resign_with=keys["mallory"])
        no_sums_of_companions(paths)
        result = judge([str(tmp_path)], allowed=keys["signers"])
        assert result["ok"] is False and result["first_broken"]["bundle"] == paths[2]
        assert fingerprint(keys["mallory"] + ".pub") in result["first_broken"]["problem"]
        assert "which the allowed signers file does not allow" in result["first_broken"]["problem"]
        assert [b["signature"] for b in result["bundles"]] == [
            "not_allowed", "not_allowed", "valid"]

    def test_signatures_deleted_fail_as_declared_by_the_manifest(self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, keys["alice"])
        for bundle in paths:
            os.remove(os.path.join(bundle, SIG))
        result = judge([str(tmp_path)])
        assert result["ok"] is False
        assert result["first_broken"]["problem"] == (
            "signature: manifest.json says it was signed, but manifest.json.sig is missing")

    def test_signatures_stripped_with_the_manifests_fail_when_required_only(
            self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, keys["alice"])
        previous = None
        for bundle in paths:
            os.remove(os.path.join(bundle, SIG))

            def strip(manifest, previous=previous):
                manifest.pop("signature")
                if previous:
                    manifest["previous"].pop("signature_sha256")
                    manifest["previous"]["manifest_sha256"] = sha(
                        read(os.path.join(previous, MANIFEST)))
            edit_manifest(bundle, strip)
            fix_sums(bundle)
            previous = bundle
        lenient = judge([str(tmp_path)], allowed=keys["signers"])
        assert lenient["ok"] is True
        assert [b["signature"] for b in lenient["bundles"]] == ["unsigned"] * 3
        strict = judge([str(tmp_path)], allowed=keys["signers"], required=True)
        assert strict["ok"] is False and strict["first_broken"]["bundle"] == paths[2]
        assert strict["first_broken"]["problem"] == (
            "signature: the bundle is not signed, and a signature is required")

    def test_a_signature_copied_from_another_bundle_fails(self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, keys["alice"])
        shutil.copy(os.path.join(paths[0], SIG), os.path.join(paths[1], SIG))
        result = judge([str(tmp_path)], allowed=keys["signers"])
        september = result["bundles"][1]
        assert september["signature"] == "invalid" and september["bad_files"] == [SIG]
        # The newer bundle's link records the signature it followed.
        assert "previous signature SHA-256" in result["bundles"][0]["problems"][0]

    def test_key_rotation_within_a_chain_verifies(self, tmp_path, keys, judge):
        signed_chain(tmp_path, [keys["alice"], keys["alice"], keys["bob"]])
        result = judge([str(tmp_path)], allowed=keys["rotation"], required=True)
        assert result["ok"] is True
        assert [b["signer"]["principal"] for b in result["bundles"]] == [
            "bob@example.com", "alice@example.com", "alice@example.com"]

    def test_a_key_valid_only_before_a_rotation_used_after_it_fails(self, tmp_path, keys, judge):
        paths = signed_chain(tmp_path, [keys["alice"], keys["alice"], keys["bob"]])
        # alice's old key, leaked, re-signs October, even with a back-dated run time.
        edit_manifest(paths[2], lambda m: m["run"].update(finished_at="2026-10-02T00:00:00Z"))
        sign(paths[2], keys["alice"])
        fix_sums(paths[2])
        no_sums_of_companions(paths)
        result = judge([str(tmp_path)], allowed=keys["rotation"], required=True)
        assert result["ok"] is False and result["first_broken"]["bundle"] == paths[2]
        assert "does not allow for namespace %s at 2026-11-01T00:00:00Z" % NAMESPACE in \
            result["first_broken"]["problem"]

    def test_a_timestamp_token_from_another_bundle_fails(self, tmp_path, keys, tsa, judge):
        paths = signed_chain(tmp_path, keys["alice"], timestamp_url=tsa.url,
                             timestamp_ca_path=tsa.ca_path)
        intact = judge([str(tmp_path)], allowed=keys["signers"], ca=tsa.ca_path)
        assert intact["ok"] is True
        assert all(b["timestamp"]["status"] == "valid" for b in intact["bundles"])
        shutil.copy(os.path.join(paths[0], TSR), os.path.join(paths[1], TSR))
        result = judge([str(tmp_path)], allowed=keys["signers"], ca=tsa.ca_path)
        assert result["ok"] is False and result["first_broken"]["bundle"] == paths[1]
        assert result["first_broken"]["file"] == TSR
        assert "does not verify against the time-stamping CA" in result["first_broken"]["problem"]

    @pytest.mark.parametrize("caught_by", ["period", "anchor"])
    def test_the_newest_bundle_deleted_is_caught(self, tmp_path, keys, judge, caught_by):
        paths = signed_chain(tmp_path, keys["alice"])
        anchor = sha(read(os.path.join(paths[2], MANIFEST)))
        shutil.rmtree(paths[2])
        bounds = ({"since": PERIODS[0][0] + "T00:00:00Z", "until": PERIODS[-1][1] + "T00:00:00Z"}
                  if caught_by == "period"
                  else {"anchor": anchor})
        result = judge([str(tmp_path)], allowed=keys["signers"], required=True, **bounds)
        assert result["ok"] is False and result["first_broken"]["bundle"] == paths[1]
        assert result["first_broken"]["problem"].startswith(
            "missing head" if caught_by == "period" else "anchor:")
