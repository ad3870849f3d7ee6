#!/usr/bin/env bash
# The README's main job, on a fresh machine in one command (`make demo`):
#
#   1. a virtual environment from the pinned requirements (scripts/venv.sh),
#   2. the local emulator of the audit-log API with seeded data (tests/emulator/serve.py),
#   3. the collection built and installed into a local collections path,
#   4. the evidence runbook (ansible-playbook nirvana_labs.audit.evidence) for two consecutive
#      weeks, the second chained to the first,
#   5. both bundles verified with the stock `sha256sum -c SHA256SUMS`,
#   6. the chain verified (files, links, no gap) with audit_log_verify and with the plain
#      script tools/verify_evidence_chain.py of the installed collection,
#   7. where the bundles and reports are,
#   8. the emulator stopped, whatever happened (trap).
#
# Environment: DEMO_OUT (default ./demo-output), DEMO_ENTRIES (default 50000),
# DEMO_ANSIBLE (venv name of scripts/venv.sh: 2.21 default, or 2.17).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${DEMO_OUT:-$ROOT/demo-output}
ENTRIES=${DEMO_ENTRIES:-50000}
ANSIBLE_VENV=${DEMO_ANSIBLE:-2.21}
SEED=${DEMO_SEED:-2026}

say() { printf '\n==> %s\n' "$*"; }

EMULATOR_PID=
cleanup() {
    local status=$?
    if [ -n "$EMULATOR_PID" ] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
        kill -TERM "$EMULATOR_PID" 2>/dev/null || true
        wait "$EMULATOR_PID" 2>/dev/null || true
        echo "emulator stopped (pid $EMULATOR_PID)"
    fi
    if [ "$status" -ne 0 ]; then
        echo "demo FAILED (exit $status); emulator log: $OUT/emulator.log" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s)
say "Virtual environment (ansible-core $ANSIBLE_VENV, pinned)"
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"
VENV=$(audit_venv "$ANSIBLE_VENV")
PY="$VENV/bin/python"
# Read whole, then print the first line: `| head -1` would close the pipe early, and
# ansible dies of the broken pipe under pipefail.
version=$("$VENV/bin/ansible" --version)
echo "${version%%$'\n'*}"

rm -rf "$OUT"
mkdir -p "$OUT"

say "Emulator with $ENTRIES seeded entries (seed $SEED)"
# The shared launcher (tests/emulator/launcher.py): started here so it stays this shell's
# child, then `ready` waits for its JSON line and exports NIRVANA_LABS_BASE_URL/API_KEY.
"$PY" "$ROOT/tests/emulator/launcher.py" exec -- --entries "$ENTRIES" --seed "$SEED" \
    >"$OUT/emulator.json" 2>"$OUT/emulator.log" &
EMULATOR_PID=$!
eval "$("$PY" "$ROOT/tests/emulator/launcher.py" ready --export-connection --pid "$EMULATOR_PID" \
    --stdout "$OUT/emulator.json" --stderr "$OUT/emulator.log")"
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$OUT/emulator.json" "$1"; }
echo "listening on $NIRVANA_LABS_BASE_URL (pid $EMULATOR_PID); data ends at $(field now)"

say "Build the collection and install it into $OUT/collections"
export ANSIBLE_COLLECTIONS_PATH="$OUT/collections"
"$VENV/bin/ansible-galaxy" collection build "$ROOT" --output-path "$OUT/build" --force >/dev/null
TARBALL=$(ls "$OUT"/build/nirvana_labs-audit-*.tar.gz)
"$VENV/bin/ansible-galaxy" collection install "$TARBALL" -p "$OUT/collections" --force >/dev/null
echo "installed $(basename "$TARBALL")"

# Two whole weeks that ended at midnight UTC today: the evidence periods.
today=$(date -u +%Y-%m-%d)
week1=$(date -u -d "$today - 14 days" +%Y-%m-%d)
week2=$(date -u -d "$today - 7 days" +%Y-%m-%d)

export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
export ANSIBLE_PYTHON_INTERPRETER="$PY"
# The runbook talks to the emulator on loopback: no proxy in between.
unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy

runbook() {
    "$VENV/bin/ansible-playbook" nirvana_labs.audit.evidence \
        -e evidence_since="$1" -e evidence_until="$2" -e evidence_dest="$3" "${@:4}"
}

say "A throwaway signing key and the allowed signers file an auditor would keep"
rm -f "$OUT/signing_key" "$OUT/signing_key.pub"
ssh-keygen -q -t ed25519 -N '' -C demo-evidence@example.com -f "$OUT/signing_key"
printf 'demo-evidence@example.com namespaces="nirvana-labs-audit-evidence@v1" %s\n' \
    "$(cut -d' ' -f1,2 "$OUT/signing_key.pub")" >"$OUT/allowed_signers"
cat "$OUT/allowed_signers"

say "Runbook: evidence for $week1 to $week2, signed"
runbook "$week1" "$week2" "$OUT/evidence/$week1" -e evidence_signing_key="$OUT/signing_key"

say "Runbook: evidence for $week2 to $today, chained to the previous bundle, signed"
runbook "$week2" "$today" "$OUT/evidence/$week2" -e evidence_previous="$OUT/evidence/$week1" \
    -e evidence_signing_key="$OUT/signing_key"

say "Verify both bundles with the stock tool, no Ansible involved"
for bundle in "$OUT/evidence/$week1" "$OUT/evidence/$week2"; do
    echo "$bundle:"
    if command -v sha256sum >/dev/null 2>&1; then
        (cd "$bundle" && sha256sum -c SHA256SUMS)
    else
        (cd "$bundle" && shasum -a 256 -c SHA256SUMS)
    fi
done

say "Verify the chain: every file, every link, no gap (audit_log_verify)"
cat >"$OUT/verify.yml" <<'YAML'
- name: Verify the evidence chain
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Every file, every link, the continuity of the windows
      nirvana_labs.audit.audit_log_verify:
        bundles: ["{{ evidence }}"]
      register: chain
    - name: The verdict
      ansible.builtin.debug:
        msg: "{{ chain.summary }}"
YAML
"$VENV/bin/ansible-playbook" "$OUT/verify.yml" -e evidence="$OUT/evidence"

say "Verify the chain again with the plain script shipped in the collection (no Ansible)"
CHAIN_SCRIPT="$OUT/collections/ansible_collections/nirvana_labs/audit/tools/verify_evidence_chain.py"
python3 "$CHAIN_SCRIPT" "$OUT/evidence" --allowed-signers "$OUT/allowed_signers" \
    --require-signature --since "$week1" --until "$today"

say "Done in $(($(date +%s) - started)) s"
cat <<EOF
Evidence bundles (data, manifest.json, SHA256SUMS):
  $OUT/evidence/$week1
  $OUT/evidence/$week2
Reports of the latest week:
  $OUT/evidence/$week2/report.html   (open in a browser; self-contained, works offline)
  $OUT/evidence/$week2/report.md
Verify a bundle anywhere: cd $OUT/evidence/$week2 && sha256sum -c SHA256SUMS
Verify the chain anywhere: python3 $CHAIN_SCRIPT $OUT/evidence \\
    --allowed-signers $OUT/allowed_signers --require-signature --since $week1 --until $today
EOF
