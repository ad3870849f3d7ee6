# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the emulator saw, for tests: connections, requests, credentials (hashed), a log.

Two listeners are watched apart: ``main`` (the API) and ``redirect`` (the other origin that
redirect faults point to). Admin requests under ``/_emulator/`` are not recorded, so a test
that reads the stats does not disturb them; ``connections`` counts only connections that
carried at least one API request.
"""

import collections
import hashlib
import threading
import time

# About 1 KB an entry: the log must not be what breaks a long benchmark's memory budget.
LOG_LIMIT = 20000


def hash_authorization(value):
    """The SHA-256 hex digest of a whole Authorization header value."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


class _Listener(object):
    def __init__(self):
        self.accepted = 0
        self.connections = 0
        self.requests = 0
        self.by_path = {}
        self.by_status = {}
        self.auth = set()
        self.log = collections.deque(maxlen=LOG_LIMIT)
        self.dropped = 0

    def snapshot(self):
        return {
            "connections": self.connections,
            "connections_accepted": self.accepted,
            "requests": self.requests,
            "by_path": dict((p, dict(s)) for p, s in self.by_path.items()),
            "by_status": dict(self.by_status),
            "authorization_seen": sorted(self.auth),
            "log": list(self.log),
            "log_dropped": self.dropped,
        }


class Stats(object):
    """Thread-safe counters; ``reset`` starts a new generation."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next_conn = 0
        self._seq = 0
        self.start = time.monotonic()
        self.generation = 0
        self._listeners = {"main": _Listener(), "redirect": _Listener()}

    def reset(self):
        with self._lock:
            self.generation += 1
            self._listeners = {"main": _Listener(), "redirect": _Listener()}

    def accepted(self, role):
        """A new TCP connection: its id and the generation it was accepted in."""
        with self._lock:
            self._next_conn += 1
            self._listeners[role].accepted += 1
            return self._next_conn, self.generation

    def record(self, role, conn, method, target, status, fault, authorization, extra=None):
        """One API request; ``conn`` is the handler's (id, generation, counted) list."""
        path, dummy, query = target.partition("?")
        key = str(status) if status is not None else (fault or "none")
        with self._lock:
            lst = self._listeners[role]
            if conn[1] == self.generation and not conn[2]:
                conn[2] = True
                lst.connections += 1
            self._seq += 1
            lst.requests += 1
            per = lst.by_path.setdefault(path, {})
            per[key] = per.get(key, 0) + 1
            lst.by_status[key] = lst.by_status.get(key, 0) + 1
            digest = hash_authorization(authorization) if authorization else None
            if digest:
                lst.auth.add(digest)
            if len(lst.log) == lst.log.maxlen:
                lst.dropped += 1
            item = {
                "seq": self._seq,
                "t": round(time.monotonic() - self.start, 3),
                "connection": conn[0],
                "method": method,
                "path": path,
                "query": query,
                "raw_path": target,
                "status": status,
                "fault": fault,
                "authorization": digest,
            }
            if extra:
                item.update(extra)
            lst.log.append(item)

    def snapshot(self):
        with self._lock:
            main = self._listeners["main"].snapshot()
            redirect = self._listeners["redirect"].snapshot()
        redirect["authorization_received"] = bool(redirect["authorization_seen"])
        main["redirect_target"] = redirect
        main["generation"] = self.generation
        return main
