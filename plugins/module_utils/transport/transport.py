# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Transport: GET JSON from the API, tying the transport's parts together.

Each rule has its own file beside this one: the session, the key and TLS (session.py), the
proxy rules (proxies.py), redirects (redirects.py), the body under its cap and standard JSON
(body.py), failures as typed errors (error_mapping.py) and the SDKs' retry timing (retry.py).
``timeout`` is a deadline for each attempt (connect, status line, headers and the whole body):
a watchdog (deadline.py) shuts the socket down when it passes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import random
import time
import warnings

from ansible_collections.nirvana_labs.audit.plugins.module_utils.deadline import Watchdog
from ansible_collections.nirvana_labs.audit.plugins.module_utils.errors import (
    AuditLogError,
    TLSError,
    TransportError,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.error_mapping import (
    SEND_ERRORS,
    masked,
    send_error,
    status_error,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.body import (
    ACCEPT_ENCODING,
    decode_json,
    read_reply,
    valid_body_cap,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.proxies import (
    proxies_for,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.redirects import (
    MAX_REDIRECTS,
    follow,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.retry import (
    DEFAULT_MAX_RETRIES,
    retry_delay,
    should_retry,
    valid_max_retries,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.session import (
    DEFAULT_TIMEOUT,
    default_user_agent,
    key_holder,
    open_session,
    tls_verify,
    valid_timeout,
)
from ansible_collections.nirvana_labs.audit.plugins.module_utils.transport.urls import (
    DEFAULT_BASE_URL,
    validate_base_url,
)


class Transport(object):
    """GET JSON from the API with the SDKs' retry policy. One Session, so one connection is
    reused across the pages of a scan."""

    def __init__(self, api_key, base_url=DEFAULT_BASE_URL, timeout=DEFAULT_TIMEOUT,
                 validate_certs=True, ca_path=None, max_retries=DEFAULT_MAX_RETRIES,
                 use_proxy=True, sleep=time.sleep, clock=time.time, rand=random.random,
                 user_agent=None, max_body_bytes=None):
        self._auth = key_holder(api_key)
        self.base_url = validate_base_url(base_url)
        self.timeout = valid_timeout(timeout)
        self.max_retries = valid_max_retries(max_retries)
        self.max_body_bytes = valid_body_cap(max_body_bytes)
        self.verify = tls_verify(validate_certs, ca_path)
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.use_proxy = bool(use_proxy) if use_proxy is not None else True
        self._user_agent = user_agent or default_user_agent()
        self._open_session()
        self.requests_sent = 0
        self.waits = []
        self.gate = None  # a back-off shared with sibling transports (parallel slices)

    def _open_session(self):
        """A Session whose connections are watched by this transport's deadline watchdog."""
        self._watchdog = Watchdog()
        self.session = open_session(self._watchdog, self._user_agent, ACCEPT_ENCODING)

    def close(self):
        self.session.close()
        self._watchdog.close()

    @property
    def clock(self):
        return self._clock

    @property
    def sleep(self):
        return self._sleep

    def sibling(self, gate=None):
        """A Transport with these settings and this key holder on its own Session (its own
        keep-alive connection), for one worker of a parallel read; the key is not copied.
        ``gate`` makes a wait seen by one sibling hold all of them."""
        twin = copy.copy(self)
        twin._open_session()  # its own connection and its own deadline watchdog
        twin.requests_sent = 0
        twin.waits = []
        twin.gate = self.gate = gate
        return twin

    def get_json(self, path, params=None):
        """GET base_url + path and return the decoded JSON body, or raise an AuditLogError."""
        try:
            response = self._request(self.base_url + path, params)
            return decode_json(response.content, response.status_code, self._scrub)
        except AuditLogError as err:
            raise masked(err, self._scrub)

    def _request(self, url, params):
        attempt = 0
        redirects_taken = 0
        while True:
            try:
                response = self._send(url, params)
            except TLSError:
                raise  # a certificate problem fails the same way every time
            except TransportError as err:
                if attempt < self.max_retries:
                    self._wait(None, attempt)
                    attempt += 1
                    continue
                raise TransportError("%s (after %d attempt%s)" % (
                    err, attempt + 1, "" if attempt == 0 else "s"))
            status = response.status_code
            if 300 <= status < 400 and response.headers.get("Location"):
                url = follow(url, response.headers["Location"], self.base_url, self._scrub)
                params = None
                redirects_taken += 1
                if redirects_taken > MAX_REDIRECTS:
                    raise TransportError("more than %d redirects" % MAX_REDIRECTS)
                continue
            if 200 <= status < 300:
                return response
            if should_retry(response) and attempt < self.max_retries:
                self._wait(response, attempt)
                attempt += 1
                continue
            raise status_error(response, attempt, self._scrub)

    def _send(self, url, params):
        gate, succeeded = self.gate, False
        if gate is not None:
            gate.pass_through(self)  # released below, whatever happens
        self.requests_sent += 1
        self._watchdog.arm(self.timeout)
        try:
            with warnings.catch_warnings():
                if self.verify is False:
                    # The user turned verification off on purpose; do not nag on every request.
                    warnings.simplefilter("ignore")
                response = self.session.get(url, params=params, auth=self._auth,
                                            timeout=self.timeout, verify=self.verify,
                                            proxies=self._proxies(url), allow_redirects=False,
                                            stream=True)
                response = read_reply(response, self.max_body_bytes, self._scrub)
                succeeded = 200 <= response.status_code < 300
                return response
        except SEND_ERRORS as err:
            raise send_error(err, url, self.timeout, self._watchdog.fired, self._scrub)
        finally:
            self._watchdog.disarm()
            if gate is not None:
                gate.release(self, succeeded)

    def _proxies(self, url):
        return proxies_for(url, self.use_proxy)

    def retry_delay(self, response, attempt):
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        return retry_delay(response, attempt, self._clock, self._rand)

    def _wait(self, response, attempt):
        delay = self.retry_delay(response, attempt)
        self.waits.append(delay)
        if self.gate is not None:
            # A 429 is a rate limit: the gate also paces the requests of every worker.
            self.gate.hold(delay, self, limited=response is not None
                           and response.status_code == 429)
        self._sleep(delay)

    def _scrub(self, text):
        return self._auth.mask(text)
