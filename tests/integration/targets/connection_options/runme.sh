#!/usr/bin/env bash
# The same connection checks through audit_log_info and the audit_log lookup, against a TLS
# emulator; then the proxy checks with HTTPS_PROXY pointing nowhere; then a plain-http loopback
# emulator with HTTP_PROXY and ALL_PROXY pointing at a proxy trap, which must see nothing.
# Every playbook runs at -vvvv into one log, which must not contain the API key.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

vvvv_log connection_options
use_emulator tls -- --api 2026-08 --tls --entries 300 --seed 31

unset NO_PROXY no_proxy
run_playbook main.yml -e check_set=main
(
    # Both the module (on testhost, a local connection) and the lookup (in the controller)
    # inherit this environment.
    export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
    run_playbook main.yml -e check_set=proxy
)

# Plain http on loopback: a proxy would see the key in clear text, so none is ever used.
trap_out="$(work_dir)/proxy-trap.out"
trap_log="$(work_dir)/proxy-trap.jsonl"
: >"$trap_log"
"$(emulator_python)" "$(dirname "$(_emulator_launcher)")/proxy_trap.py" --port 0 \
    --log "$trap_log" >"$trap_out" &
trap_pid=$!
for _ in $(seq 100); do
    grep -q '"url"' "$trap_out" 2>/dev/null && break
    sleep 0.1
done
trap_url=$(sed -n 's/.*"url": "\([^"]*\)".*/\1/p' "$trap_out")
use_emulator plain -- --api 2026-08 --entries 300 --seed 31
(
    export HTTP_PROXY="$trap_url" http_proxy="$trap_url" ALL_PROXY="$trap_url" all_proxy="$trap_url"
    run_playbook main.yml -e check_set=plain_proxy
)
kill "$trap_pid"
wait "$trap_pid" 2>/dev/null || true
if [ -s "$trap_log" ]; then
    echo "FAILED: the proxy trap received requests:" >&2
    cat "$trap_log" >&2
    exit 1
fi

assert_key_not_logged
