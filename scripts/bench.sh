#!/usr/bin/env bash
# The benchmark suite (issue 7): `make bench`, or `bash scripts/bench.sh`.
#
#   BENCH_QUICK=1 bash scripts/bench.sh   # smoke run, about a minute
#
# Builds or reuses the pinned venv of the newest ansible-core (scripts/venv.sh), then runs
# bench/run.py with it: a table on stdout, the JSON under bench/results/. Progress goes to
# stderr. Phase 7 (`modules`) is the peak memory of the export and report module processes
# (formerly scripts/measure_export_rss.py): BENCH_ONLY=modules runs it alone. Other knobs
# (repetitions, one phase only) are listed in bench/run.py.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/venv.sh
source scripts/venv.sh
venv=$(audit_venv "${BENCH_ANSIBLE:-2.21}")
exec "$venv/bin/python" bench/run.py "$@"
