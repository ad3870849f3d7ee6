#!/usr/bin/env bash
# The evidence runbook as users run it (ansible-playbook nirvana_labs.audit.evidence), two
# chained periods against the emulator; the bundles verified with sha256sum -c; the report's
# figures checked against the exported data; the role included from another playbook.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
work=$(mktemp -d)
trap 'stop_emulators; rm -rf "$work"' EXIT

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
p1=$(date -u -d "-21 days" +%Y-%m-%d)
p2=$(date -u -d "-14 days" +%Y-%m-%d)
p3=$(date -u -d "-7 days" +%Y-%m-%d)

start_emulator --export-connection --api 2026-08 --entries 4000 --seed 41 --now "$now"

echo "=== the runbook, first period"
ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p1" -e "evidence_until=$p2" -e "evidence_dest=$work/$p1" "$@"

echo "=== the runbook, second period chained to the first"
ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p2" -e "evidence_until=$p3" -e "evidence_dest=$work/$p2" \
    -e "evidence_previous=$work/$p1" "$@" | tee "$work/second.log"

echo "=== the same period again changes nothing"
ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p2" -e "evidence_until=$p3" -e "evidence_dest=$work/$p2" \
    -e "evidence_previous=$work/$p1" "$@" | tee "$work/again.log"
grep -q 'changed=0' "$work/again.log"

echo "=== both bundles verify with the stock tool"
(cd "$work/$p1" && sha256sum --check --strict SHA256SUMS)
(cd "$work/$p2" && sha256sum --check --strict SHA256SUMS)

echo "=== the reports"
ansible-playbook -i "$INVENTORY_PATH" "$here/reports.yml" \
    -e "first=$work/$p1" -e "second=$work/$p2" "$@"

echo "=== the role from another playbook: filters, a miscounting server, argument checks"
ansible-playbook -i "$INVENTORY_PATH" "$here/role.yml" -e "work=$work" -e "since=$p1" \
    -e "until=$p2" -e "admin=$EMULATOR_URL/_emulator" "$@"

echo "=== a missing required variable is refused before anything runs"
if ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p1" -e "evidence_until=$p2" >"$work/missing.log" 2>&1; then
    echo "FAILED: the runbook ran without evidence_dest" >&2
    exit 1
fi
grep -q 'evidence_dest' "$work/missing.log"
echo "OK"
