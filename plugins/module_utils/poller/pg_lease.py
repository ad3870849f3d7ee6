# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PostgreSQL side of leadership: the connection, the advisory lock, the fencing token.

One source per key leads: the one whose session holds ``pg_try_advisory_lock`` on a 64-bit
hash of the key. Taking the lock increments the key's ``fence`` (the token); every write of
the leader carries it (``WHERE source_key = %s AND fence = %s``), so a source whose session
was dropped, and whose place was taken, can no longer move the checkpoint (``LeadershipLost``).

Take-over bound. A session-level lock ends with its session. A killed process's socket is
closed by its kernel, so the server ends the session at once; a host that vanishes is found
out by the server's TCP keepalives, set on every session of the source to
``KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT`` seconds (and ``tcp_user_timeout`` to
the same, for data never acknowledged). A standby tries the lock every ``STANDBY_INTERVAL``.
So a standby takes over within ``STANDBY_INTERVAL`` (plus a reconnect) of the leader's process
dying or its session being terminated, and within ``TAKEOVER_BOUND`` seconds (27) of its
host or network vanishing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import struct
from urllib.parse import unquote

from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    MASK,
    AuditLogError,
    InvalidOption,
    mask_secrets,
)

try:
    import psycopg
    from psycopg import conninfo as _conninfo
    HAS_PSYCOPG = True
except ImportError:  # the file store works without it
    psycopg = None
    _conninfo = None
    HAS_PSYCOPG = False

STANDBY_INTERVAL = 2.0
KEEPALIVE_IDLE = 10
KEEPALIVE_INTERVAL = 5
KEEPALIVE_COUNT = 3
TAKEOVER_BOUND = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT + STANDBY_INTERVAL
# The client's own bounds, so no call hangs on a database that went away (unless the DSN
# sets them itself).
CLIENT_SETTINGS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": str(KEEPALIVE_IDLE),
    "keepalives_interval": str(KEEPALIVE_INTERVAL),
    "keepalives_count": str(KEEPALIVE_COUNT),
    "tcp_user_timeout": str((KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT) * 1000),
    "application_name": "nirvana_labs.audit.audit_log",
}
_SESSION_SETTINGS = (
    ("tcp_keepalives_idle", KEEPALIVE_IDLE),
    ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
    ("tcp_keepalives_count", KEEPALIVE_COUNT),
    ("tcp_user_timeout", (KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT) * 1000),
)
_URI_PASSWORD = re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)")
_KV_PASSWORD = re.compile(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]*)")


class StoreUnavailable(AuditLogError):
    """The database cannot be reached or went away: not fatal, the source waits and retries."""


class LeadershipLost(AuditLogError):
    """Another source took the key over: this one's fencing token is stale."""


def lock_id(key):
    """The advisory lock of ``key``: a signed 64-bit hash (pg_try_advisory_lock's bigint)."""
    return struct.unpack(">q", hashlib.sha256(("nirvana_labs.audit:" + key)
                                              .encode("utf-8")).digest()[:8])[0]


def _written_passwords(dsn):
    """The DSN's password as written and as meant (percent-decoded, unquoted), read without
    psycopg: a message must not show it even where psycopg is missing or cannot parse it."""
    found = []
    for match in _URI_PASSWORD.finditer(dsn or ""):
        found += [match.group(2), unquote(match.group(2))]
    for match in _KV_PASSWORD.finditer(dsn or ""):
        value = match.group(2)
        if value.startswith("'") and value.endswith("'") and len(value) > 1:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found += [match.group(2), value, value.split("&")[0], unquote(value.split("&")[0])]
    return found


def dsn_secrets(dsn, environ=None):
    """The passwords a message must never show: the DSN's and PGPASSWORD."""
    environ = os.environ if environ is None else environ
    secrets = [environ.get("PGPASSWORD")] + _written_passwords(dsn)
    if _conninfo is not None:
        # A malformed DSN: the regexes of mask_dsn still mask what looks like a password.
        try:
            secrets.append(_conninfo.conninfo_to_dict(dsn).get("password"))
        except Exception:  # pylint: disable=broad-except
            pass
    # Longest first: a password that contains another one is masked whole.
    return tuple(sorted(set(s for s in secrets if s), key=len, reverse=True))


def mask_dsn(text, dsn, environ=None):
    """``text`` with the DSN's password (URI or key=value) and PGPASSWORD masked."""
    text = mask_secrets(str(text), dsn_secrets(dsn, environ))
    text = _URI_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def require_psycopg():
    if not HAS_PSYCOPG:
        raise InvalidOption("state_dsn", "needs the Python package psycopg (3.x) where the"
                                         " source runs: pip install 'psycopg[binary]'")


class Lease(object):
    """A connection to the store's database and, once ``lead`` returned a token, the lock."""

    def __init__(self, dsn, key):
        require_psycopg()
        self.dsn = dsn
        self.key = key
        self.lock = lock_id(key)
        self.conn = None
        self.fence = None  # the token while leading (None: not leading)
        self.last_fence = None  # the last token taken, kept across a lost connection
        self.shut = False  # shutdown(): no connection any more, even from a late thread

    def mask(self, text):
        return mask_dsn(text, self.dsn)

    def connect(self):
        """Connect (autocommit) with the keepalives above; StoreUnavailable on failure."""
        if self.conn is not None and not self.conn.closed:
            return self.conn
        self.conn = None
        if self.shut:
            raise StoreUnavailable("the state store was shut down")
        try:
            given = _conninfo.conninfo_to_dict(self.dsn)
        except psycopg.Error:
            # libpq's message quotes the string, which may hold a password: not shown.
            raise InvalidOption("state_dsn", "is not a valid libpq connection string or URI"
                                             " (key=value pairs, or postgresql://...)")
        extra = dict((k, v) for k, v in CLIENT_SETTINGS.items() if k not in given)
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, **extra)
            for name, value in _SESSION_SETTINGS:
                conn.execute("SELECT set_config(%s, %s, false)", (name, str(value)))
        except psycopg.Error as err:
            raise StoreUnavailable("cannot connect to the state database %s: %s"
                                   % (_where(given), self.mask(_first_line(err))))
        if self.shut:  # shut down while this thread connected: no lock may outlive it
            conn.close()
            raise StoreUnavailable("the state store was shut down")
        self.conn = conn
        return conn

    def drop(self):
        """Forget the connection (and with it the lock, server side)."""
        conn, self.conn, self.fence = self.conn, None, None
        if conn is not None:
            try:
                conn.close()  # it may be broken already
            except Exception:  # pylint: disable=broad-except
                pass

    def execute(self, sql, params=None):
        """One statement; a lost connection is StoreUnavailable (and dropped)."""
        conn = self.connect()
        try:
            return conn.execute(sql, params)
        except psycopg.OperationalError as err:
            self.drop()
            raise StoreUnavailable("the state database went away: %s"
                                   % self.mask(_first_line(err)))
        except psycopg.Error as err:
            raise InvalidOption("state_dsn", "the state database refused %s: %s"
                                % (sql.split()[0], self.mask(_first_line(err))))

    def lead(self, table, previous=None):
        """Try the lock once. None: another source leads (standby). Else take a new token;
        returns True when ``previous`` was still the key's token (nobody led in between, so
        what this source holds in memory is still the truth), False otherwise."""
        if not self.execute("SELECT pg_try_advisory_lock(%s)", (self.lock,)).fetchone()[0]:
            return None
        row = None
        if previous is not None:
            row = self.execute("UPDATE %s SET fence = fence + 1, updated_at = now()"
                               " WHERE source_key = %%s AND fence = %%s RETURNING fence"
                               % table, (self.key, previous)).fetchone()
        kept = row is not None
        if row is None:
            self.execute("INSERT INTO %s (source_key) VALUES (%%s) ON CONFLICT DO NOTHING"
                         % table, (self.key,))
            row = self.execute("UPDATE %s SET fence = fence + 1, updated_at = now()"
                               " WHERE source_key = %%s RETURNING fence"
                               % table, (self.key,)).fetchone()
        self.fence = self.last_fence = row[0]
        return kept

    def fenced(self, cursor):
        """A write's cursor: no row touched means the token is stale."""
        if cursor.rowcount == 0:
            self.fence = None
            raise LeadershipLost("another source took over state_key %s: this one stops"
                                 " delivering" % self.key)
        return cursor

    def close(self):
        """Drop the connection (and the lock); ``lead`` may connect again."""
        self.drop()

    def shutdown(self):
        """Drop the connection for good: a call still running in another thread (a stopped
        source's) cannot connect again and take the lock after this."""
        self.shut = True
        self.drop()


def _where(settings):
    """Which database, for a message: host, port, name and user (never the password)."""
    return "%s:%s/%s as %s" % (settings.get("host") or settings.get("hostaddr") or "(socket)",
                               settings.get("port") or 5432, settings.get("dbname") or "",
                               settings.get("user") or "(default user)")


def _first_line(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
