# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one schema of every option the collection's plugins take.

Each option is described once here: type, default, choices, environment variable, Ansible
variable, ``ansible.cfg`` key, ``no_log`` and its documentation. The module argument specs
(``ansible_module.argument_spec``) and the doc fragments (``doc_options``, rendered by
scripts/render_doc_fragments.py) are both generated from it, so
documentation, module and lookup cannot drift apart.

Plain data and small functions; nothing here imports Ansible or talks HTTP. The core
(transport, query, scan, client, results) never imports this file: it imports their constants.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# The core owns its constants; the schema imports them (never the other way round).
from ansible_collections.nirvana_labs.audit.plugins.module_utils.evidence.names import (
    DEFAULT_LIST_LIMIT,
    DEFAULT_TOP,
    EXPORT_FORMATS,
    PREVIOUS_UNVERIFIED,
    REPORT_FORMATS,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.order import ORDERS
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import WINDOW_SETTLE
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import ACTOR_TYPES
from ansible_collections.nirvana_labs.audit.plugins.module_utils.scan import (
    MAX_PAGE_SIZE,
    MIN_PAGE_SIZE,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.slices import (
    DEFAULT_PARALLELISM,
    SPILL_ENTRIES,
    MAX_PARALLELISM,
    MIN_PARALLELISM,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)

INI_SECTION = "nirvana_labs"


def _conn(name, description, **spec):
    """A connection option: the plugins can also read it from env, vars and ansible.cfg."""
    spec.setdefault("env", ["NIRVANA_LABS_%s" % name.upper()])
    spec.setdefault("vars", ["nirvana_labs_%s" % name])
    spec.setdefault("ini", name)
    spec["description"] = description
    return spec


CONNECTION_OPTIONS = {
    "api_key": _conn(
        "api_key",
        [
            "The Nirvana Labs API key, sent as C(Authorization: Bearer <key>).",
            "Never logged, never returned, and never sent to another host than O(base_url)"
            " or over plain C(http://) to a host that is not a loopback address.",
            "Required.",
        ],
        type="str",
        required=True,
        no_log=True,
    ),
    "base_url": _conn(
        "base_url",
        [
            "Base URL of the API, scheme and host (and port) only, for example the local"
            " emulator's C(http://127.0.0.1:8080).",
            "Plain C(http://) is accepted only for loopback addresses.",
        ],
        type="str",
        default=DEFAULT_BASE_URL,
    ),
    "timeout": _conn(
        "timeout",
        [
            "Seconds each attempt of a request may take in all: connecting, the response headers"
            " and the whole body. A server that sends slowly (one byte a second) is cut off at"
            " this deadline, not kept alive by each byte.",
            "A retry (see O(max_retries)) gets a fresh deadline.",
            "The default is the official SDKs' 60 seconds.",
        ],
        type="float",
        default=DEFAULT_TIMEOUT,
    ),
    "validate_certs": _conn(
        "validate_certs",
        [
            "Whether to verify the server's TLS certificate.",
            "Set to V(false) only for a test server; prefer O(ca_path) for a private CA.",
            "When V(true) and O(ca_path) is not set, the CA bundle named by the environment"
            " variable E(REQUESTS_CA_BUNDLE), else E(CURL_CA_BUNDLE), is used when set; else"
            " the CA store of C(certifi) that C(requests) ships with.",
        ],
        type="bool",
        default=True,
    ),
    "ca_path": _conn(
        "ca_path",
        ["PEM file of CA certificates to verify the server with, instead of the default store"
         " (see O(validate_certs))."],
        type="path",
    ),
    "max_retries": _conn(
        "max_retries",
        [
            "How many times to retry a request that failed in a retryable way: connection"
            " errors and timeouts, and the statuses 408, 409, 429 and 5xx, as the official"
            " SDKs do.",
            "Waits follow C(Retry-After-Ms) or C(Retry-After) when the server sends them"
            " (up to 60 seconds), else exponential back-off from 0.5 s, capped at 8 s, with jitter.",
            "V(0) disables retries.",
        ],
        type="int",
        default=DEFAULT_MAX_RETRIES,
    ),
    "use_proxy": _conn(
        "use_proxy",
        [
            "Whether an C(https://) O(base_url) may go through the proxy named by the environment"
            " variable E(HTTPS_PROXY) (else E(ALL_PROXY)), unless E(NO_PROXY) lists the host.",
            "The proxy is only ever a C(CONNECT) tunnel: it sees the host name, never the key"
            " or the entries.",
            "A plain C(http://) O(base_url) (a loopback emulator or gateway) never goes through"
            " a proxy, whatever this option and E(HTTP_PROXY) say, because the key would reach"
            " the proxy in clear text.",
            "V(false) ignores every proxy variable.",
        ],
        type="bool",
        default=True,
    ),
    "max_body_bytes": _conn(
        "max_body_bytes",
        [
            "Most bytes of one response body the collection reads, after decompression. A"
            " larger body (or a compressed body that expands past it) fails the request with"
            " an error instead of exhausting memory.",
            "The default, %d MiB, is generous for a page of 100 entries." % (
                DEFAULT_MAX_BODY_BYTES // (1024 * 1024)),
        ],
        type="int",
        default=DEFAULT_MAX_BODY_BYTES,
        minimum=1024,
    ),
}

_LIST_TEXT = "Several values match any of them (OR); different options must all match (AND)."
_GLOB_TEXT = "Values may be shell-style glob patterns (C(*), C(?), C([...])), matched case-sensitively."


def _filter(description, **spec):
    """A list filter: several values match any of them."""
    return dict(type="list", elements="str", description=description, **spec)


QUERY_OPTIONS = {
    "since": dict(
        type="str",
        description=[
            "Only entries created at or after this instant (inclusive).",
            "An RFC 3339 date-time (C(2026-11-01T00:00:00Z)), a date (C(2026-11-01), midnight"
            " UTC), C(now), or a time before now: a number and a unit C(s), C(m), C(h), C(d)"
            " or C(w) (C(30m), C(12h), C(7d), C(2w)).",
            "Resolved once, at the start, to an exact UTC instant; the result reports it.",
        ],
    ),
    "until": dict(
        type="str",
        description=[
            "Only entries created before this instant (exclusive), in the forms O(since) takes.",
            "With O(since), the window is half-open, so consecutive periods never share an entry.",
        ],
    ),
    "action": _filter([
        "Only entries with this action, such as C(vm.deleted) or C(api_key.*).",
        _GLOB_TEXT, _LIST_TEXT]),
    "actor_id": _filter(["Only entries by this user or API key id.", _GLOB_TEXT, _LIST_TEXT]),
    "actor_name": _filter([
        "Only entries by an actor with this display name. API keys may have no name.",
        "Applied by the client only: the API has no such filter.",
        _GLOB_TEXT, _LIST_TEXT]),
    "actor_type": _filter(["Only entries by this kind of actor.", _LIST_TEXT],
                          choices=list(ACTOR_TYPES)),
    "target_id": _filter(["Only entries acting on this resource id.", _GLOB_TEXT, _LIST_TEXT]),
    "target_type": _filter([
        "Only entries acting on this kind of resource, such as C(vm), C(volume), C(vpc),"
        " C(api_key).",
        _GLOB_TEXT, _LIST_TEXT]),
    "method": _filter([
        "Only entries of this HTTP method (C(GET), C(POST), C(PATCH), C(DELETE));"
        " case-insensitive.",
        _LIST_TEXT]),
    "path": _filter([
        "Only entries whose request path matches this glob pattern, case-insensitively,"
        " over the whole path: C(/v1/compute/vms/*) for every VM sub-path, C(*firewall*)"
        " for a substring.",
        _LIST_TEXT]),
    "client_ip": _filter([
        "Only entries from this client address or CIDR range, IPv4 or IPv6"
        " (C(203.0.113.7), C(10.0.0.0/8), C(2001:db8::/32)).",
        _LIST_TEXT]),
    "status_code": _filter([
        "Only entries whose audited request got this HTTP status: a code (C(404)), an"
        " inclusive range (C(400-499)) or a class (C(5xx)).",
        _LIST_TEXT]),
    "page_size": dict(
        type="int",
        default=MAX_PAGE_SIZE,
        description=["Entries asked for per request, from %d to %d." % (MIN_PAGE_SIZE, MAX_PAGE_SIZE),
                     "Larger pages mean fewer round trips."],
    ),
    "max_results": dict(
        type="int",
        description=[
            "Stop after this many matching entries. By default every match is returned.",
            "When the list was cut short the result says so, with a cursor to resume from.",
        ],
    ),
    "parallelism": dict(
        type="int",
        default=DEFAULT_PARALLELISM,
        description=[
            "How many time slices of the window are read at once, from %d to %d; C(1) reads"
            " sequentially." % (MIN_PARALLELISM, MAX_PARALLELISM),
            "Used only when both O(since) and O(until) are set, O(max_results) and a resume"
            " C(cursor) are not, and the server honours the time bounds (checked on its"
            " answers, not assumed). Otherwise the read is sequential and the result's C(scan.parallel)"
            " says why.",
            "Requests: the window's first page gives its total; ranges holding more than their"
            " share are split and each part's first page is read, which is then that slice's"
            " first page. Each slice is its own cursor chain on its own connection; a retry"
            " wait (C(Retry-After)) seen by one slice holds every slice.",
            "The entries and their order are exactly those of a sequential read. Memory: slices"
            " read ahead of their turn wait in memory (the module and the lookup return every"
            " entry anyway); M(nirvana_labs.audit.audit_log_export) spills them to"
            " temporary files in blocks of %d entries, so about a page a slice waits in"
            " memory." % SPILL_ENTRIES,
        ],
    ),
    "order": dict(
        type="str",
        default=ORDERS[0],
        choices=list(ORDERS),
        description=[
            "Order of the entries: by creation time, newest or oldest first.",
            "Asked of the server with C(sort); entries are re-ordered on the client when a"
            " server ignores it.",
        ],
    ),
    "max_pages": dict(
        type="int",
        minimum=1,
        description=[
            "Stop after requesting this many pages, a guard against a server that never ends"
            " its list. By default there is no page limit.",
            "A scan stopped by it is not complete (its result says so, with the reason).",
        ],
    ),
    "scan_timeout": dict(
        type="float",
        above=0,
        description=[
            "Stop requesting further pages once the scan has run this many seconds, a guard"
            " for the whole list (O(timeout) bounds each request). By default there is none.",
            "A scan stopped by it is not complete (its result says so, with the reason).",
        ],
    ),
}

FIELDS_OPTIONS = {
    "fields": dict(
        type="list",
        elements="str",
        description=[
            "Return only these fields of each entry: names or dotted paths such as"
            " C(actor.name), kept nested as in the entry (C({actor: {name: ...}})).",
            "Applied after filtering, so every filter still sees whole entries; a field an"
            " entry lacks is left out of that entry. By default entries are returned whole.",
            "The server still sends whole entries; this keeps the result, and what Ansible"
            " carries from task to task, small.",
        ],
    ),
}

CACHE_OPTIONS = {
    "cache": dict(
        type="bool",
        default=True,
        description=[
            "Reuse within a run: the same list query evaluated again (on other hosts, or at"
            " another reference of a variable) is answered from a file on the controller"
            " instead of a new scan, while the first evaluation fills it and the others wait.",
            "Only a settled window is reused: O(until) set and at least %s before now, so"
            " the API adds nothing to it any more; an open window is read afresh every time."
            " Relative times resolve at each evaluation, so give absolute instants to share"
            " a read." % WINDOW_SETTLE,
            "Only a complete read is kept (its scan report says C(complete: true)): a read"
            " cut short by O(max_pages) or O(scan_timeout), stopped at O(max_results), or"
            " whose completeness cannot be checked is never reused. A read is reused only by"
            " the same question: the same O(base_url), O(validate_certs) and O(ca_path), the"
            " same resolved window, filters, O(order) and O(fields), and the same O(page_size),"
            " O(max_results), O(max_pages) and O(scan_timeout) (whether a lookup gets its whole"
            " answer never depends on which lookup ran first); O(parallelism), O(timeout) and"
            " O(max_retries) change how it is read, not the answer, and are not compared.",
            "The files are under C(ANSIBLE_LOCAL_TEMP) (default C(~/.ansible/tmp)), in a"
            " private directory per user (C(nirvana_labs_audit_lookup-<uid>), mode 0700) with"
            " one directory per run (per C(ansible-playbook) process), named by a keyed digest:"
            " they never hold the API key. A directory or file there that is a link, belongs to"
            " another user or is open to others, or a temporary directory others could rename"
            " it in (not owned by the user or root, or writable by others without the sticky"
            " bit), is refused: the lookup then reads from the API and warns. Files expire"
            " after an hour and go when the next run finds theirs finished; each is capped in"
            " size.",
            "The cache never fails a lookup: a read that cannot be kept (a full disk, a file"
            " size limit, the directory removed meanwhile) is returned as read, with a warning;"
            " a file that cannot be read is read afresh from the API.",
            "Set to V(false) to always read from the API.",
        ],
    ),
}

RESUME_OPTIONS = {
    "cursor": dict(
        type="str",
        no_log=False,
        description=[
            "Resume a scan that was cut short by O(max_results): pass the RV(next_cursor) of"
            " the previous result, with the same filters.",
            "The cursor remembers the resolved time window, so relative O(since) and O(until)"
            " do not move between the two calls.",
        ],
    ),
}

ID_OPTIONS = {
    "id": dict(
        type="str",
        description=[
            "Return only the entry with this id, as a list of one.",
            "An id that does not exist returns an empty RV(audit_logs) list, not a failure.",
            "The id is sent as one percent-encoded path segment, whatever characters it holds.",
            "Mutually exclusive with every list option (O(since), O(until), the filters,"
            " O(page_size), O(max_results), O(order) and O(cursor)), including values that come"
            " from C(module_defaults); keep list options out of the defaults of tasks that read"
            " by id.",
        ],
    ),
}

ON_MISSING = ("error", "warn", "skip")
ON_MISSING_OPTIONS = {
    "on_missing": dict(
        type="str",
        default="error",
        choices=list(ON_MISSING),
        description=[
            "What an id with no entry does.",
            "V(error) fails the lookup and names the id.",
            "V(warn) leaves the entry out and warns.",
            "V(skip) leaves the entry out silently.",
        ],
    ),
}

ON_INCOMPLETE = ("error", "warn")
ON_INCOMPLETE_OPTIONS = {
    "on_incomplete": dict(
        type="str",
        default="error",
        choices=list(ON_INCOMPLETE),
        description=[
            "What a list known to be incomplete does: the server said how many entries match"
            " (C(total_count)) and the lookup, having read to the end of the list, received"
            " another number; or O(max_pages) or O(scan_timeout) stopped it.",
            "V(error) fails the lookup with the reason. V(warn) returns what was received and"
            " warns with the reason.",
            "Completeness cannot be known, and the entries are returned without an error, when"
            " the server sends no C(total_count), when the lookup stopped early because the"
            " verified order left nothing more to match, or when O(max_results) cut the list"
            " (a part was asked for). Each case but the last warns with the reason.",
        ],
    ),
}

EXPORT_OPTIONS = {
    "dest": dict(
        type="path",
        required=True,
        description=[
            "Directory of the bundle. Created when missing.",
            "The module owns the files C(audit_log.jsonl), C(audit_log.csv), C(manifest.json) and"
            " C(SHA256SUMS) in it and leaves every other file alone. Use one directory per period.",
            "Hidden C(.part) files of an interrupted export are removed by the next run.",
        ],
    ),
    "format": dict(
        type="str",
        choices=list(EXPORT_FORMATS),
        default=EXPORT_FORMATS[0],
        description=[
            "Data files to write. V(jsonl) writes C(audit_log.jsonl), the authoritative copy with"
            " every field as the API sent it. V(csv) writes C(audit_log.csv), one row per entry"
            " with nested fields flattened (C(actor.id), C(actor.name), C(actor.type),"
            " C(target.id), C(target.type)) and any field the API adds in future kept, as"
            " canonical JSON, in a last C(extra) column. V(both) writes both.",
            "A data file of a format no longer asked for is removed from O(dest).",
        ],
    ),
    "settle": dict(
        type="str",
        default=WINDOW_SETTLE,
        description=[
            "How long after its end a window is taken as final, that is, no longer receiving"
            " entries. A bundle whose window ended less than this before the run is marked not"
            " final (RV(final=false)); run the export again later to get the settled period.",
            "Seconds (V(300)) or a number and a unit C(s), C(m), C(h), C(d) or C(w) (V(5m), V(1h)).",
        ],
    ),
    "previous": dict(
        type="path",
        description=[
            "The previous bundle of a chain of periods, its directory or its C(manifest.json).",
            "Its manifest's SHA-256 is recorded in this manifest, so the periods form a chain in"
            " which altering an earlier bundle is evident, and RV(previous.contiguous) says whether"
            " the previous window ends exactly where this one starts.",
            "The previous bundle is verified first (its files against its C(SHA256SUMS)); see"
            " O(previous_unverified).",
            "Omit it for the first period of a chain.",
        ],
    ),
    "previous_unverified": dict(
        type="str",
        choices=list(PREVIOUS_UNVERIFIED),
        default=PREVIOUS_UNVERIFIED[0],
        description=[
            "What to do when the O(previous) bundle fails verification.",
            "V(fail) fails the export, naming the bundle and the file that does not match.",
            "V(link) links it anyway, with a warning, and records RV(previous.verified=false)"
            " and the problems in the manifest, where M(nirvana_labs.audit.audit_log_verify)"
            " reports them.",
        ],
    ),
    "require_complete": dict(
        type="bool",
        default=True,
        description=[
            "Fail the task when the scan is known to be incomplete: the server said how many"
            " entries match (C(total_count)) and another number was received, or"
            " O(max_pages) or O(scan_timeout) stopped the scan.",
            "The bundle is written first, its manifest saying C(complete: false) and why, so"
            " that what was received can be examined; then the task fails with the reason.",
            "When completeness cannot be known (a server without C(total_count), a scan stopped"
            " early on a verified order) the task succeeds with RV(complete=null), and"
            " RV(completeness.reason) says why.",
            "V(false) writes the bundle and only warns.",
        ],
    ),
}

VERIFY_OPTIONS = {
    "bundles": dict(
        type="list",
        elements="path",
        required=True,
        description=[
            "The bundles of the chain, each a bundle directory (or its C(manifest.json)), or a"
            " directory whose subdirectories are the bundles, such as the parent of one"
            " directory per period.",
            "The order does not matter; the bundles are sorted by window and checked newest to"
            " oldest.",
        ],
    ),
    "fail_on_broken": dict(
        type="bool",
        default=True,
        description=[
            "Fail when any file, link or window does not verify; the result still carries every"
            " bundle's verdict.",
            "With V(false) the module succeeds and RV(ok) says whether the chain is intact.",
        ],
    ),
}

REPORT_OPTIONS = {
    "src": dict(
        type="path",
        required=True,
        description=[
            "The bundle directory, as written by M(nirvana_labs.audit.audit_log_export) with"
            " O(nirvana_labs.audit.audit_log_export#module:format=jsonl) or V(both).",
        ],
    ),
    "dest": dict(
        type="path",
        description=[
            "Directory to write the report files to. Defaults to O(src).",
            "The report files are not listed in the bundle's C(SHA256SUMS). They summarise the"
            " evidence and are not part of it, and can be regenerated from it at any time.",
        ],
    ),
    "baseline": dict(
        type="list",
        elements="path",
        default=[],
        description=[
            "Earlier bundles whose client IPs are known. A client IP of this window that none of"
            " them holds is listed as seen for the first time.",
            "Usually the previous period's bundle, the one given as"
            " O(nirvana_labs.audit.audit_log_export#module:previous) to the export.",
            "Without a baseline every address of the window counts as first seen, and the report"
            " says so.",
        ],
    ),
    "top": dict(
        type="int",
        default=DEFAULT_TOP,
        minimum=1,
        description=["Rows in the top actors, actions and target types tables."],
    ),
    "list_limit": dict(
        type="int",
        default=DEFAULT_LIST_LIMIT,
        minimum=1,
        description=["Most failed calls, deletions and new client IPs listed one by one (all are"
                     " counted)."],
    ),
    "formats": dict(
        type="list",
        elements="str",
        choices=list(REPORT_FORMATS),
        default=list(REPORT_FORMATS),
        non_empty=True,
        description=["Report files to write, V(markdown) (C(report.md)) and V(html) (C(report.html))."],
    ),
    "title": dict(
        type="str",
        description=["Title of the report. Defaults to the window."],
    ),
    "require_verified": dict(
        type="bool",
        default=True,
        description=[
            "Refuse to report on a bundle whose files do not match its C(SHA256SUMS).",
            "With V(false) the report is written with a warning at the top.",
        ],
    ),
}

# The shared ``attributes`` block of the modules that read the API.
API_MODULE_ATTRIBUTES = {
    "diff_mode": {"support": "none"},
    "platform": {
        "platforms": "posix",
        "details": ["Any host with Python and C(requests) that can reach the API, usually the"
                    " controller."],
    },
    "action_group": {
        "description": "Use C(group/nirvana_labs.audit.audit) in C(module_defaults) to set"
                       " defaults for this module.",
        "support": "full",
        "membership": ["nirvana_labs.audit.audit"],
    },
}

# Keys of the schema that are documentation only or plugin configuration sources.
_DOC_ONLY = ("description", "env", "vars", "ini")
# Bounds the argument spec cannot express; ``bounds_error`` checks them.
_BOUNDS = ("minimum", "above", "non_empty")


def doc_options(*groups, **kwargs):
    """The ``options`` mapping of a DOCUMENTATION block for the given groups.

    ``plugin=True`` adds the ``env``, ``vars`` and ``ini`` sources that lookup plugins read;
    modules document only the environment fallback, in the description.
    """
    plugin = kwargs.get("plugin", False)
    options = {}
    for group in groups:
        for name, schema in group.items():
            doc = dict((k, copy.deepcopy(v)) for k, v in schema.items()
                       if k not in _DOC_ONLY + _BOUNDS and k != "no_log")
            doc["description"] = list(schema["description"])
            if plugin:
                if schema.get("env"):
                    doc["env"] = [{"name": env} for env in schema["env"]]
                if schema.get("vars"):
                    doc["vars"] = [{"name": var} for var in schema["vars"]]
                if schema.get("ini"):
                    doc["ini"] = [{"section": INI_SECTION, "key": schema["ini"]}]
            if schema.get("env"):
                # A missing key is reported with a message naming every source, after every
                # source was read (schema_module, lookup_base); ``required`` would fail first.
                doc.pop("required", None)
            if not plugin and schema.get("env"):
                doc["description"].append(
                    "If not set, the environment variable E(%s) is used." % schema["env"][0])
            options[name] = doc
    return options


def missing_key_message(plugin=False):
    """Where the key can come from, in the order the plugin (or a module) reads them."""
    schema = CONNECTION_OPTIONS["api_key"]
    if plugin:
        return ("api_key: required; pass api_key=..., or set the variable %s, the environment"
                " variable %s, or %s in the [%s] section of ansible.cfg"
                % (schema["vars"][0], schema["env"][0], schema["ini"], INI_SECTION))
    return ("api_key: required; set the api_key option (for all modules of the collection at"
            " once with module_defaults group/nirvana_labs.audit.audit, fed from the variable"
            " %s) or the environment variable %s" % (schema["vars"][0], schema["env"][0]))


def bounds_error(params, *groups):
    """The message for the first parameter outside its bounds, or None when all are inside."""
    for group in groups:
        for name, schema in group.items():
            value = params.get(name)
            if "minimum" in schema and value is not None and value < schema["minimum"]:
                return "%s: must be a whole number of at least %d" % (name, schema["minimum"])
            if "above" in schema and value is not None and not value > schema["above"]:
                return "%s: must be a number above %g" % (name, schema["above"])
            if schema.get("non_empty") and value is not None and not value:
                return "%s: give at least one of %s" % (name, ", ".join(schema["choices"]))
    return None


def pick(params, *groups):
    """The values of ``params`` named in the given option groups."""
    return dict((name, params.get(name)) for group in groups for name in group)
