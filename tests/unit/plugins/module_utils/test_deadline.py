# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-attempt deadline watchdog: it shuts the attempt's socket at the deadline, never an
attempt that ended in time, and serves every request of a transport with one thread."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading
import time

import pytest

from ansible_collections.nirvana_labs.audit.plugins.module_utils.deadline import Watchdog


class FakeSocket(object):
    def __init__(self):
        self.shut = []

    def shutdown(self, how):
        self.shut.append(how)


class FakeConnection(object):
    def __init__(self):
        self.sock = FakeSocket()


def attempt(watchdog, seconds):
    """Arm for one attempt on a fresh connection; the connection is returned."""
    watchdog.arm(seconds)
    connection = FakeConnection()
    watchdog.attach(connection)
    return connection


def wait_until(predicate, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def watchdog():
    dog = Watchdog()
    yield dog
    dog.close()


def test_the_deadline_shuts_the_attempts_socket(watchdog):
    connection = attempt(watchdog, 0.05)
    assert wait_until(lambda: watchdog.fired)
    assert connection.sock.shut == [socket.SHUT_RDWR]


def test_an_attempt_that_ended_in_time_is_left_alone(watchdog):
    connection = attempt(watchdog, 0.2)
    watchdog.disarm()
    time.sleep(0.5)
    assert not watchdog.fired and connection.sock.shut == []


def test_an_earlier_attempts_deadline_never_ends_the_next_one(watchdog):
    attempt(watchdog, 0.3)
    time.sleep(0.2)
    watchdog.disarm()
    second = attempt(watchdog, 0.6)  # the first deadline passes while this one runs
    time.sleep(0.3)
    assert not watchdog.fired and second.sock.shut == []
    assert wait_until(lambda: watchdog.fired)
    assert second.sock.shut == [socket.SHUT_RDWR]


def test_a_shorter_deadline_after_a_long_one_is_kept(watchdog):
    attempt(watchdog, 30)
    time.sleep(0.05)  # the thread now sleeps towards the 30 s deadline
    watchdog.disarm()
    connection = attempt(watchdog, 0.05)
    assert wait_until(lambda: watchdog.fired, limit=3.0)
    assert connection.sock.shut == [socket.SHUT_RDWR]


def test_one_thread_serves_every_attempt_and_close_ends_it(watchdog):
    before = threading.active_count()
    threads = set()
    for dummy in range(200):
        attempt(watchdog, 10)
        threads.add(watchdog._thread)  # pylint: disable=protected-access
        watchdog.disarm()
    assert len(threads) == 1 and threading.active_count() == before + 1
    watchdog.close()
    assert not threads.pop().is_alive() and threading.active_count() == before
    # A closed watchdog still works when armed again.
    connection = attempt(watchdog, 0.05)
    assert wait_until(lambda: watchdog.fired)
    assert connection.sock.shut == [socket.SHUT_RDWR]
