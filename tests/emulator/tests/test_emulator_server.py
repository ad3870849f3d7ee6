# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stats, connections, keep-alive, TLS, rate limit, the admin API and serve.py as a process."""

import hashlib
import json
import os
import signal
import ssl
import subprocess
import sys
import threading

import pytest

from audit_emulator import Dataset
from audit_emulator.server import Emulator

from emulator_testlib import API_KEY, EMULATOR_DIR, ENTRIES, NOW, SEED, Client
from launcher import EmulatorProcess

LIST = "/v1/audit_logs"
SERVE = os.path.join(EMULATOR_DIR, "serve.py")


def test_keep_alive_uses_one_connection(emu):
    c = Client(emu.url)
    for dummy in range(5):
        assert c.get(LIST).status == 200
    c.close()
    stats = emu.stats.snapshot()
    assert stats["connections"] == 1 and stats["requests"] == 5
    assert len(set(e["connection"] for e in stats["log"])) == 1


def test_without_keep_alive_every_request_is_a_connection(emu):
    for dummy in range(4):
        c = Client(emu.url)
        assert c.get(LIST).status == 200
        c.close()
    c = Client(emu.url)
    for dummy in range(3):  # the server closes after each answer; http.client reconnects
        resp = c.get(LIST, headers={"Connection": "close"})
        assert resp.status == 200 and resp.header("Connection") == "close"
    c.close()
    stats = emu.stats.snapshot()
    assert stats["connections"] == 7 and stats["requests"] == 7
    assert len(set(e["connection"] for e in stats["log"])) == 7


def test_requests_by_path_status_and_hashed_authorization(emu, client, admin, dataset):
    client.get(LIST)
    client.get(LIST, {"limit": 5})
    client.get(LIST + "/" + dataset.entry(0)["id"])
    client.get("/v1/nope")
    Client(emu.url, api_key="other").get(LIST)
    admin("GET", "config")
    status, stats = admin("GET", "stats")
    assert status == 200
    item = LIST + "/" + dataset.entry(0)["id"]
    assert stats["by_path"] == {LIST: {"200": 1, "422": 1, "401": 1}, item: {"200": 1}, "/v1/nope": {"404": 1}}
    assert stats["by_status"] == {"200": 2, "422": 1, "404": 1, "401": 1}
    assert stats["requests"] == 5  # the admin calls are not counted
    digest = hashlib.sha256(("Bearer " + API_KEY).encode()).hexdigest()
    assert set(stats["authorization_seen"]) == {digest, hashlib.sha256(b"Bearer other").hexdigest()}
    first = stats["log"][0]
    assert (first["method"], first["path"], first["query"], first["status"]) == ("GET", LIST, "", 200)
    assert stats["log"][1]["raw_path"] == LIST + "?limit=5"
    assert API_KEY not in json.dumps(stats)


def test_reset_clears_counters_log_and_faults(emu, client, admin):
    client.get(LIST)
    admin("PUT", "faults", [{"kind": "status", "status": 500}])
    assert admin("POST", "reset") == (200, {"reset": True})
    dummy, stats = admin("GET", "stats")
    assert (stats["requests"], stats["log"], stats["authorization_seen"]) == (0, [], [])
    assert client.get(LIST).status == 200  # faults are gone
    # The connection was opened before the reset: it is not counted as a new one.
    assert emu.stats.snapshot()["connections"] == 0


def test_truth_endpoint_is_the_ground_truth(admin, dataset):
    status, body = admin("GET", "truth", params={"status_code_min": 500, "sort": "created_at:asc", "limit": 10})
    assert status == 200
    assert body["items"] == dataset.select({"status_code_min": 500}, "created_at:asc")
    assert body["total_count"] == len(body["items"])
    status, body = admin("GET", "truth", params={"actor_type": "user", "ids_only": "true"})
    assert body["ids"] == [e["id"] for e in dataset.select({"actor_type": "user"})]
    status, body = admin("GET", "truth", params={"actor_type": "robot"})
    assert status == 422 and body["error"] == "validation_error"


def test_config_and_admin_errors(admin):
    status, config = admin("GET", "config")
    assert status == 200
    assert (config["seed"], config["entries"], config["now"], config["api"], config["rate_limit"]) == \
        (SEED, ENTRIES, NOW, "2026-08", None)
    assert admin("GET", "nope")[0] == 404
    assert admin("POST", "stats")[0] == 405
    assert admin("PUT", "config", {"colour": "red"})[0] == 400
    assert admin("PUT", "config", {"rate_limit": -1})[0] == 400
    assert admin("PUT", "config", {"api": "1999"})[0] == 400
    assert admin("GET", "")[1]["endpoints"]


def test_connect_latency_is_configured_and_refuses_bad_values(admin, client):
    assert admin("GET", "config")[1]["connect_latency_ms"] == 0
    assert admin("PUT", "config", {"connect_latency_ms": "fast"})[0] == 400
    assert admin("PUT", "config", {"connect_latency_ms": -5})[0] == 400
    assert admin("PUT", "config", {"connect_latency_ms": 2})[1]["connect_latency_ms"] == 2
    try:
        assert client.get(LIST).status == 200  # served, after the set-up cost
    finally:
        admin("PUT", "config", {"connect_latency_ms": 0})


def test_rate_limit_answers_429_with_retry_after(admin, client):
    assert admin("PUT", "config", {"rate_limit": 1})[1]["rate_limit"] == 1
    got = [client.get(LIST) for dummy in range(5)]
    assert got[0].status == 200
    limited = [r for r in got if r.status == 429]
    assert limited, "five requests in a row must exceed one per second"
    assert all(int(r.header("Retry-After")) >= 1 and r.json()["error"] == "rate_limited" for r in limited)


def test_many_concurrent_clients(emu, dataset):
    errors, expected = [], dataset.select({})[:10]

    def worker():
        c = Client(emu.url)
        try:
            for dummy in range(15):
                resp = c.get(LIST)
                if resp.status != 200 or resp.json()["items"] != expected:
                    errors.append(resp.status)
        except Exception as err:  # pylint: disable=broad-except
            errors.append(repr(err))
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for dummy in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    stats = emu.stats.snapshot()
    assert stats["requests"] == 120 and stats["connections"] == 8


@pytest.fixture(scope="module")
def tls_emu():
    emu = Emulator(api_key=API_KEY, dataset=Dataset(seed=1, entries=200, now=NOW), tls=True).start()
    yield emu
    emu.stop()


def test_tls_with_the_ca(tls_emu):
    assert tls_emu.url.startswith("https://127.0.0.1:") and os.path.exists(tls_emu.ca_path)
    ctx = ssl.create_default_context(cafile=tls_emu.ca_path)
    c = Client(tls_emu.url, ssl_context=ctx)
    assert c.get(LIST).status == 200
    c.close()
    c = Client(tls_emu.url.replace("127.0.0.1", "localhost"), ssl_context=ctx)
    assert c.get(LIST).status == 200
    c.close()
    c = Client(tls_emu.redirect_url, ssl_context=ctx)
    assert c.get(LIST).status == 200
    c.close()


def test_tls_without_the_ca_fails_verification(tls_emu):
    before = tls_emu.stats.snapshot()
    c = Client(tls_emu.url, ssl_context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        c.get(LIST)
    c.close()
    after = tls_emu.stats.snapshot()
    # Accepted (counted before the handshake), but no request ever arrived on it.
    assert after["connections_accepted"] == before["connections_accepted"] + 1
    assert after["requests"] == before["requests"]


def _start(*args):
    emulator = EmulatorProcess(args).start()
    return emulator, emulator.info


def _stop(emulator, sig=signal.SIGTERM):
    """Its exit code and what it printed after the ready line."""
    code = emulator.stop(sig, timeout=15)
    out = emulator.stdout_text().split("\n", 1)[1]
    emulator.close()
    return code, out


def test_serve_py_prints_one_json_line_and_stops_cleanly(tmp_path):
    rules = tmp_path / "faults.yml"
    rules.write_text("- kind: status\n  status: 503\n  times: 1\n  retry_after: 1\n")
    proc, info = _start("--entries", "500", "--seed", "3", "--now", NOW, "--api-key", "k1",
                        "--faults", str(rules))
    try:
        assert set(["url", "api_key", "ca_path", "pid", "now", "seed", "entries", "api", "redirect_url"]) <= set(info)
        assert (info["api_key"], info["ca_path"], info["pid"], info["now"], info["seed"], info["entries"],
                info["api"]) == ("k1", None, proc.process.pid, NOW, 3, 500, "2026-08")
        c = Client(info["url"], api_key="k1")
        assert c.get(LIST).status == 503
        page = c.get(LIST).json()
        assert page["items"] == Dataset(seed=3, entries=500, now=NOW).select({})[:10]
        c.close()
    finally:
        code, out = _stop(proc)
    assert code == 0 and out == ""


def test_serve_py_sigint_tls_seed_api_and_random_key():
    proc, info = _start("--entries", "50", "--tls", "--api", "seed", "--now", NOW)
    try:
        assert info["api"] == "seed" and len(info["api_key"]) >= 20
        assert info["url"].startswith("https://") and os.path.exists(info["ca_path"])
        c = Client(info["url"], api_key=info["api_key"], ssl_context=ssl.create_default_context(cafile=info["ca_path"]))
        assert c.get(LIST, {"status_code_min": 500}).json()["pagination"]["total_count"] == 50
        c.close()
    finally:
        code, dummy = _stop(proc, signal.SIGINT)
    assert code == 0
    assert not os.path.exists(info["ca_path"])  # the throwaway CA is gone with the server


def test_serve_py_refuses_bad_faults(tmp_path):
    rules = tmp_path / "faults.json"
    rules.write_text('[{"kind": "meteor"}]')
    proc = subprocess.run([sys.executable, SERVE, "--faults", str(rules)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    assert proc.returncode == 2 and proc.stdout == "" and "meteor" in proc.stderr
