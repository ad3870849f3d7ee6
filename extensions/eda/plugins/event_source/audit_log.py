# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event source nirvana_labs.audit.audit_log: a thin asyncio adapter over the poller.

Argument parsing, the asyncio loop and the import fix-up live here; what is read, deduplicated
and checkpointed lives in plugins/module_utils/poller.py (Ansible-free, unit-tested).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import contextlib
import logging
import os
import signal
import sys

DOCUMENTATION = r"""
---
short_description: Events from the Nirvana Labs audit log, each entry exactly once
description:
  - Polls the audit log of the Nirvana Labs cloud API and puts one event per new entry on the
    ansible-rulebook queue, oldest first. The event is a mapping with one key, C(audit_log),
    whose value is the entry as the API returned it.
  - Each poll re-reads the last O(settle) seconds and drops the ids it has already sent, so an
    entry that shares a second with another or that the API lists a little late is still sent,
    and sent once. With O(state_file), a restart resumes where the last run stopped, with no
    gap and no duplicate.
  - Filters are those of the M(nirvana_labs.audit.audit_log_info) module, with the same syntax;
    those the API supports are sent to it, and every entry is checked again on the client.
  - Outages (connection errors, timeouts, HTTP 429 and 5xx after the client's retries) are
    logged and polling goes on; a refused key (401, 403) or a bad argument stops the source
    with a message. The API key never appears in a log.
  - Delivered means handed to ansible-rulebook. An event it had taken but not yet acted on
    when it was stopped is not sent again (ansible-rulebook acknowledges events only with its
    persistence feature).
options:
  api_key:
    description:
      - The Nirvana Labs API key. If not set, the environment variable E(NIRVANA_LABS_API_KEY)
        is used. Required.
      - Prefer the environment variable or a vaulted variable over a literal in a rulebook.
    type: str
  base_url:
    description:
      - Base URL of the API; plain C(http://) only for loopback addresses.
      - If not set, E(NIRVANA_LABS_BASE_URL), else C(https://api.nirvanalabs.io).
    type: str
  ca_path:
    description:
      - PEM file of CA certificates to verify the server with. E(NIRVANA_LABS_CA_PATH).
    type: path
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate. E(NIRVANA_LABS_VALIDATE_CERTS).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the server, per attempt. E(NIRVANA_LABS_TIMEOUT).
    type: float
    default: 60
  max_retries:
    description:
      - Retries of a request that failed in a retryable way (connection errors, timeouts, 408,
        409, 429, 5xx), with the back-off of the collection's client.
        E(NIRVANA_LABS_MAX_RETRIES).
    type: int
    default: 2
  use_proxy:
    description:
      - Whether an C(https://) O(base_url) may go through E(HTTPS_PROXY) (else E(ALL_PROXY))
        as a CONNECT tunnel, unless E(NO_PROXY) lists the host; plain C(http://) is never
        proxied. E(NIRVANA_LABS_USE_PROXY).
    type: bool
    default: true
  max_body_bytes:
    description:
      - Most bytes of one response body read, after decompression; a larger body fails the
        poll. E(NIRVANA_LABS_MAX_BODY_BYTES).
    type: int
    default: 33554432
  since:
    description:
      - Where to start when there is no O(state_file) (or it does not exist yet), in the forms
        the module's O(nirvana_labs.audit.audit_log_info#module:since) takes (C(2026-11-01),
        C(2026-11-01T08:00:00Z), C(30m), C(7d), C(now)).
      - The default, C(now), sends only entries created from the current second on.
      - Ignored when O(state_file) exists: the run resumes from it.
    type: str
    default: now
  interval:
    description:
      - Seconds between the end of a poll and the start of the next.
    type: float
    default: 5
  settle:
    description:
      - Seconds after its C(created_at) by which an entry is listed for good. Each poll re-reads
        this window, so it must cover the API's ingestion delay, the offset between the API's
        clock and this host's, and one second of C(created_at) rounding.
      - A larger value costs a little more reading per poll, never a duplicate.
    type: float
    default: 30
  ordered:
    description:
      - Hold each entry until it has settled, so events come in strict creation order even
        when the API lists an entry late, at the cost of O(settle) seconds of latency.
      - By default an entry is sent as soon as it is listed; a late one can then follow a newer
        one.
    type: bool
    default: false
  state_file:
    description:
      - File where the source records what it has sent, after each event (written atomically,
        mode C(0600); it holds entry ids and times, never the key). A restart with the same
        file resumes with no gap and no duplicate.
    type: path
  action:
    description: Only entries with this action, such as C(vm.deleted) or C(api_key.*) (globs).
    type: list
    elements: str
  actor_id:
    description: Only entries by this user or API key id (globs).
    type: list
    elements: str
  actor_name:
    description: Only entries by an actor with this display name (globs; client side only).
    type: list
    elements: str
  actor_type:
    description: Only entries by this kind of actor.
    type: list
    elements: str
    choices: [user, api_key]
  target_id:
    description: Only entries acting on this resource id (globs).
    type: list
    elements: str
  target_type:
    description: Only entries acting on this kind of resource, such as C(vm) (globs).
    type: list
    elements: str
  method:
    description: Only entries of this HTTP method; case-insensitive.
    type: list
    elements: str
  path:
    description: Only entries whose request path matches this glob, case-insensitively.
    type: list
    elements: str
  client_ip:
    description: Only entries from this address or CIDR range, IPv4 or IPv6.
    type: list
    elements: str
  status_code:
    description: Only entries with this status, a range (C(400-499)) or a class (C(5xx)).
    type: list
    elements: str
notes:
  - Several values of one filter match any of them; different filters must all match.
  - ansible-rulebook loads this file without Ansible's collection loader; the source finds the
    collection's shared client itself, with no E(PYTHONPATH) to set.
"""

EXAMPLES = r"""
- name: React to VMs deleted by API keys
  hosts: localhost
  sources:
    - nirvana_labs.audit.audit_log:
        # api_key from the environment: NIRVANA_LABS_API_KEY
        action: vm.deleted
        actor_type: api_key
        state_file: /var/lib/eda/nirvana_audit.state
  rules:
    - name: Page the on-call team
      condition: event.audit_log.action == "vm.deleted"
      action:
        run_playbook:
          name: playbooks/vm_deleted_by_key.yml

- name: A burst of refused requests, in strict order, from the last hour on
  hosts: localhost
  sources:
    - nirvana_labs.audit.audit_log:
        status_code: [401, 403]
        since: 1h
        ordered: true
        settle: 10
        interval: 10
  rules:
    - name: Log them
      condition: event.audit_log.status_code >= 400
      action:
        debug:
          msg: "{{ event.audit_log.client_ip }} got {{ event.audit_log.status_code }}"
"""


def _make_collection_importable():
    """ansible-rulebook runs this file with runpy, without Ansible's collection loader, so
    ``ansible_collections.nirvana_labs.audit`` is importable only if the folder that holds
    ``ansible_collections`` is on sys.path. It is seven levels above this file."""
    try:
        import ansible_collections.nirvana_labs.audit.plugins.module_utils.poller  # noqa: F401 pylint: disable=unused-import
        return
    except ImportError:
        pass
    collections_dir = os.path.abspath(__file__)
    for dummy in range(7):
        collections_dir = os.path.dirname(collections_dir)
    if os.path.basename(collections_dir) != "ansible_collections":
        raise ImportError("nirvana_labs.audit.audit_log: this file is not inside an installed"
                          " collection (ansible_collections/nirvana_labs/audit/...)")
    sys.path.insert(0, os.path.dirname(collections_dir))


_make_collection_importable()

# pylint: disable=wrong-import-position
from ansible_collections.nirvana_labs.audit.plugins.module_utils import options as schema  # noqa: E402
from ansible_collections.nirvana_labs.audit.plugins.module_utils.client import AuditLogClient  # noqa: E402
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (  # noqa: E402
    AuditLogError,
    InvalidOption,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.poller import (  # noqa: E402
    DEFAULT_INTERVAL,
    AuditLogPoller,
    Outage,
    is_fatal,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.query import FILTER_NAMES  # noqa: E402
from ansible_collections.nirvana_labs.audit.plugins.module_utils.settle import SOURCE_SETTLE  # noqa: E402

LOG = logging.getLogger("nirvana_labs.audit.audit_log")
# The option groups the plugins share; read in this one place.
CONNECTION = schema.CONNECTION_OPTIONS
# The module's filters, less the window: the source's own ``since`` starts it, and it has no end.
FILTERS = tuple(name for name in FILTER_NAMES if name not in ("since", "until"))
SOURCE_OPTIONS = ("since", "interval", "settle", "ordered", "state_file")
QUEUE_RETRY_SECONDS = 0.05
_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


def _coerce(name, value, kind):
    """A connection value (from the rulebook or, as text, from the environment) as its type."""
    if value is None or kind in ("str", None):
        return value
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE + _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError(value)
            return int(float(value))
        if kind == "float":
            return float(value)
        if kind == "path":
            return os.path.expanduser(str(value))
    except (TypeError, ValueError):
        raise InvalidOption(name, "must be a %s" % {"bool": "boolean", "int": "whole number",
                                                    "float": "number"}.get(kind, kind))
    return value


def parse_args(args, environ=None):
    """(connection options, filters, source options) from the rulebook's arguments; connection
    options fall back to their environment variables, as in the other plugins."""
    environ = os.environ if environ is None else environ
    args = dict((k, v) for k, v in (args or {}).items() if not k.startswith("eda_"))
    unknown = sorted(set(args) - set(CONNECTION) - set(FILTERS) - set(SOURCE_OPTIONS))
    if unknown:
        raise InvalidOption(unknown[0], "is not an option of nirvana_labs.audit.audit_log")
    connection = {}
    for name, spec in CONNECTION.items():
        value = args.get(name)
        for variable in spec.get("env") or ():
            if value is None and environ.get(variable, "") != "":
                value = environ[variable]
        value = _coerce(name, value, spec.get("type"))
        connection[name] = spec.get("default") if value is None else value
    if not connection.get("api_key"):
        raise InvalidOption("api_key", "is required; set it or NIRVANA_LABS_API_KEY")
    filters = dict((name, args[name]) for name in FILTERS if args.get(name) is not None)
    source = {
        "since": args.get("since"),
        "interval": args.get("interval", DEFAULT_INTERVAL),
        "settle": args.get("settle", SOURCE_SETTLE),
        "ordered": _coerce("ordered", args.get("ordered", False), "bool"),
        "state_file": _coerce("state_file", args.get("state_file"), "path"),
    }
    return connection, filters, source


@contextlib.contextmanager
def _signals_held(task=None):
    """Hold SIGTERM and SIGINT while an event is handed over and recorded.

    ansible-rulebook turns them into KeyboardInterrupt, which could land between the two and
    send the event again after a restart. Held here, they are raised right after. While the
    hand-over waits for room in the queue, a held signal also cancels ``task``: its put is
    then abandoned (a cancelled ``queue.put`` puts nothing) and the signal raised at once,
    so a stop is never delayed by a full queue. Only the main thread may set handlers;
    elsewhere nothing is held.
    """
    held = (signal.SIGTERM, signal.SIGINT)
    caught = []

    def hold(signum, frame):
        caught.append(signum)
        if task is not None:
            task.cancel()
    try:
        previous = dict((sig, signal.getsignal(sig)) for sig in held)
        for sig in held:
            signal.signal(sig, hold)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig in held:
            signal.signal(sig, previous[sig])
        for signum in caught[:1]:
            signal.raise_signal(signum)


async def _hand_over(queue, poller, entry):
    """Put one event on the queue and record it, with nothing in between: ``await put``
    waits for room (ansible-rulebook's queue holds one event) without polling, and a
    cancellation while it waits raises CancelledError with nothing put, so nothing is
    recorded. Once the put is done, the code runs on to the record without yielding to the
    event loop, so no cancellation can fall in between."""
    task = asyncio.current_task()
    with _signals_held(task):
        await queue.put({"audit_log": entry})
        poller.delivered(entry)


async def _next_batch(poll, loop):
    """The next batch, read in a daemon thread (the client is synchronous). Cancelled, the
    poll is told to stop and the source goes on stopping at once; the thread ends at its next
    entry, or with its request, without anyone waiting for it."""
    future = loop.create_future()

    def settle(batch, error):
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(batch)
    def report(batch, error):
        try:
            loop.call_soon_threadsafe(settle, batch, error)
        except RuntimeError:
            pass  # the loop has ended: the source stopped while this read ran
    poll.next_batch_in_thread(report)
    try:
        return await future
    except asyncio.CancelledError:
        poll.stop()
        raise


async def _poll_once(queue, poller, loop):
    """Read and deliver one poll, batch by batch."""
    poll = poller.start_poll()
    while True:
        batch = await _next_batch(poll, loop)
        if batch is None:
            return
        if batch.keyless:
            LOG.warning("nirvana_labs.audit.audit_log: %d entr%s without a usable id, sent once"
                        " each and remembered by the SHA-256 of their content", batch.keyless,
                        "y" if batch.keyless == 1 else "ies")
        for entry in batch.entries:
            await _hand_over(queue, poller, entry)
        dropped = poller.commit(batch)
        if dropped:
            LOG.warning("nirvana_labs.audit.audit_log: the API's list never ends and is not in"
                        " creation order; %d remembered ids were forgotten to bound memory"
                        " (entries it lists later than that may be missed)", dropped)


async def main(queue, args):
    """Entry point called by ansible-rulebook."""
    try:
        connection, filters, source = parse_args(args)
        client = AuditLogClient.from_options(connection)
    except AuditLogError as err:
        LOG.error("nirvana_labs.audit.audit_log: %s", err)
        raise
    loop = asyncio.get_running_loop()
    outage = Outage()
    try:
        try:
            poller = AuditLogPoller(client, filters=filters, **source)
        except AuditLogError as err:
            LOG.error("nirvana_labs.audit.audit_log: %s", err)
            raise
        LOG.info("nirvana_labs.audit.audit_log: %s from %s, every %ss (settle %ss)",
                 "resuming" if poller.resumed else "starting",
                 poller.checkpoint.watermark.isoformat(), poller.interval, poller.settle)
        try:
            while True:
                try:
                    await _poll_once(queue, poller, loop)
                except AuditLogError as err:
                    if is_fatal(err):
                        LOG.error("nirvana_labs.audit.audit_log stopped: %s", err)
                        raise
                    message = outage.failed(err)
                    if message:
                        LOG.warning("nirvana_labs.audit.audit_log: %s", message)
                else:
                    message = outage.recovered()
                    if message:
                        LOG.warning("nirvana_labs.audit.audit_log: %s", message)
                await asyncio.sleep(poller.interval)
        finally:
            poller.close()  # the state's lock and journal
    finally:
        client.close()


if __name__ == "__main__":
    # Run alone: print the events (NIRVANA_LABS_API_KEY and friends from the environment).
    class _PrintQueue(asyncio.Queue):
        def put_nowait(self, item):
            print(item)  # noqa: T201

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"since": sys.argv[1] if len(sys.argv) > 1 else "now"}))
