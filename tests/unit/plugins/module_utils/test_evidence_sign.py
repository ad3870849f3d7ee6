# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Signed and timestamped bundles, with real ssh-keygen and openssl: the export signs the final
manifest (a key file or an agent's key, never a prompt), timestamps the signature with a local
RFC 3161 authority, and the verifier reports who signed each bundle and when."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
import pty
import select
import signal
import subprocess
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence import chain
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.sign import (
    SigningError,
    sign_manifest,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.timestamp import (
    TimestampError,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.signing_support import (  # noqa: E501
    LocalTSA,
    allowed_signers,
    fingerprint,
    make_key,
    tool_runner,
    verify_chain,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_bundle import (  # noqa: E501
    make_entries,
)
from ansible_collections.nirvana_labs.audit.tests.unit.plugins.module_utils.test_evidence_export import (  # noqa: E501
    FakeClient,
    export,
)

UTC = datetime.timezone.utc
PERIODS = (("2026-08-01", "2026-09-01"), ("2026-09-01", "2026-10-01"),
           ("2026-10-01", "2026-11-01"))


def done_at(until):
    """The export of a period runs a day after it ends."""
    return datetime.datetime.strptime(until, "%Y-%m-%d").replace(tzinfo=UTC) + \
        datetime.timedelta(days=1)


def signed_chain(base, keys, periods=PERIODS, entries=5, **extra):
    """One bundle per period under ``base``; ``keys`` gives each period's signing key (one
    for all, or a list)."""
    keys = keys if isinstance(keys, list) else [keys] * len(periods)
    previous, paths = None, []
    for (since, until), key in zip(periods, keys):
        dest = base / since[:7]
        export(FakeClient(make_entries(entries)), dest, since=since, until=until,
               previous=previous, now=done_at(until), signing_key=key, **extra)
        previous = str(dest)
        paths.append(str(dest))
    return paths


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = tmp_path_factory.mktemp("keys")
    made = dict((name, make_key(base, name)) for name in ("alice", "bob", "mallory"))
    made["locked"] = make_key(base, "locked", passphrase="correct horse")
    made["signers"] = allowed_signers(base / "allowed_signers", [
        ("alice@example.com", made["alice"] + ".pub", None),
        ("bob@example.com", made["bob"] + ".pub", None)])
    return made


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    authority = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield authority
    authority.stop()


class TestSigning:

    def test_a_signed_chain_verifies_and_names_each_signer(self, tmp_path, keys):
        paths = signed_chain(tmp_path, keys["alice"])
        result = verify_chain([str(tmp_path)], allowed_signers=keys["signers"],
                              require_signature=True)
        assert result["ok"] is True, result["first_broken"]
        assert [b["signature"] for b in result["bundles"]] == ["valid"] * 3
        assert all(b["signer"] == {"principal": "alice@example.com",
                                   "fingerprint": fingerprint(keys["alice"] + ".pub")}
                   for b in result["bundles"])
        manifest = json.loads(open(os.path.join(paths[1], "manifest.json")).read())
        assert manifest["signature"]["namespace"] == "nirvana-labs-audit-evidence@v1"
        assert manifest["previous"]["signature_sha256"] == chain.file_sha256(
            os.path.join(paths[0], "manifest.json.sig"))

    def test_the_export_reports_the_key_by_fingerprint_only(self, tmp_path, keys):
        result = export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["alice"])
        assert result["signature"]["fingerprint"] == fingerprint(keys["alice"] + ".pub")
        assert "manifest.json.sig" in result["changed_files"]
        key_text = open(keys["alice"]).read()
        body = key_text.splitlines()[1]
        assert body not in json.dumps(result)

    def test_a_rerun_keeps_the_signature_and_is_unchanged(self, tmp_path, keys):
        export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["alice"])
        before = open(str(tmp_path / "b" / "manifest.json.sig"), "rb").read()
        again = export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["alice"])
        assert again["changed"] is False
        assert open(str(tmp_path / "b" / "manifest.json.sig"), "rb").read() == before

    def test_an_empty_period_still_gets_a_signed_bundle(self, tmp_path, keys):
        result = export(FakeClient([]), tmp_path / "quiet", signing_key=keys["alice"])
        assert result["written"] == 0 and result["signature"] is not None
        verdict = verify_chain([str(tmp_path / "quiet")], allowed_signers=keys["signers"],
                               require_signature=True)
        assert verdict["ok"] is True and verdict["bundles"][0]["signature"] == "valid"

    def test_a_key_with_a_passphrase_and_no_agent_fails_at_once_without_a_prompt(
            self, tmp_path, keys, monkeypatch):
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        with pytest.raises(SigningError) as err:
            export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["locked"])
        assert "protected by a passphrase and no ssh-agent holds it" in str(err.value)
        assert keys["locked"] in str(err.value)
        assert not os.path.exists(str(tmp_path / "b" / "manifest.json"))

    def test_a_key_with_a_passphrase_never_prompts_on_a_terminal(self, tmp_path, keys):
        # A play started from a terminal: ssh-keygen could ask on /dev/tty and hang it.
        outcome = tmp_path / "outcome"
        pid, terminal = pty.fork()
        if pid == 0:  # the child: a new session whose controlling terminal is the pty
            try:
                try:
                    sign_manifest(b"{}", ("signing_key", keys["locked"], False), tool_runner())
                    outcome.write_text("signed")
                except SigningError as err:
                    outcome.write_text(str(err))
            finally:
                os._exit(0)
        shown, deadline = b"", time.monotonic() + 30
        while time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.2)[0]:
                try:
                    shown += os.read(terminal, 4096)
                except OSError:  # the child closed the terminal
                    pass
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("signing waited on the terminal: %r" % shown)
        os.close(terminal)
        assert b"passphrase" not in shown.lower()
        assert "protected by a passphrase and no ssh-agent holds it" in outcome.read_text()

    def test_an_agent_key_signs_with_the_public_key_file(self, tmp_path, keys):
        agent = subprocess.run(["ssh-agent", "-s"], stdout=subprocess.PIPE, check=True,
                               text=True).stdout
        env = dict(line.split(";")[0].split("=", 1) for line in agent.splitlines()
                   if "=" in line.split(";")[0])
        try:
            subprocess.run(["ssh-add", keys["bob"]], env=dict(os.environ, **env), check=True,
                           stdin=subprocess.DEVNULL, capture_output=True)
            old = os.environ.get("SSH_AUTH_SOCK")
            os.environ["SSH_AUTH_SOCK"] = env["SSH_AUTH_SOCK"]
            try:
                export(FakeClient(make_entries(3)), tmp_path / "b",
                       signing_public_key=keys["bob"] + ".pub")
            finally:
                os.environ.pop("SSH_AUTH_SOCK")
                if old is not None:
                    os.environ["SSH_AUTH_SOCK"] = old
        finally:
            subprocess.run(["kill", env["SSH_AGENT_PID"]], check=False)
        result = verify_chain([str(tmp_path / "b")], allowed_signers=keys["signers"])
        assert result["ok"] is True
        assert result["bundles"][0]["signer"]["principal"] == "bob@example.com"

    def test_an_agent_key_without_an_agent_is_a_clear_error(self, tmp_path, keys, monkeypatch):
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        with pytest.raises(SigningError, match="SSH_AUTH_SOCK is not set"):
            export(FakeClient(make_entries(3)), tmp_path / "b",
                   signing_public_key=keys["bob"] + ".pub")

    def test_both_keys_are_refused(self, tmp_path, keys):
        with pytest.raises(SigningError, match="not both"):
            export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["alice"],
                   signing_public_key=keys["bob"] + ".pub")

    def test_require_signature_needs_allowed_signers(self, tmp_path, keys):
        signed_chain(tmp_path, keys["alice"], PERIODS[:1])
        with pytest.raises(ValueError, match="require_signature"):
            verify_chain([str(tmp_path)], require_signature=True)

    def test_without_allowed_signers_a_signature_is_only_checked_for_integrity(
            self, tmp_path, keys):
        signed_chain(tmp_path, keys["mallory"], PERIODS[:1])
        bundle = verify_chain([str(tmp_path)])["bundles"][0]
        assert bundle["verdict"] == "ok" and bundle["signature"] == "unchecked"
        assert bundle["signer"]["principal"] is None
        assert "give allowed_signers" in bundle["notes"][0]


class TestTimestamps:

    def test_the_signature_is_timestamped_and_the_time_verified(self, tmp_path, keys, tsa):
        result = export(FakeClient(make_entries(3)), tmp_path / "b", since="2026-08-01",
                        until="2026-09-01", signing_key=keys["alice"], timestamp_url=tsa.url,
                        timestamp_ca_path=tsa.ca_path)
        assert result["timestamp"]["time"] >= "2026-09-01"
        verdict = verify_chain([str(tmp_path / "b")], allowed_signers=keys["signers"],
                               timestamp_ca=tsa.ca_path)
        assert verdict["ok"] is True, verdict["first_broken"]
        assert verdict["bundles"][0]["timestamp"] == {"time": result["timestamp"]["time"],
                                                      "status": "valid"}

    def test_an_unsigned_bundle_gets_a_token_over_its_manifest(self, tmp_path, tsa):
        export(FakeClient(make_entries(3)), tmp_path / "b", since="2026-08-01",
               until="2026-09-01", timestamp_url=tsa.url, timestamp_ca_path=tsa.ca_path)
        bundle = verify_chain([str(tmp_path / "b")], timestamp_ca=tsa.ca_path)["bundles"][0]
        assert bundle["verdict"] == "ok" and bundle["timestamp"]["status"] == "valid"
        assert bundle["signature"] == "unsigned"

    def test_a_token_for_a_window_not_yet_ended_fails(self, tmp_path, tsa):
        later = datetime.datetime(2099, 1, 2, tzinfo=UTC)
        export(FakeClient(make_entries(3)), tmp_path / "b", since="2098-12-01",
               until="2099-01-01", now=later, timestamp_url=tsa.url)
        bundle = verify_chain([str(tmp_path / "b")], timestamp_ca=tsa.ca_path)["bundles"][0]
        assert bundle["verdict"] == "failed"
        assert "before the window's end 2099-01-01" in bundle["problems"][0]

    def test_a_token_against_another_ca_fails(self, tmp_path, keys, tsa, tmp_path_factory):
        other = LocalTSA(tmp_path_factory.mktemp("other-tsa"))
        try:
            export(FakeClient(make_entries(3)), tmp_path / "b", since="2026-08-01",
                   until="2026-09-01", signing_key=keys["alice"], timestamp_url=other.url)
        finally:
            other.stop()
        bundle = verify_chain([str(tmp_path / "b")],
                              timestamp_ca=tsa.ca_path)["bundles"][0]
        assert bundle["verdict"] == "failed" and bundle["bad_files"] == ["manifest.json.tsr"]

    def test_an_authority_that_fails_fails_the_export_and_writes_nothing(self, tmp_path, keys):
        with pytest.raises(TimestampError, match="cannot be reached"):
            export(FakeClient(make_entries(3)), tmp_path / "b", signing_key=keys["alice"],
                   timestamp_url="http://127.0.0.1:9/tsr")
        assert not os.path.exists(str(tmp_path / "b" / "manifest.json"))
