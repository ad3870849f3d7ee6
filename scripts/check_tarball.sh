#!/usr/bin/env bash
# Nothing generated ever goes into the tarball (`make tarball`):
#
#   bash scripts/check_tarball.sh WORK_DIR
#
# Lays the working tree out afresh under WORK_DIR, strews it with what the project's commands
# leave behind (every pattern of .gitignore made real, which covers make demo, make bench and
# make test, plus the shape of a demo run: evidence bundles, a nested installed collection, the
# emulator's connection file and a key), builds it with ansible-galaxy, and fails when
#   - a packed file is not one of the tree's source files (git-tracked, or new and not ignored),
#   - a source file of the collection's content was left out (build_ignore too wide),
#   - tests/ holds anything but tests/config.yml: the unit, emulator and integration tests need
#     the development tree and stay out; config.yml ships so that `ansible-test sanity` on the
#     installed collection checks the Pythons the modules support.
# Needs ansible-galaxy on PATH.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${1:?usage: check_tarball.sh WORK_DIR}
AUDIT_ROOT=${AUDIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# shellcheck source=scripts/ansible_test_env.sh
source "$AUDIT_ROOT/scripts/ansible_test_env.sh"

indent() { while IFS= read -r line; do printf '  %s\n' "$line"; done; }

rm -rf "$WORK"
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
_audit_tree_files | tr '\0' '\n' | LC_ALL=C sort >"$WORK/source.txt"
dir=$(audit_layout "$WORK/strewn")

# junk PATH [CONTENT]: a generated file (with its folders)
junk() {
    mkdir -p "$(dirname "$dir/$1")"
    printf '%s\n' "${2:-generated}" >"$dir/$1"
}

# .gitignore's patterns made real: globs get a name, a folder pattern gets a file inside, and a
# pattern without a slash (which git matches at any depth) is made at the top and inside plugins/.
strewn=0
while IFS= read -r pattern; do
    pattern=${pattern%%#*}
    pattern=${pattern//[[:space:]]/}
    [ -n "$pattern" ] && [ "${pattern:0:1}" != '!' ] || continue
    folder=0
    [ "${pattern: -1}" = / ] && folder=1
    pattern=${pattern%/}
    anchored=0
    [[ $pattern == */* ]] && anchored=1 # git: a slash at the start or inside anchors a pattern
    pattern=${pattern#/}
    pattern=$(sed -E 's/\[(.)[^]]*\]/\1/g; s/\*+/junk/g; s/\?/j/g' <<<"$pattern")
    places=("$pattern")
    [ "$anchored" = 1 ] || places+=("plugins/modules/$pattern")
    for place in "${places[@]}"; do
        if [ "$folder" = 1 ]; then
            junk "$place/junk.txt"
        elif [ ! -e "$dir/$place" ]; then
            junk "$place"
        fi
        strewn=$((strewn + 1))
    done
done <"$dir/.gitignore"

# What make demo leaves (scripts/demo.sh): bundles, reports, a built tarball and the collection
# installed from it, the emulator's connection line (with its key), a private key.
for period in 2026-11-01 2026-11-08; do
    for name in audit_log.jsonl audit_log.csv manifest.json SHA256SUMS report.md report.html; do
        junk "demo-output/evidence/$period/$name"
    done
done
junk demo-output/emulator.json '{"url": "http://127.0.0.1:1", "api_key": "secret"}'
junk demo-output/emulator.log
junk demo-output/build/nirvana_labs-audit-0.1.0.tar.gz
junk demo-output/collections/ansible_collections/nirvana_labs/audit/MANIFEST.json '{}'
junk demo-output/collections/ansible_collections/nirvana_labs/audit/plugins/modules/audit_log_info.py
junk demo-output/ca/ca.key "-----BEGIN PRIVATE KEY-----"
# make bench and make test: results, ansible-lint's install, antsibull-changelog's cache
junk bench/results/latest.json '{}'
junk .ansible/collections/ansible_collections/nirvana_labs/audit/galaxy.yml
junk changelogs/.plugin-cache.yaml
junk tests/output/.tmp/integration/junk.txt
strewn=$((strewn + 16))

# The build as a contributor runs it, in the strewn tree.
ansible-galaxy collection build --force --output-path "$WORK/dist" "$dir" >/dev/null
tarball=$(find "$WORK/dist" -name '*.tar.gz' -print -quit)
[ -n "$tarball" ] || fail "no tarball built"
tar -tzf "$tarball" | grep -v '/$' | grep -vxE 'MANIFEST\.json|FILES\.json' | LC_ALL=C sort >"$WORK/packed.txt"

problems=0
extra=$(LC_ALL=C comm -13 "$WORK/source.txt" "$WORK/packed.txt")
if [ -n "$extra" ]; then
    echo "packed but not a source file (generated?):" >&2
    indent <<<"$extra" >&2
    problems=1
fi
# The collection's content: every source file here must ship.
content_re='^(plugins|roles|playbooks|meta|docs|extensions|changelogs)/|^(README\.md|LICENSE|CHANGELOG\.md|CONTRIBUTING\.md)$'
# (minus hidden files and what galaxy.yml keeps in the repository on purpose)
repo_only_re='(^|/)\.|^changelogs/fragments/|^docs/awx/'
missing=$(grep -E "$content_re" "$WORK/source.txt" | grep -vE "$repo_only_re" | LC_ALL=C comm -23 - "$WORK/packed.txt")
if [ -n "$missing" ]; then
    echo "source files of the collection left out of the tarball:" >&2
    indent <<<"$missing" >&2
    problems=1
fi
shipped_tests=$(grep '^tests/' "$WORK/packed.txt" | paste -sd' ' -)
if [ "$shipped_tests" != tests/config.yml ]; then
    echo "tests shipped: '$shipped_tests'; the policy is tests/config.yml only" >&2
    problems=1
fi
[ "$problems" -eq 0 ] || fail "$(basename "$tarball") built from a tree strewn with $strewn generated paths"
echo "tarball: $(wc -l <"$WORK/packed.txt") files, all source; $strewn generated paths left out; tests: $shipped_tests"
rm -rf "$WORK/strewn" "$WORK/dist"
