# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgresStore against a real server: round trip, journal, fencing, take-over, outages and
the errors a user can hit at start."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller import pg_lease
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_lease import (
    STANDBY_INTERVAL,
    TAKEOVER_BOUND,
    LeadershipLost,
    StoreUnavailable,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
    JOURNAL_TABLE,
    PostgresStore,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import Checkpoint

import pg_server

UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 11, 1, 8, 0, 0, tzinfo=UTC)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def opened(pg, key):
    store = PostgresStore(pg.dsn(), key).open()
    return store


def journal_rows(pg, key):
    with pg.superuser() as conn:
        return conn.execute("SELECT count(*) FROM %s WHERE source_key = %%s" % JOURNAL_TABLE,
                            (key,)).fetchone()[0]


def test_round_trip_and_journal(pg, fresh_key):
    store = opened(pg, fresh_key)
    assert store.lead() is False  # a first token, nothing to continue
    assert store.load() == (None, [])
    store.save(Checkpoint(at(0), {"a": at(1)}))
    store.record("b", at(2.5))
    store.record("sha256:" + "0" * 64, at(3))
    assert journal_rows(pg, fresh_key) == 2
    store.close()

    again = opened(pg, fresh_key)
    assert again.lead() is False
    checkpoint, records = again.load()
    assert checkpoint.watermark == at(0) and checkpoint.sent == {"a": at(1)}
    assert records == [("b", at(2.5)), ("sha256:" + "0" * 64, at(3))]
    checkpoint.sent.update(records)
    checkpoint.forget_before(at(2))
    again.save(checkpoint)
    assert journal_rows(pg, fresh_key) == 0  # the save cleared the key's journal
    loaded, records = again.load()
    assert (loaded.watermark, loaded.sent, records) == (at(2), {"b": at(2.5),
                                                                "sha256:" + "0" * 64: at(3)}, [])
    again.close()


def test_one_leader_per_key_and_keys_are_independent(pg, fresh_key):
    first, second = opened(pg, fresh_key), opened(pg, fresh_key)
    other = opened(pg, fresh_key + "x")
    try:
        assert first.lead() is False
        assert second.lead() is None  # standby
        assert other.lead() is False  # another key leads on its own
        with pytest.raises(LeadershipLost):
            second.record("a", at(1))  # a standby writes nothing
        first.close()  # the server ends its session (and lock) just after
        assert _wait_to_lead(second, expect=False)  # took over: a new token
    finally:
        for store in (first, second, other):
            store.close()


def test_a_stale_leader_can_no_longer_move_the_checkpoint(pg, fresh_key):
    old, new = opened(pg, fresh_key), None
    try:
        old.lead()
        old.save(Checkpoint(at(0), {"a": at(1)}))
        stale = old.fence
        assert pg.terminate_sessions() >= 1  # the old leader's session (and lock) is gone
        new = opened(pg, fresh_key)
        assert new.lead() is False
        new.save(Checkpoint(at(5), {}))
        # The old leader reconnects with its old token, as after a network split.
        old.lease.drop()
        old.lease.connect()
        old.lease.fence = stale
        with pytest.raises(LeadershipLost):
            old.record("b", at(6))
        with pytest.raises(LeadershipLost):
            old.save(Checkpoint(at(9), {"z": at(9)}))
        assert old.lead() is None  # and it cannot lead while the new one does
        checkpoint, records = new.load()
        assert (checkpoint.watermark, checkpoint.sent, records) == (at(5), {}, [])
    finally:
        old.close()
        if new is not None:
            new.close()


def test_connection_lost_and_nobody_took_over_keeps_the_memory(pg, fresh_key):
    store = opened(pg, fresh_key)
    try:
        store.lead()
        store.record("a", at(1))
        pg.terminate_sessions()
        with pytest.raises(StoreUnavailable):
            store.record("b", at(2))
        assert store.lead() is True  # its previous token was still the key's
        store.save(Checkpoint(at(0), {"a": at(1), "b": at(2)}))
        assert store.load()[0].sent == {"a": at(1), "b": at(2)}
    finally:
        store.close()


def test_standby_takes_over_when_the_leaders_session_is_terminated(pg, fresh_key):
    leader, standby = opened(pg, fresh_key), opened(pg, fresh_key)
    try:
        leader.lead()
        leader.save(Checkpoint(at(0), {"a": at(1)}))
        assert standby.lead() is None
        killed = time.monotonic()
        pg.terminate_sessions()
        standby.lease.connect()  # its own session was terminated too: it reconnects
        took = _wait_to_lead(standby)
        print("take-over after pg_terminate_backend: %.2fs" % (took - killed))
        assert took - killed < TAKEOVER_BOUND
        assert standby.load()[0].sent == {"a": at(1)}
        standby.save(Checkpoint(at(0), {"a": at(1), "b": at(2)}))
        standby.close()
        # The old leader leads again, but someone led meanwhile: its memory is stale (False:
        # it must reload the stored checkpoint, not save what it remembers).
        assert _wait_to_lead(leader, expect=False)
        assert leader.load()[0].sent == {"a": at(1), "b": at(2)}
    finally:
        leader.close()
        standby.close()


LEADER = textwrap.dedent("""
    import sys, time
    sys.path[:0] = %r
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_store import (
        PostgresStore)
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import (
        Checkpoint)
    import datetime
    store = PostgresStore(%r, %r).open()
    assert store.lead() is not None
    store.record("held", datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc))
    print("LEADING", flush=True)
    time.sleep(600)
""")


def test_standby_takes_over_when_the_leader_process_is_killed(pg, fresh_key):
    import ansible_collections
    paths = [os.path.dirname(p) for p in ansible_collections.__path__]
    leader = subprocess.Popen([sys.executable, "-c", LEADER % (paths, pg.dsn(), fresh_key)],
                              stdout=subprocess.PIPE, universal_newlines=True)
    standby = opened(pg, fresh_key)
    try:
        assert leader.stdout.readline().strip() == "LEADING"
        assert standby.lead() is None
        killed = time.monotonic()
        leader.kill()  # SIGKILL: its kernel closes the socket, the server ends the session
        leader.wait()
        took = _wait_to_lead(standby)
        print("take-over after SIGKILL: %.2fs" % (took - killed))
        assert took - killed < TAKEOVER_BOUND
        assert [key for key, dummy in standby.load()[1]] == ["held"]
    finally:
        if leader.poll() is None:
            leader.kill()
        standby.close()


def test_a_restarted_database_resumes_without_loss(pg, fresh_key):
    store = opened(pg, fresh_key)
    try:
        store.lead()
        store.save(Checkpoint(at(0), {}))
        store.record("a", at(1))
        pg.restart()
        with pytest.raises(StoreUnavailable) as caught:
            store.record("b", at(2))  # handed over; its record failed
        assert pg_server.PASSWORD not in str(caught.value)
        assert _wait_to_lead(store, expect=True)
        store.save(Checkpoint(at(0), {"a": at(1), "b": at(2)}))  # the memory has both
        store.close()
        again = opened(pg, fresh_key)
        again.lead()
        assert again.load()[0].sent == {"a": at(1), "b": at(2)}
        again.close()
    finally:
        store.close()


def _wait_to_lead(store, expect=None):
    """Retry every STANDBY_INTERVAL, as the adapter does; the monotonic time it led."""
    deadline = time.monotonic() + 10 * TAKEOVER_BOUND
    while time.monotonic() < deadline:
        try:
            kept = store.lead()
        except StoreUnavailable:
            kept = None
        if kept is not None:
            if expect is not None:
                return kept is expect
            return time.monotonic()
        time.sleep(STANDBY_INTERVAL)
    raise AssertionError("never took over")


@pytest.mark.parametrize("form", ["kv", "uri"])
def test_wrong_password_is_a_clear_error_without_the_password(pg, fresh_key, form):
    secret = "Wr0ng-secret-pw"
    dsn = pg.dsn(password=secret) if form == "kv" else pg.uri(password=secret)
    with pytest.raises(InvalidOption) as caught:
        PostgresStore(dsn, fresh_key).open()
    message = str(caught.value)
    assert message.startswith("state_dsn: cannot connect")
    assert "password authentication failed" in message
    assert secret not in message


def test_pgpassword_is_masked(pg, fresh_key, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "Env-secret-pw9")
    dsn = "host=127.0.0.1 port=%d dbname=audit user=audit" % pg.port
    with pytest.raises(InvalidOption) as caught:
        PostgresStore(dsn, fresh_key).open()
    assert "Env-secret-pw9" not in str(caught.value)
    assert pg_lease.mask_dsn("x Env-secret-pw9 y", dsn) == "x ******** y"


def test_unknown_host_is_a_clear_error(fresh_key):
    with pytest.raises(InvalidOption) as caught:
        PostgresStore("postgresql://audit:Secr3t-x@no-such-host.invalid/audit"
                      "?connect_timeout=3", fresh_key).open()
    assert "no-such-host.invalid" in str(caught.value)
    assert "Secr3t-x" not in str(caught.value)


def test_a_role_that_may_not_create_the_tables(pg, fresh_key):
    with pg.superuser(database="postgres") as conn:
        conn.execute("CREATE DATABASE nocreate OWNER postgres")
    try:
        with pytest.raises(InvalidOption) as caught:
            PostgresStore(pg.dsn(role="reader", database="nocreate"), fresh_key).open()
        assert "refused CREATE" in str(caught.value)
        assert "permission denied" in str(caught.value)
        # Created by someone else, but without grants: refused, naming what is missing.
        PostgresStore(pg.dsn(role="postgres", database="nocreate"), fresh_key).open().close()
        with pg.superuser(database="nocreate") as conn:
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
        with pytest.raises(InvalidOption) as caught:
            PostgresStore(pg.dsn(role="reader", database="nocreate"), fresh_key).open()
        assert "lacks INSERT, UPDATE, DELETE on table" in str(caught.value)
        assert pg_server.READER_PASSWORD not in str(caught.value)
    finally:
        with pg.superuser(database="postgres") as conn:
            conn.execute("DROP DATABASE nocreate WITH (FORCE)")


def test_without_psycopg_the_option_names_the_package(monkeypatch):
    monkeypatch.setattr(pg_lease, "HAS_PSYCOPG", False)
    with pytest.raises(InvalidOption) as caught:
        PostgresStore("dbname=x", "k")
    assert "psycopg" in str(caught.value) and str(caught.value).startswith("state_dsn:")


def test_record_cost_does_not_depend_on_history(pg, fresh_key):
    """The journal is indexed by key and emptied by each save: what record touches."""
    with pg.superuser() as conn:
        plan = conn.execute("EXPLAIN INSERT INTO %s (source_key, entry_key, created_at)"
                            " SELECT 'k', 'e', now() FROM nirvana_labs_audit_checkpoint"
                            " WHERE source_key = 'k' AND fence = 1" % JOURNAL_TABLE).fetchall()
    assert "Index Scan" in " ".join(row[0] for row in plan)


def test_a_malformed_dsn_is_refused_without_quoting_it(fresh_key):
    with pytest.raises(InvalidOption) as caught:
        PostgresStore("host=db password=sec ret-part dbname", fresh_key).open()
    assert "ret-part" not in str(caught.value) and "sec" not in str(caught.value)
    assert str(caught.value).startswith("state_dsn: is not a valid libpq connection string")


def test_after_shutdown_no_late_call_can_take_the_lock(pg, fresh_key):
    """A stopped source's thread may still be in a call: it must not lead after the stop."""
    stopped, other = opened(pg, fresh_key), opened(pg, fresh_key)
    try:
        stopped.shutdown()
        with pytest.raises(StoreUnavailable):
            stopped.lead()
        assert stopped.lease.conn is None
        assert other.lead() is False
    finally:
        other.close()


def test_the_poller_resumes_from_the_row_and_refuses_one_ahead_of_the_clock(pg, fresh_key):
    from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.follow import (
        AuditLogPoller,
    )
    store = opened(pg, fresh_key)
    try:
        store.lead()
        store.save(Checkpoint(at(0), {"a": at(1)}))
        store.record("b", at(2))
        poller = AuditLogPoller(None, store=store, clock=lambda: at(100))
        assert poller.resumed and poller.checkpoint.sent == {"a": at(1), "b": at(2)}
        assert journal_rows(pg, fresh_key) == 0  # compacted into the row at start
        with pytest.raises(InvalidOption) as caught:
            AuditLogPoller(None, store=store, clock=lambda: at(-10))
        assert str(caught.value).startswith("state_dsn: the checkpoint of state_key %s says"
                                            % fresh_key)
    finally:
        store.shutdown()
