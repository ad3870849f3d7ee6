# shellcheck shell=bash
# Start the local API emulator from an integration target's runme.sh, stop it on EXIT.
#
#   # aliases of the target must contain:  needs/file/tests/integration/emulator.sh
#   source ../../emulator.sh
#   start_emulator --api 2026-08 --entries 500      # any serve.py options; --port 0 is added
#   ansible-playbook -i "$INVENTORY_PATH" play.yml -e "base_url=$EMULATOR_URL" ...
#   start_emulator --export-connection --tls        # a second one; also sets NIRVANA_LABS_*
#
# start_emulator waits for serve.py's JSON line and exports EMULATOR_URL, EMULATOR_API_KEY,
# EMULATOR_CA_PATH (empty without --tls), EMULATOR_PID and EMULATOR_INFO (the whole line).
# With --export-connection (first argument) it also exports NIRVANA_LABS_BASE_URL,
# NIRVANA_LABS_API_KEY and, with TLS, NIRVANA_LABS_CA_PATH, which every plugin reads.
# Every emulator started is stopped on EXIT; a runme.sh that sets its own EXIT trap after
# sourcing this file must call stop_emulators in it.
#
# ansible-test runs the target from a copy under tests/output/.tmp/ inside the collection, so
# serve.py is found by walking up to the collection root; EMULATOR_SERVE overrides that.

_EMULATOR_PIDS=()
_EMULATOR_FILES=()
EMULATOR_START_TIMEOUT=${EMULATOR_START_TIMEOUT:-60}

_emulator_serve_py() {
    local dir
    if [ -n "${EMULATOR_SERVE:-}" ]; then
        echo "$EMULATOR_SERVE"
        return 0
    fi
    for dir in "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)" "$PWD"; do
        while [ "$dir" != / ] && [ -n "$dir" ]; do
            if [ -f "$dir/galaxy.yml" ] && [ -f "$dir/tests/emulator/serve.py" ]; then
                echo "$dir/tests/emulator/serve.py"
                return 0
            fi
            dir=$(dirname "$dir")
        done
    done
    echo "emulator.sh: tests/emulator/serve.py not found above $PWD" >&2
    return 1
}

# The interpreter ansible-test runs the target with has tests/integration/requirements.txt.
_emulator_python() {
    if [ -n "${ANSIBLE_TEST_PYTHON_INTERPRETER:-}" ]; then
        echo "$ANSIBLE_TEST_PYTHON_INTERPRETER"
    else
        command -v python3 || command -v python
    fi
}

stop_emulators() {
    local pid tries
    for pid in "${_EMULATOR_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${_EMULATOR_PIDS[@]}"; do
        # Give each a few seconds to close its sockets, then stop waiting for it.
        tries=10
        while [ "$tries" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
            sleep 0.5
            tries=$((tries - 1))
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    _EMULATOR_PIDS=()
    if [ ${#_EMULATOR_FILES[@]} -gt 0 ]; then
        rm -f "${_EMULATOR_FILES[@]}"
    fi
    _EMULATOR_FILES=()
}

start_emulator() {
    local export_connection=0 serve python out err pid waited=0 line fields
    if [ "${1:-}" = --export-connection ]; then
        export_connection=1
        shift
    fi
    serve=$(_emulator_serve_py) || return 1
    python=$(_emulator_python) || return 1
    out=$(mktemp)
    err=$(mktemp)
    _EMULATOR_FILES+=("$out" "$err")
    if [ ${#_EMULATOR_PIDS[@]} -eq 0 ]; then
        trap stop_emulators EXIT
    fi

    "$python" "$serve" --port 0 "$@" >"$out" 2>"$err" &
    pid=$!
    _EMULATOR_PIDS+=("$pid")

    # serve.py prints its JSON line once it listens.
    until line=$(head -n 1 "$out") && [ "${line: -1}" = "}" ]; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "emulator.sh: serve.py exited before listening:" >&2
            cat "$err" >&2
            return 1
        fi
        if [ "$waited" -ge $((EMULATOR_START_TIMEOUT * 10)) ]; then
            echo "emulator.sh: no JSON line from serve.py after ${EMULATOR_START_TIMEOUT}s:" >&2
            cat "$err" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done

    fields=$("$python" -c '
import json, sys
info = json.loads(sys.argv[1])
for key in ("url", "api_key", "ca_path", "pid"):
    value = info.get(key)
    print("" if value is None else value)
' "$line") || return 1
    {
        read -r EMULATOR_URL
        read -r EMULATOR_API_KEY
        read -r EMULATOR_CA_PATH
        read -r EMULATOR_PID
    } <<<"$fields"
    EMULATOR_INFO=$line
    # serve.py may report another pid than the one started (a wrapper): stop both.
    if [ -n "$EMULATOR_PID" ] && [ "$EMULATOR_PID" != "$pid" ]; then
        _EMULATOR_PIDS+=("$EMULATOR_PID")
    fi
    export EMULATOR_URL EMULATOR_API_KEY EMULATOR_CA_PATH EMULATOR_PID EMULATOR_INFO

    if [ "$export_connection" = 1 ]; then
        export NIRVANA_LABS_BASE_URL=$EMULATOR_URL
        export NIRVANA_LABS_API_KEY=$EMULATOR_API_KEY
        if [ -n "$EMULATOR_CA_PATH" ]; then
            export NIRVANA_LABS_CA_PATH=$EMULATOR_CA_PATH
        fi
    fi
}
