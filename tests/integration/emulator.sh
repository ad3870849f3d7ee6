# shellcheck shell=bash
# The integration targets' shared helpers: the local API emulator (started and stopped through
# tests/emulator/launcher.py), the variables file that carries its URL and key, playbook runs at
# -vvvv into one log, and the check that the key never reached that log.
#
#   # aliases of the target must contain:  needs/file/tests/integration/emulator.sh
#   source ../../emulator.sh
#   start_emulator --api 2026-08 --entries 500      # any serve.py options; --port 0 is added
#   start_emulator --export-connection --tls        # a second one; also sets NIRVANA_LABS_*
#   vvvv_log lookup_audit_log                       # sets work (OUTPUT_DIR or a temp dir), log
#   write_vars filtering api_generation=2026-08     # sets vars_file; extra KEY=VALUE lines
#   use_emulator seed api_generation=seed -- --api seed --entries 500   # both of the above
#   run_playbook main.yml -e expect=ok              # -vvvv into $log with -e @$vars_file
#   emulator_faults PUT '[{"kind": "latency", "fixed_ms": 15}]'   # or: emulator_faults DELETE
#   assert_key_not_logged                           # no key write_vars saw is in $log
#   work_dir, log_file, vars_path NAME              # print work, log, NAME's vars file
#
# start_emulator exports EMULATOR_URL, EMULATOR_API_KEY, EMULATOR_CA_PATH (empty without
# --tls), EMULATOR_PID and EMULATOR_INFO (the whole JSON line). With --export-connection (first
# argument) it also exports NIRVANA_LABS_BASE_URL, NIRVANA_LABS_API_KEY and, with TLS,
# NIRVANA_LABS_CA_PATH, which every plugin reads. Every emulator started is stopped on EXIT; a
# runme.sh that sets its own EXIT trap after sourcing this file must call stop_emulators in it.
#
# ansible-test runs the target from a copy under tests/output/.tmp/ inside the collection, so
# the launcher is found by walking up to the collection root; EMULATOR_LAUNCHER overrides that.

# Set by start_emulator (through eval); declared here for readers and shellcheck.
export EMULATOR_URL="" EMULATOR_API_KEY="" EMULATOR_CA_PATH="" EMULATOR_PID="" EMULATOR_INFO=""
_EMULATOR_PIDS=()
_EMULATOR_FILES=()
_EMULATOR_KEYS=()
EMULATOR_START_TIMEOUT=${EMULATOR_START_TIMEOUT:-60}

_emulator_launcher() {
    local dir
    if [ -n "${EMULATOR_LAUNCHER:-}" ]; then
        echo "$EMULATOR_LAUNCHER"
        return 0
    fi
    for dir in "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" "$PWD"; do
        while [ "$dir" != / ] && [ -n "$dir" ]; do
            if [ -f "$dir/galaxy.yml" ] && [ -f "$dir/tests/emulator/launcher.py" ]; then
                echo "$dir/tests/emulator/launcher.py"
                return 0
            fi
            dir=$(dirname "$dir")
        done
    done
    echo "emulator.sh: tests/emulator/launcher.py not found above $PWD" >&2
    return 1
}

# The interpreter ansible-test runs the target with has tests/integration/requirements.txt.
emulator_python() {
    if [ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ]; then
        echo "$ANSIBLE_TEST_PYTHON_INTERPRETER"
    else
        command -v python3 || command -v python
    fi
}

stop_emulators() {
    local pid
    if [ ${#_EMULATOR_PIDS[@]} -gt 0 ]; then
        "$(emulator_python)" "$(_emulator_launcher)" stop "${_EMULATOR_PIDS[@]}" || true
        for pid in "${_EMULATOR_PIDS[@]}"; do
            wait "$pid" 2>/dev/null || true   # reap it: no zombie outlives the target
        done
    fi
    _EMULATOR_PIDS=()
    if [ ${#_EMULATOR_FILES[@]} -gt 0 ]; then
        rm -f "${_EMULATOR_FILES[@]}"
    fi
    _EMULATOR_FILES=()
}

start_emulator() {
    local python launcher out err exports flags=()
    if [ "${1:-}" = --export-connection ]; then
        flags+=(--export-connection)
        shift
    fi
    python=$(emulator_python) || return 1
    launcher=$(_emulator_launcher) || return 1
    out=$(mktemp)
    err=$(mktemp)
    _EMULATOR_FILES+=("$out" "$err")
    if [ ${#_EMULATOR_PIDS[@]} -eq 0 ]; then
        trap stop_emulators EXIT
    fi
    # Started here, not by launcher.py, so that it stays this shell's child (see launcher.py).
    "$python" "$launcher" exec -- "$@" >"$out" 2>"$err" &
    _EMULATOR_PIDS+=("$!")
    exports=$("$python" "$launcher" ready --pid "$!" --stdout "$out" --stderr "$err" \
        --timeout "$EMULATOR_START_TIMEOUT" ${flags[@]+"${flags[@]}"}) || return 1
    eval "$exports"   # export EMULATOR_URL=... lines, each value quoted by launcher.py
}

# Set (PUT, with a JSON list of rules) or clear (DELETE) the current emulator's faults.
emulator_faults() {
    "$(emulator_python)" - "$EMULATOR_URL/_emulator/faults" "$1" "${2:-}" "$EMULATOR_CA_PATH" <<'PY'
import ssl, sys
from urllib.request import Request, urlopen
url, method, body, ca_path = sys.argv[1:5]
request = Request(url, data=body.encode("utf-8") if body else None, method=method,
                  headers={"Content-Type": "application/json"})
context = ssl.create_default_context(cafile=ca_path) if ca_path else None
urlopen(request, timeout=10, context=context).read()
PY
}

# work: OUTPUT_DIR (kept by ansible-test) or a temporary directory; log: NAME-vvvv.log in it.
vvvv_log() {
    work=${OUTPUT_DIR:-$(mktemp -d)}
    mkdir -p "$work"
    log="$work/$1-vvvv.log"
    : >"$log"
}

# The current emulator's URL, key and CA path, and any KEY=VALUE given, as a variables file
# readable by its owner only: the key reaches ansible-playbook through it, never the command
# line. Sets vars_file and remembers the key for assert_key_not_logged.
write_vars() {
    local pair
    vars_file=$(vars_path "$1")
    shift
    (
        umask 077   # before the file is opened: the redirection is inside the subshell
        {
            printf 'emulator_url: "%s"\nemulator_api_key: "%s"\nemulator_ca_path: "%s"\n' \
                "$EMULATOR_URL" "$EMULATOR_API_KEY" "${EMULATOR_CA_PATH:-}"
            for pair in "$@"; do
                printf '%s: "%s"\n' "${pair%%=*}" "${pair#*=}"
            done
        } >"$vars_file"
    )
    _EMULATOR_KEYS+=("$EMULATOR_API_KEY")
}

# use_emulator NAME [KEY=VALUE...] -- [serve.py options]: start_emulator, then write_vars.
use_emulator() {
    local name=$1 pairs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        pairs+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    start_emulator "$@"
    write_vars "$name" ${pairs[@]+"${pairs[@]}"}
}

# What a runme.sh reads of the helpers' state: ansible-test's shellcheck does not follow
# `source`, so a target calls these instead of naming work, log or vars_file itself.
work_dir() { echo "$work"; }
log_file() { echo "$log"; }
vars_path() { echo "$work/emulator-$1.yml"; }   # the file write_vars NAME writes

# One ansible-playbook run at -vvvv with the vars file, appended to $log; on failure the
# failing task (without the -vvvv noise around it) and exit 1.
run_playbook() {
    local playbook=$1 part="$work/part.log" started=$SECONDS
    shift
    echo "=== $playbook ($(basename "$vars_file")) $*"
    if ansible-playbook -i "$INVENTORY_PATH" "$playbook" -e "@$vars_file" -vvvv "$@" >"$part" 2>&1; then
        cat "$part" >>"$log"
        echo "$(grep -A1 "PLAY RECAP" "$part" | tail -n 1) in $((SECONDS - started)) s"
    else
        cat "$part" >>"$log"
        grep -v "^<testhost>\|^Using module file\|^Pipelining\|^redirecting\|^Loading" "$part" | tail -n 60
        echo "FAILED: $playbook (full -vvvv output in $log)" >&2
        exit 1
    fi
}

# No API key write_vars saw appears in $log.
assert_key_not_logged() {
    local key
    for key in "${_EMULATOR_KEYS[@]}"; do
        if grep -qF -- "$key" "$log"; then
            echo "FAILED: the API key appears in the -vvvv output ($log), lines:" \
                "$(grep -nF -- "$key" "$log" | cut -d: -f1 | head -n 20 | tr '\n' ' ')" >&2
            exit 1
        fi
    done
    echo "OK: $(wc -l <"$log") lines of -vvvv output, none with the API key"
}
