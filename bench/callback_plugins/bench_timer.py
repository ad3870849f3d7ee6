# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: bench_timer
type: aggregate
short_description: Write the wall time of every task to a JSON Lines file (benchmarks only)
description:
  - Records, for each task result, the task name, its action, when the task started and when
    its result came back, as seconds of C(time.perf_counter) within this ansible-playbook run.
  - Used by the benchmark suite in C(bench/); not part of the collection.
options:
  path:
    description: File to append the records to.
    env:
      - name: BENCH_TIMINGS
    required: true
    type: path
"""

import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Start time at v2_playbook_on_task_start, end time at the host's result.

    The benchmark plays run on one host with the linear strategy, so a task's start and its
    one result bracket exactly what the user waits for: templating, the worker, the module.
    """

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._started = {}
        self._handle = None

    def _out(self):
        if self._handle is None:
            self._handle = open(self.get_option("path"), "a")
        return self._handle

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.perf_counter()

    def _record(self, result, status):
        end = time.perf_counter()
        task = result._task
        start = self._started.get(task._uuid, end)
        # An until/loop task reports once per item; the last report closes the task.
        self._out().write(json.dumps({
            "name": task.get_name(),
            "action": task.action,
            "start": start,
            "end": end,
            "status": status,
        }) + "\n")
        self._out().flush()

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self._handle is not None:
            self._handle.close()
            self._handle = None
