# -*- coding: utf-8 -*-
# Copyright: Nirvana Labs audit collection contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run's figures depend on: versions, CPUs, memory, load, the commit measured."""

import datetime
import os
import platform
import re
import subprocess
import sys
import time


def _version(module):
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", None)


def _ansible_core():
    try:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return __version__


def _collection_version(root):
    with open(os.path.join(root, "galaxy.yml")) as handle:
        match = re.search(r"^version:\s*['\"]?([^'\"\s]+)", handle.read(), re.MULTILINE)
    return match.group(1) if match else None


def _git(root, *args):
    try:
        return subprocess.check_output(("git", "-C", root) + args, stderr=subprocess.DEVNULL,
                                       universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except IOError:
        pass
    return platform.processor() or None


def _mem_total_mib():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except IOError:
        pass
    return None


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(root, ctx):
    dirty = _git(root, "status", "--porcelain", "--", "plugins", "meta", "galaxy.yml")
    return {
        "started_at": _now(),
        "collection_version": _collection_version(root),
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "collection_modified_since_commit": bool(dirty) if dirty is not None else None,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "ansible_core": _ansible_core(),
        "requests": _version("requests"),
        "urllib3": _version("urllib3"),
        "numpy_emulator": _version("numpy"),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "mem_total_mib": _mem_total_mib(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "emulator_tcp_nodelay": "as shipped" if ctx.emulator_as_is else "set by bench/serve_emulator.py",
        "executable": sys.executable,
    }


def finish(env, ctx):
    env["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    env["finished_at"] = _now()
    env["duration_s"] = round(time.time() - ctx.started, 1)
