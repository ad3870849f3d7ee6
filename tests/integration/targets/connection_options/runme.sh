#!/usr/bin/env bash
# The same connection checks through audit_log_info and the audit_log lookup, against a TLS
# emulator; then the proxy checks with HTTPS_PROXY pointing nowhere. Every playbook runs at
# -vvvv into one log, which must not contain the API key.
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

assert_key_not_logged
