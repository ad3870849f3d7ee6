# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the benchmark playbooks with ansible-playbook and read the task timings the
bench_timer callback wrote."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PLAYBOOKS = os.path.join(HERE, "playbooks")
CALLBACKS = os.path.join(HERE, "callback_plugins")


class PlaybookFailed(RuntimeError):
    pass


def run(ctx, playbook, extra_vars, tag, inventory="localhost,", environment=None):
    """Run ``playbook`` (a file name in bench/playbooks) once; returns the task records.

    Output goes to ``<workdir>/<tag>.log``; the run fails loudly when a task failed (the
    playbooks check their own results, so a failed run never yields figures).
    """
    vars_path = os.path.join(ctx.workdir, "%s.vars.json" % tag)
    timings = os.path.join(ctx.workdir, "%s.timings.jsonl" % tag)
    log_path = os.path.join(ctx.workdir, "%s.log" % tag)
    with open(vars_path, "w") as handle:
        json.dump(extra_vars, handle)  # extra vars in a file: the key stays off the process list
    if os.path.exists(timings):
        os.remove(timings)
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": ctx.collections_path,
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "bench_timer",
        "BENCH_TIMINGS": timings,
        # Modules run with the interpreter of this venv, which has requests.
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_HOME": os.path.join(ctx.workdir, "ansible-home"),
    })
    env.update(environment or {})
    for name in ("ANSIBLE_CONFIG", "NIRVANA_LABS_API_KEY", "NIRVANA_LABS_BASE_URL"):
        env.pop(name, None)
    cmd = [ctx.ansible_playbook, "-i", inventory, os.path.join(PLAYBOOKS, playbook),
           "-e", "@" + vars_path]
    with open(log_path, "w") as log:
        rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ctx.workdir)
    if rc != 0:
        raise PlaybookFailed("ansible-playbook %s failed (rc %d); see %s" % (playbook, rc, log_path))
    with open(timings) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def durations(records, name):
    """Wall seconds of every task called ``name``, in run order."""
    return [r["end"] - r["start"] for r in records if r["name"] == name]


def span(records, prefix):
    """Seconds from the start of the first task whose name starts with ``prefix`` to the end
    of the last one."""
    chosen = [r for r in records if r["name"].startswith(prefix)]
    if not chosen:
        return None
    return max(r["end"] for r in chosen) - min(r["start"] for r in chosen)
