#!/usr/bin/env bash
# The evidence runbook as users run it (ansible-playbook nirvana_labs.audit.evidence), two
# chained periods against the emulator; the bundles verified with sha256sum -c; the report's
# figures checked against the exported data; the role included from another playbook; evidence
# never overwritten or misplaced (a relative dest, another period in a dest, a gap).
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
p4=$(date -u -d "-3 days" +%Y-%m-%d)

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

echo "=== a relative evidence_dest is where ansible-playbook runs, never inside the collection"
mkdir -p "$work/cwd"
(cd "$work/cwd" && ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p1" -e "evidence_until=$p2" -e "evidence_dest=relative/$p1" "$@")
(cd "$work/cwd/relative/$p1" && sha256sum --check --strict SHA256SUMS)
root=$here
while [ "$root" != / ] && ! [ -f "$root/galaxy.yml" ]; do root=$(dirname "$root"); done
collection=$(ansible-galaxy collection list nirvana_labs.audit --format json |
    "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}" -c \
    'import json, sys; print(" ".join(p + "/nirvana_labs/audit" for p in json.load(sys.stdin)))' ||
    true)
for dir in $root $collection; do
    if [ -n "$(find "$dir" -type d -name relative -not -path "$work/*" 2>/dev/null)" ]; then
        echo "FAILED: a relative evidence_dest was written inside $dir" >&2
        exit 1
    fi
done

echo "=== another period into an existing bundle is refused, naming both; evidence_force replaces"
if ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p2" -e "evidence_until=$p3" -e "evidence_dest=$work/cwd/relative/$p1" \
    "$@" >"$work/overwrite.log" 2>&1; then
    echo "FAILED: the runbook replaced the bundle of another period" >&2
    exit 1
fi
grep -q "already holds the bundle of another window or query" "$work/overwrite.log"
grep -q "${p1}T00:00:00Z to ${p2}T00:00:00Z there" "$work/overwrite.log"
grep -q "evidence_force=true" "$work/overwrite.log"
(cd "$work/cwd/relative/$p1" && sha256sum --check --strict SHA256SUMS)
grep -q "\"since\": \"${p1}T00:00:00Z\"" "$work/cwd/relative/$p1/manifest.json"
ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p2" -e "evidence_until=$p3" -e "evidence_dest=$work/cwd/relative/$p1" \
    -e evidence_force=true "$@"
grep -q "\"since\": \"${p2}T00:00:00Z\"" "$work/cwd/relative/$p1/manifest.json"

echo "=== a gap to the previous bundle fails unless evidence_allow_gap; then it is reported"
if ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p3" -e "evidence_until=$p4" -e "evidence_dest=$work/gap" \
    -e "evidence_previous=$work/$p1" "$@" >"$work/gap-refused.log" 2>&1; then
    echo "FAILED: the runbook chained across a gap" >&2
    exit 1
fi
grep -q "${p2}T00:00:00Z to ${p3}T00:00:00Z" "$work/gap-refused.log"
grep -q "evidence_allow_gap=true" "$work/gap-refused.log"
[ ! -e "$work/gap/manifest.json" ]
ansible-playbook -i "$INVENTORY_PATH" nirvana_labs.audit.evidence \
    -e "evidence_since=$p3" -e "evidence_until=$p4" -e "evidence_dest=$work/gap" \
    -e "evidence_previous=$work/$p1" -e evidence_allow_gap=true "$@" | tee "$work/gap.log"
grep -q "The chain has a gap" "$work/gap.log"
grep -q "Accepted gap" "$work/gap/report.md"

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
