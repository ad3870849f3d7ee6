# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault rules: which requests get a bad day, and what kind of bad day.

A rule is a mapping with a ``kind``, an optional match (``path`` prefix, ``path_regex``
searched in the request target, ``method``) and a trigger (``after``, ``times``, ``every``,
``probability``). Rules are tried in order for each API request they match and apply to:
every firing ``latency`` rule adds its delay, and the first other rule that fires decides the
request; later rules do not see it. Probabilities and jitter come from a hash of (seed, rule
position, match number), so the same requests in the same order meet the same faults.

The server turns the chosen rule into a response; this module only decides.
"""

import hashlib
import json
import re
import threading

# Kind -> (parameters with defaults, what it applies to).
#   "any": every matching request, before the normal answer is sent;
#   "ok": a matching request whose normal answer is a 200;
#   "list": a matching request whose normal answer is a 200 list page;
#   "more": the same, for a page that has a next page.
KINDS = {
    "latency": ({"fixed_ms": 0, "jitter_ms": 0}, "any"),
    "status": ({"status": None, "headers": None, "body": "json", "message": None,
                "retry_after": None, "retry_after_date": None, "retry_after_ms": None,
                "should_retry": None}, "any"),
    "rate_limit": ({"retry_after": 1, "headers": None, "body": "json", "message": None,
                    "retry_after_date": None, "retry_after_ms": None, "should_retry": None},
                   "any"),
    "redirect": ({"status": 307, "to": "other_port", "location": None}, "any"),
    "stall": ({"seconds": 30.0}, "any"),
    "reset": ({"after_bytes": None, "before_status": False}, "any"),
    "truncate": ({"keep_bytes": None}, "any"),
    "invalid_json": ({"body": '{"items": [{"id": "'}, "ok"),
    "extra_fields": ({"fields": None}, "ok"),
    "cursor_loop": ({}, "list"),
    "duplicate": ({}, "more"),
    "empty_page": ({}, "list"),
    "wrong_total": ({"delta": 1}, "list"),
    # A hostile server's faults (hostile.py).
    "gzip": ({"encoding": "gzip", "bomb_mib": None}, "ok"),
    "oversized": ({"mib": 64}, "ok"),
    "drip": ({"bytes_per_tick": 1, "interval": 1.0}, "any"),
    "endless_cursor": ({}, "any"),
}
ENCODINGS = ("gzip", "deflate")
BODIES = ("json", "html", "empty", "text")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
_COMMON = ("kind", "name", "path", "path_regex", "method", "after", "times", "every",
           "probability")
DEFAULT_PATH = "/v1/"
_APPLIES = {
    "any": ("list_more", "list", "ok", "other"),
    "ok": ("list_more", "list", "ok"),
    "list": ("list_more", "list"),
    "more": ("list_more",),
}


class FaultError(ValueError):
    """A fault rule that cannot be used; the message says which and why."""


def _int(spec, key, minimum):
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultError("%s: %s must be an integer >= %d" % (spec.get("kind"), key, minimum))
    return value


def _num(spec, key, minimum=0.0):
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise FaultError("%s: %s must be a number >= %s" % (spec.get("kind"), key, minimum))
    return float(value)


class Rule(object):
    """One validated rule and its counters."""

    def __init__(self, spec, position, seed):
        if not isinstance(spec, dict):
            raise FaultError("a fault rule must be a mapping, got %r" % (spec,))
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError("unknown fault kind %r; kinds: %s" % (kind, ", ".join(sorted(KINDS))))
        defaults, self.applies_to = KINDS[kind]
        unknown = sorted(set(spec) - set(_COMMON) - set(defaults))
        if unknown:
            raise FaultError("%s: unknown key(s) %s" % (kind, ", ".join(unknown)))
        self.spec = dict(spec)
        self.kind = kind
        self.position = position
        self.seed = seed
        self.params = dict(defaults)
        self.params.update((k, v) for k, v in spec.items() if k in defaults)
        self.path = spec.get("path", DEFAULT_PATH)
        if not isinstance(self.path, str):
            raise FaultError("%s: path must be text" % kind)
        try:
            self.regex = re.compile(spec["path_regex"]) if spec.get("path_regex") else None
        except (re.error, TypeError) as err:
            raise FaultError("%s: path_regex does not compile: %s" % (kind, err))
        self.method = spec.get("method")
        self.after = _int(spec, "after", 0) or 0
        self.times = _int(spec, "times", 1)
        self.every = _int(spec, "every", 1)
        self.probability = None
        if spec.get("probability") is not None:
            self.probability = _num(spec, "probability")
            if self.probability > 1:
                raise FaultError("%s: probability must be in 0..1" % kind)
        if self.every and self.probability is not None:
            raise FaultError("%s: give every or probability, not both" % kind)
        self._check_params()
        self.matched = 0
        self.fired = 0

    def _check_params(self):
        p, kind = self.params, self.kind
        if kind == "latency":
            _num(p, "fixed_ms")
            _num(p, "jitter_ms")
        elif kind in ("status", "rate_limit"):
            if kind == "status":
                status = p.get("status")
                if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
                    raise FaultError("status: status must be an HTTP status code (100..599)")
            if p["body"] not in BODIES:
                raise FaultError("%s: body must be one of %s" % (kind, ", ".join(BODIES)))
            if p["headers"] is not None and not isinstance(p["headers"], dict):
                raise FaultError("%s: headers must be a mapping" % kind)
            for key in ("retry_after", "retry_after_date", "retry_after_ms"):
                if p[key] is not None:
                    _num(p, key)
            if p["should_retry"] is not None and not isinstance(p["should_retry"], bool):
                raise FaultError("%s: should_retry must be true or false" % kind)
        elif kind == "redirect":
            if p["status"] not in REDIRECT_STATUSES:
                raise FaultError("redirect: status must be one of %s" % (REDIRECT_STATUSES,))
            to = p["to"]
            if not isinstance(to, str) or not (to in ("other_port", "other_host", "self")
                                               or to.startswith(("http://", "https://"))):
                raise FaultError("redirect: to must be other_port, other_host, self or a URL")
            location = p["location"]
            if location is not None and not (isinstance(location, str) and location.startswith("/")):
                raise FaultError("redirect: location must be a path starting with /")
        elif kind == "stall":
            _num(p, "seconds")
        elif kind == "reset":
            _int(dict(p, kind=kind), "after_bytes", 0)
            if not isinstance(p["before_status"], bool):
                raise FaultError("reset: before_status must be true or false")
        elif kind == "truncate":
            _int(dict(p, kind=kind), "keep_bytes", 0)
        elif kind == "invalid_json":
            if not isinstance(p["body"], str):
                raise FaultError("invalid_json: body must be text")
        elif kind == "extra_fields":
            if p["fields"] is not None and not isinstance(p["fields"], dict):
                raise FaultError("extra_fields: fields must be a mapping")
        elif kind == "wrong_total":
            _int(dict(p, kind=kind), "delta", -10 ** 9)
        else:
            self._check_hostile_params()

    def _check_hostile_params(self):
        p, kind = self.params, self.kind
        if kind == "gzip":
            if p["encoding"] not in ENCODINGS:
                raise FaultError("gzip: encoding must be one of %s" % ", ".join(ENCODINGS))
            _int(dict(p, kind=kind), "bomb_mib", 1)
        elif kind == "oversized":
            if _int(dict(p, kind=kind), "mib", 1) is None:
                raise FaultError("oversized: mib must be an integer >= 1")
        elif kind == "drip":
            if _int(dict(p, kind=kind), "bytes_per_tick", 1) is None:
                raise FaultError("drip: bytes_per_tick must be an integer >= 1")
            _num(p, "interval")

    def matches(self, method, path, target):
        if self.method and self.method.upper() != method.upper():
            return False
        if not path.startswith(self.path):
            return False
        return not self.regex or bool(self.regex.search(target))

    def _unit(self, salt, n):
        text = "%s:%d:%s:%d" % (self.seed, self.position, salt, n)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2.0 ** 64

    def trial(self):
        """Count one matching request; True if the rule fires on it."""
        self.matched += 1
        n = self.matched - self.after
        if n <= 0 or (self.times is not None and self.fired >= self.times):
            return False
        if self.every and n % self.every:
            return False
        if self.probability is not None and self._unit("p", self.matched) >= self.probability:
            return False
        self.fired += 1
        return True

    def delay(self):
        """Seconds of a latency rule for its latest firing (fixed plus seeded jitter)."""
        jitter = self.params["jitter_ms"] * self._unit("j", self.matched)
        return (self.params["fixed_ms"] + jitter) / 1000.0

    def describe(self):
        return {"rule": self.spec, "matched": self.matched, "fired": self.fired,
                "exhausted": self.times is not None and self.fired >= self.times}


class FaultSet(object):
    """The active rules; ``pick`` is thread-safe."""

    def __init__(self, specs=(), seed=0):
        self.seed = seed
        self._lock = threading.Lock()
        self.rules = parse_rules(specs, seed)

    def replace(self, specs):
        rules = parse_rules(specs, self.seed)  # validate before anything changes
        with self._lock:
            self.rules = rules

    def pick(self, method, path, target, answer):
        """(seconds of latency, the deciding rule or None) for one API request.

        ``answer`` is what the normal response is: "list_more" (a list page with a next
        page), "list" (the last page), "ok" (another 200) or "other".
        """
        delay = 0.0
        with self._lock:
            for rule in self.rules:
                if not rule.matches(method, path, target):
                    continue
                if answer not in _APPLIES[rule.applies_to]:
                    continue
                if not rule.trial():
                    continue
                if rule.kind == "latency":
                    delay += rule.delay()
                    continue
                return delay, rule
        return delay, None

    def describe(self):
        with self._lock:
            return [r.describe() for r in self.rules]


def parse_rules(specs, seed=0):
    if isinstance(specs, dict) and set(specs) == {"faults"}:
        specs = specs["faults"]
    if specs is None:
        specs = []
    if not isinstance(specs, list):
        raise FaultError("faults must be a list of rules")
    return [Rule(spec, k, seed) for k, spec in enumerate(specs)]


def load(path):
    """Rules from a JSON or YAML file (a list, or a mapping with one key ``faults``)."""
    with open(path) as handle:
        text = handle.read()
    return loads(text)


def loads(text):
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise FaultError("the fault rules are not JSON, and PyYAML is not installed to read YAML")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise FaultError("the fault rules are neither JSON nor YAML: %s" % err)
