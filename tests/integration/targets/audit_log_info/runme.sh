#!/usr/bin/env bash
# audit_log_info against the local emulator: both API generations, TLS and error paths.
# Every playbook runs at -vvvv into one log, which must not contain the API key.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

vvvv_log audit_log_info
# Pinned clock: the data ends at the emulator's "now", so the ground truth cannot move while
# the target runs; it is today, so relative windows (3d) still find entries.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

use_emulator filtering api_generation=2026-08 -- --api 2026-08 --entries 500 --seed 11 --now "$now"
run_playbook main.yml
run_playbook errors.yml

use_emulator seed api_generation=seed -- --api seed --entries 500 --seed 12 --now "$now"
run_playbook main.yml

use_emulator tls api_generation=2026-08 -- --api 2026-08 --tls --entries 500 --seed 13 --now "$now"
run_playbook tls.yml

assert_key_not_logged
