# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checkpoint in PostgreSQL (``state_dsn``): one row per source key, and a journal.

``CHECKPOINT_TABLE`` holds one row per ``state_key``: the watermark, the keys remembered
(jsonb, as the file store's snapshot lists them), the fencing token and when it was written.
``JOURNAL_TABLE`` holds one row per entry delivered since the last save. ``record`` is one
autocommit INSERT (durable when it returns; an index on the key, so its cost does not grow with
history); ``save`` rewrites the row and deletes the key's journal rows in one transaction. Both
carry the token (``pg_lease``): a source that lost the lock cannot move the checkpoint.
The tables are created when missing; a role that may not create or write them is refused at
start with a message naming what is missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import InvalidOption
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.pg_lease import (
    Lease,
    LeadershipLost,
    StoreUnavailable,
    psycopg,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller.state import (
    Checkpoint,
    CheckpointStore,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.timeutil import (
    UTC,
    format_utc,
)

CHECKPOINT_TABLE = "nirvana_labs_audit_checkpoint"
JOURNAL_TABLE = "nirvana_labs_audit_journal"
_CREATE = (
    "CREATE TABLE IF NOT EXISTS %s (source_key text PRIMARY KEY, watermark timestamptz,"
    " sent jsonb NOT NULL DEFAULT '[]'::jsonb, fence bigint NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL DEFAULT now())" % CHECKPOINT_TABLE,
    "CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY, source_key text NOT NULL,"
    " entry_key text NOT NULL, created_at timestamptz NOT NULL)" % JOURNAL_TABLE,
    "CREATE INDEX IF NOT EXISTS %s_key ON %s (source_key)" % (JOURNAL_TABLE, JOURNAL_TABLE),
)
_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

__all__ = ["PostgresStore", "LeadershipLost", "StoreUnavailable", "CHECKPOINT_TABLE",
           "JOURNAL_TABLE"]


class PostgresStore(CheckpointStore):
    """The checkpoint of ``key`` in the database of ``dsn``.

    ``open()`` connects and prepares the tables (InvalidOption('state_dsn', ...) when that
    fails: wrong password, unknown host, missing privilege). ``lead()`` tries the key's lock
    once (None: another source leads; True/False: leading, see ``Lease.lead``). ``load``,
    ``record`` and ``save`` are the leader's; they raise ``StoreUnavailable`` when the database
    went away and ``LeadershipLost`` when another source took over."""

    def __init__(self, dsn, key):
        self.key = key
        self.lease = Lease(dsn, key)

    @property
    def fence(self):
        return self.lease.fence

    def open(self):
        """Connect and check the tables once, at start: any failure is a clear error."""
        try:
            self.lease.connect()
            self._prepare()
        except StoreUnavailable as err:
            self.lease.drop()
            raise InvalidOption("state_dsn", str(err))
        except InvalidOption:
            self.lease.drop()
            raise
        return self

    def _prepare(self):
        for table in (CHECKPOINT_TABLE, JOURNAL_TABLE):
            exists = self.lease.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
            if exists is None:
                # Only when missing: CREATE ... IF NOT EXISTS needs CREATE even when it exists.
                for statement in _CREATE:
                    self.lease.execute(statement)
                break
        for table in (CHECKPOINT_TABLE, JOURNAL_TABLE):
            missing = [p for p in _PRIVILEGES if not self.lease.execute(
                "SELECT has_table_privilege(%s, %s)", (table, p)).fetchone()[0]]
            if missing:
                raise InvalidOption("state_dsn", "this role lacks %s on table %s; grant them"
                                                 % (", ".join(missing), table))

    def lead(self):
        """Try the key's lock once, offering the last token this source held."""
        return self.lease.lead(CHECKPOINT_TABLE, self.lease.last_fence)

    def leading(self):
        """Whether this source still holds the key (one round trip): checked before a poll,
        so a source whose session was dropped stops before it hands anything over."""
        if self.lease.fence is None:
            return False
        row = self.lease.execute("SELECT fence FROM %s WHERE source_key = %%s"
                                 % CHECKPOINT_TABLE, (self.key,)).fetchone()
        if row is None or row[0] != self.lease.fence:
            self.lease.fence = None
            raise LeadershipLost("another source took over state_key %s" % self.key)
        return True

    def load(self):
        row = self.lease.execute("SELECT watermark, sent FROM %s WHERE source_key = %%s"
                                 % CHECKPOINT_TABLE, (self.key,)).fetchone()
        checkpoint = None
        if row is not None and row[0] is not None:
            data = {"version": 1, "watermark": format_utc(row[0]), "sent": row[1]}
            try:
                checkpoint = Checkpoint.from_json(data)
            except ValueError as err:
                raise InvalidOption("state_dsn", "the row of state_key %s in %s is damaged (%s)"
                                    % (self.key, CHECKPOINT_TABLE, err))
        records = [(key, created.astimezone(UTC)) for key, created in self.lease.execute(
            "SELECT entry_key, created_at FROM %s WHERE source_key = %%s ORDER BY id"
            % JOURNAL_TABLE, (self.key,)).fetchall()]
        return checkpoint, records

    def record(self, key, created):
        """One autocommit INSERT, fenced: durable once it returns."""
        self._leader()
        self.lease.fenced(self.lease.execute(
            "INSERT INTO %s (source_key, entry_key, created_at) SELECT %%s, %%s, %%s FROM %s"
            " WHERE source_key = %%s AND fence = %%s" % (JOURNAL_TABLE, CHECKPOINT_TABLE),
            (self.key, key, created, self.key, self.lease.fence)))

    def save(self, checkpoint):
        """The row and the journal's deletion in one transaction, fenced."""
        self._leader()
        sent = checkpoint.to_json()["sent"]
        conn = self.lease.connect()
        try:
            with conn.transaction():
                self.lease.fenced(conn.execute(
                    "UPDATE %s SET watermark = %%s, sent = %%s::jsonb, updated_at = now()"
                    " WHERE source_key = %%s AND fence = %%s" % CHECKPOINT_TABLE,
                    (checkpoint.watermark, json.dumps(sent), self.key, self.lease.fence)))
                conn.execute("DELETE FROM %s WHERE source_key = %%s" % JOURNAL_TABLE,
                             (self.key,))
        except psycopg.OperationalError as err:
            self.lease.drop()
            raise StoreUnavailable("the state database went away: %s"
                                   % self.lease.mask(str(err).strip().splitlines()[0]))
        except psycopg.Error as err:
            raise InvalidOption("state_dsn", "the state database refused the checkpoint: %s"
                                % self.lease.mask(str(err).strip().splitlines()[0]))

    def _leader(self):
        if self.lease.fence is None:
            raise LeadershipLost("state_key %s is not led by this source" % self.key)

    def close(self):
        """Drop the connection and the lock (the poller calls it when its start fails); a
        later ``lead`` connects again."""
        self.lease.close()

    def shutdown(self):
        """The source stops: the connection and the lock go, for good."""
        self.lease.shutdown()
