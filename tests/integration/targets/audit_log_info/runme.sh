#!/usr/bin/env bash
# audit_log_info against the local emulator: both API generations, TLS and error paths.
# Every playbook runs at -vvvv into one log, which must not contain the API key.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
work=${OUTPUT_DIR:-$(mktemp -d)}
mkdir -p "$work"
log="$work/audit_log_info-vvvv.log"
: >"$log"
# Pinned clock: the data ends at the emulator's "now", so the ground truth cannot move while
# the target runs; it is today, so relative windows (3d) still find entries.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
keys=()

# The key reaches ansible-playbook through a file only (never the command line, never a
# playbook), so finding it in the log means a plugin or Ansible printed it.
write_vars() {
    local file="$work/emulator-$1.yml"
    (
        umask 077
        cat >"$file" <<VARS
emulator_url: "$EMULATOR_URL"
emulator_api_key: "$EMULATOR_API_KEY"
emulator_ca_path: "${EMULATOR_CA_PATH:-}"
api_generation: "$2"
VARS
    )
    keys+=("$EMULATOR_API_KEY")
    vars_file=$file
}

run_playbook() {
    local playbook=$1 part="$work/part.log" started=$SECONDS
    echo "=== $playbook ($(basename "$vars_file"))"
    if ansible-playbook -i "$INVENTORY_PATH" "$here/$playbook" -e "@$vars_file" -vvvv >"$part" 2>&1; then
        cat "$part" >>"$log"
        echo "$(grep -A1 "PLAY RECAP" "$part" | tail -n 1) in $((SECONDS - started)) s"
    else
        cat "$part" >>"$log"
        # The failing task, without the -vvvv noise around it.
        grep -v "^<testhost>\|^Using module file\|^Pipelining\|^redirecting\|^Loading" "$part" | tail -n 60
        echo "FAILED: $playbook (full -vvvv output in $log)" >&2
        exit 1
    fi
}

start_emulator --api 2026-08 --entries 500 --seed 11 --now "$now"
write_vars filtering 2026-08
run_playbook main.yml
run_playbook errors.yml

start_emulator --api seed --entries 500 --seed 12 --now "$now"
write_vars seed seed
run_playbook main.yml

start_emulator --api 2026-08 --tls --entries 500 --seed 13 --now "$now"
write_vars tls 2026-08
run_playbook tls.yml

for key in "${keys[@]}"; do
    if grep -qF -- "$key" "$log"; then
        echo "FAILED: the API key appears in the -vvvv output ($log), lines:" \
            "$(grep -nF -- "$key" "$log" | cut -d: -f1 | head -n 20 | tr '\n' ' ')" >&2
        exit 1
    fi
done
echo "OK: $(wc -l <"$log") lines of -vvvv output, none with the API key"
