#!/usr/bin/env bash
# audit_log_export against the local emulator: ground truth on both API generations, the CSV,
# sha256sum -c (passes, then fails after any byte of any file changes), idempotence, check
# mode, finality, a completeness mismatch, and interrupted runs (emulator killed, module killed).
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
work=$(mktemp -d)
trap 'stop_emulators; rm -rf "$work"' EXIT
python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}

# The data ends at the emulator's "now" (pinned, so ground truth cannot move) and spans 90 days.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
since_day=$(date -u -d "-30 days" +%Y-%m-%d)
until_day=$(date -u -d "-12 days" +%Y-%m-%d)
next_day=$(date -u -d "-5 days" +%Y-%m-%d)
mid_day=$(date -u -d "-15 days" +%Y-%m-%d)

# Every playbook reads the emulator and these dates from one variables file (write_vars).
dates=(work="$work" since_day="$since_day" until_day="$until_day" next_day="$next_day"
    mid_day="$mid_day")

echo "=== filtering server"
use_emulator filtering "${dates[@]}" -- --api 2026-08 --entries 4000 --seed 31 --now "$now"
ansible-playbook -i "$INVENTORY_PATH" "$here/export.yml" -e "@$(vars_path filtering)" "$@"

echo "=== evidence is never overwritten or misplaced: another window, a relative dest, a gap"
ansible-playbook -i "$INVENTORY_PATH" "$here/hazards.yml" -e "@$(vars_path filtering)" "$@"

echo "=== a signed bundle, verified against who may sign"
ansible-playbook -i "$INVENTORY_PATH" "$here/signed.yml" -e "@$(vars_path filtering)" "$@"

echo "=== seed-generation server (same data)"
use_emulator seed "${dates[@]}" -- --api seed --entries 4000 --seed 31 --now "$now"
ansible-playbook -i "$INVENTORY_PATH" "$here/seed.yml" -e "@$(vars_path seed)" "$@"

echo "=== sha256sum -c passes on the bundle, and fails after any byte of any file changes"
(cd "$work/full" && sha256sum --check --strict SHA256SUMS)
mapfile -t names < <(cut -c67- "$work/full/SHA256SUMS")
for name in "${names[@]}"; do
    for where in first middle last; do
        rm -rf "$work/tampered" && cp -a "$work/full" "$work/tampered"
        "$python" - "$work/tampered/$name" "$where" <<'PY'
import os, sys
path, where = sys.argv[1], sys.argv[2]
size = os.path.getsize(path)
offset = {"first": 0, "middle": size // 2, "last": size - 1}[where]
with open(path, "r+b") as handle:
    handle.seek(offset)
    byte = handle.read(1)
    handle.seek(offset)
    handle.write(bytes([byte[0] ^ 0x20]))
PY
        if (cd "$work/tampered" && sha256sum --check --strict --quiet SHA256SUMS) >/dev/null 2>&1; then
            echo "FAILED: sha256sum -c passed after changing the $where byte of $name" >&2
            exit 1
        fi
    done
done
echo "OK: every changed byte was caught"

# Looks for files of the bundle that look complete (the final names); parts are hidden.
complete_looking() {
    local dir=$1 name
    for name in audit_log.jsonl audit_log.csv manifest.json SHA256SUMS; do
        [ -e "$dir/$name" ] && echo "$name"
    done
    return 0
}

# The hidden part files of a bundle directory (none: an empty list).
parts_of() {
    local dir=$1
    (
        shopt -s nullglob dotglob
        for path in "$dir"/.*.part; do
            basename "$path"
        done
    )
}

wait_for_part() {
    local dir=$1
    for _ in $(seq 1 300); do
        parts_of "$dir" | grep -q '^\.audit_log\.jsonl\.' && return 0
        sleep 0.1
    done
    echo "FAILED: no part file appeared in $dir" >&2
    return 1
}

# A slow export (15 ms per request) into $work/NAME in the background, its pid in playbook;
# returns once its first part file exists.
start_slow_export() {
    use_emulator "$1" "${dates[@]}" -- --api 2026-08 --entries 3000 --seed "$2" --now "$now"
    emulator_faults PUT '[{"kind": "latency", "fixed_ms": 15}]'
    ansible-playbook -i "$INVENTORY_PATH" "$here/interrupt.yml" -e "@$(vars_path "$1")" \
        -e "dest=$work/$1" >"$work/$1.log" 2>&1 &
    playbook=$!
    wait_for_part "$work/$1"
}

echo "=== emulator killed mid-export"
start_slow_export killed-server 32
kill -KILL "$EMULATOR_PID"
if wait "$playbook"; then
    echo "FAILED: the export succeeded although the server died" >&2
    exit 1
fi
left=$(complete_looking "$work/killed-server")
parts=$(parts_of "$work/killed-server")
if [ -n "$left" ] || [ -n "$parts" ]; then
    echo "FAILED: the failed export left: $left $parts" >&2
    exit 1
fi
echo "OK: the failed export left nothing behind"

echo "=== module killed mid-export (SIGKILL: no cleanup can run)"
start_slow_export killed-module 33
# The part file names the pid of the module process that writes it: kill exactly that one.
part=$(parts_of "$work/killed-module" | grep '^\.audit_log\.jsonl\.' | head -n 1)
module_pid=$(echo "$part" | cut -d. -f4)
kill -KILL "$module_pid"
if wait "$playbook"; then
    echo "FAILED: the playbook succeeded although its module was killed" >&2
    exit 1
fi
left=$(complete_looking "$work/killed-module")
if [ -n "$left" ]; then
    echo "FAILED: the killed export left complete-looking files: $left" >&2
    exit 1
fi
echo "OK: only hidden parts are left: $(parts_of "$work/killed-module" | tr '\n' ' ')"
emulator_faults DELETE
ansible-playbook -i "$INVENTORY_PATH" "$here/interrupt.yml" -e "@$(vars_path killed-module)" \
    -e "dest=$work/killed-module" "$@"
if [ -n "$(parts_of "$work/killed-module")" ]; then
    echo "FAILED: the next run did not remove the dead run's parts" >&2
    exit 1
fi
(cd "$work/killed-module" && sha256sum --check --strict SHA256SUMS)
echo "OK: the next run removed the dead run's parts and wrote a bundle that verifies"
