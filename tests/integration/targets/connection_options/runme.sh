#!/usr/bin/env bash
# The same connection checks through audit_log_info and the audit_log lookup, against a TLS
# emulator; then the proxy checks with HTTPS_PROXY pointing nowhere. Every playbook runs at
# -vvvv into one log, which must not contain the API key.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
work=${OUTPUT_DIR:-$(mktemp -d)}
mkdir -p "$work"
log="$work/connection_options-vvvv.log"
: >"$log"

start_emulator --api 2026-08 --tls --entries 300 --seed 31
vars_file="$work/emulator-tls.yml"
(
    umask 077
    cat >"$vars_file" <<VARS
emulator_url: "$EMULATOR_URL"
emulator_api_key: "$EMULATOR_API_KEY"
emulator_ca_path: "$EMULATOR_CA_PATH"
VARS
)

run_playbook() {
    local part="$work/part.log" started=$SECONDS
    echo "=== main.yml $*"
    if ansible-playbook -i "$INVENTORY_PATH" "$here/main.yml" -e "@$vars_file" -vvvv "$@" >"$part" 2>&1; then
        cat "$part" >>"$log"
        echo "$(grep -A1 "PLAY RECAP" "$part" | tail -n 1) in $((SECONDS - started)) s"
    else
        cat "$part" >>"$log"
        grep -v "^<testhost>\|^Using module file\|^Pipelining\|^redirecting\|^Loading" "$part" | tail -n 60
        echo "FAILED (full -vvvv output in $log)" >&2
        exit 1
    fi
}

unset NO_PROXY no_proxy
run_playbook -e check_set=main
(
    # Both the module (on testhost, a local connection) and the lookup (in the controller)
    # inherit this environment.
    export HTTPS_PROXY=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9
    run_playbook -e check_set=proxy
)

if grep -qF -- "$EMULATOR_API_KEY" "$log"; then
    echo "FAILED: the API key appears in the -vvvv output ($log), lines:" \
        "$(grep -nF -- "$EMULATOR_API_KEY" "$log" | cut -d: -f1 | head -n 20 | tr '\n' ' ')" >&2
    exit 1
fi
echo "OK: $(wc -l <"$log") lines of -vvvv output, none with the API key"
