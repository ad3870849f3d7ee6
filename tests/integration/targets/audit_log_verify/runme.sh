#!/usr/bin/env bash
# audit_log_verify and the offline script tools/verify_evidence_chain.py over a chain of three
# periods exported from an emulator serving hostile entries (formula cells, bidirectional and
# zero-width characters): the chain verifies, then one changed byte is caught with the bundle
# and file named; the CSV cells are neutralised, the reports escape hidden characters, files
# are owner/group-only, and a second writer of a dest fails.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
python=$(emulator_python)

# The collection root (ansible-test runs a copy of this target inside it).
root=$here
while [ "$root" != / ] && ! { [ -f "$root/galaxy.yml" ] && [ -f "$root/tools/verify_evidence_chain.py" ]; }; do
    root=$(dirname "$root")
done
script="$root/tools/verify_evidence_chain.py"

vvvv_log audit_log_verify
work=$(work_dir)
rm -rf "$work/chain" "$work/relink"
use_emulator hostile work="$work" -- --api 2026-08 --entries 3000 --seed 12 \
    --now 2026-11-28T12:00:00Z --entry-overrides "$here/hostile.jsonl"

run_playbook "$here/chain.yml" "$@"

echo "=== the offline script verifies the intact chain (standard library only: -I -S)"
"$python" -I -S "$script" "$work/chain" | tee "$work/intact.txt"
tail -n 1 "$work/intact.txt" | grep -q '^CHAIN OK: 3 of 3 bundles valid'

echo "=== hostile values: CSV neutralised, JSONL exact, reports escaped"
"$python" - "$work/chain/p3" <<'PY'
import csv, io, json, sys
bundle = sys.argv[1]
with io.open(bundle + "/audit_log.jsonl", encoding="utf-8") as handle:
    entries = [json.loads(line) for line in handle]
with io.open(bundle + "/audit_log.csv", newline="", encoding="utf-8") as handle:
    rows = list(csv.DictReader(handle))
assert len(rows) == len(entries), (len(rows), len(entries))
agents = [e["user_agent"] for e in entries]
assert '=HYPERLINK("http://evil.example","open")' in agents, agents[:5]
assert "\tTAB\rCR" in agents
starts = ("=", "+", "-", "@", "\t", "\r")
hostile = 0
for row in rows:
    for column, cell in row.items():
        assert not cell.startswith(starts), (column, cell)
        if cell.startswith("'") and cell[1:].startswith(starts):
            hostile += 1
assert hostile >= 5, hostile
assert "'=HYPERLINK(\"http://evil.example\",\"open\")" in [r["user_agent"] for r in rows]
assert "'\tTAB\rCR" in [r["user_agent"] for r in rows]
for name in ("report.html", "report.md"):
    with io.open(bundle + "/" + name, encoding="utf-8") as handle:
        text = handle.read()
    for char in "\u200b\u202e\u2060\ufeff\u2066\u2069":
        assert char not in text, (name, hex(ord(char)))
    assert "u200b" in text and "u202e" in text, name
html = io.open(bundle + "/report.html", encoding="utf-8").read()
assert "vm.deleted\\u200b" in html and "admin\\u202egnp.exe" in html
print("OK: %d neutralised cells; no hidden character in either report" % hostile)
PY

echo "=== a second writer of the same dest fails at once"
# One process holds the lock (as a running export would) and is stopped by its pid after.
rm -f "$work/locked"
"$python" - "$work/chain/p3/.audit_log.lock" "$work/locked" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(120)
PY
holder=$!
for _ in $(seq 1 100); do
    [ -e "$work/locked" ] && break
    sleep 0.1
done
run_playbook "$here/locked.yml" "$@"
kill "$holder"
wait "$holder" 2>/dev/null || true

echo "=== one changed byte in p2's audit_log.jsonl"
"$python" - "$work/chain/p2/audit_log.jsonl" <<'PY'
import os, sys
path = sys.argv[1]
with open(path, "r+b") as handle:
    handle.seek(os.path.getsize(path) // 2)
    byte = handle.read(1)
    handle.seek(-1, 1)
    handle.write(bytes([byte[0] ^ 0x01]))
PY
run_playbook "$here/tamper.yml" "$@"

echo "=== the offline script catches it too: exit 1, bundle and file named"
status=0
"$python" -I -S "$script" "$work/chain" >"$work/tampered.txt" || status=$?
cat "$work/tampered.txt"
[ "$status" -eq 1 ]
grep -q "^first broken: bundle $work/chain/p2, file audit_log.jsonl: audit_log.jsonl does not match" "$work/tampered.txt"

assert_key_not_logged
