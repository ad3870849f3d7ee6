#!/usr/bin/env bash
# A release of the changelog, rehearsed in a throw-away copy (`make release`):
#
#   bash scripts/check_changelog_release.sh WORK_DIR
#
# Copies the collection (run from its root) to WORK_DIR/ansible_collections/nirvana_labs/audit,
# runs `antsibull-changelog release` there for galaxy.yml's version and checks CHANGELOG.md:
# the release summary, the sections the fragments fill, and the new modules, lookup, role and
# playbook that antsibull-changelog finds by `version_added` (plugins) or by an
# `add object.*` fragment (role, playbook). Needs antsibull-changelog and ansible-doc on PATH.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${1:?usage: check_changelog_release.sh WORK_DIR}

rm -rf "$WORK"
copy=$WORK/ansible_collections/nirvana_labs/audit
mkdir -p "$copy"
tar --exclude=./.git --exclude=./.ansible --exclude=./tests/output -cf - . | tar -C "$copy" -xf -
version=$(sed -n 's/^version: *//p' galaxy.yml)

cd "$copy"
# The sections the fragments fill (titles from changelogs/config.yaml), read before the release
# consumes them; then what antsibull-changelog adds by itself: plugins by version_added, the
# role and the playbook by the `add object.*` fragment.
mapfile -t expect < <("$(dirname "$(command -v antsibull-changelog)")/python" - <<'EOF'
import glob

import yaml

config = yaml.safe_load(open("changelogs/config.yaml"))
titles = dict(config["sections"])
titles[config["prelude_section_name"]] = config["prelude_section_title"]
used = set()
for path in glob.glob("changelogs/fragments/*.y*ml"):
    used.update(yaml.safe_load(open(path)) or {})
for key in sorted(used & set(titles)):
    print("### " + titles[key])
EOF
)
printf '%s\n' "${expect[@]}" | grep -qx '### Release Summary' || fail "no release_summary fragment"
expect+=("### New Modules" "### New Plugins" "### New Playbooks" "### New Roles")

ANSIBLE_COLLECTIONS_PATH=$WORK antsibull-changelog release --version "$version" --date 2026-12-01
[ -f CHANGELOG.md ] || fail "no CHANGELOG.md written"
cat CHANGELOG.md

missing=()
for text in "${expect[@]}"; do
    grep -qxF -- "$text" CHANGELOG.md || missing+=("$text")
done
[ ${#missing[@]} -eq 0 ] || fail "CHANGELOG.md lacks: ${missing[*]}"
# The objects the release lists (changelog.yaml: CHANGELOG.md escapes its Markdown)
"$(dirname "$(command -v antsibull-changelog)")/python" - "$version" <<'EOF'
import sys

import yaml

release = yaml.safe_load(open("changelogs/changelog.yaml"))["releases"][sys.argv[1]]
found = {
    "module": sorted(m["name"] for m in release.get("modules", [])),
    "lookup": sorted(p["name"] for p in release.get("plugins", {}).get("lookup", [])),
    "role": sorted(o["name"] for o in release.get("objects", {}).get("role", [])),
    "playbook": sorted(o["name"] for o in release.get("objects", {}).get("playbook", [])),
}
wanted = {
    "module": ["audit_log_export", "audit_log_info", "audit_log_report", "audit_log_verify"],
    "lookup": ["audit_log"],
    "role": ["evidence"],
    "playbook": ["evidence"],
}
assert found == wanted, "changelog.yaml lists %r, expected %r" % (found, wanted)
EOF
# keep_fragments: false -- a release consumes the fragments
left=$(find changelogs/fragments -type f ! -name .keep | wc -l)
[ "$left" -eq 0 ] || fail "$left fragment(s) left after the release"
echo "changelog release $version: $(grep -c '^### ' CHANGELOG.md) sections, ${#expect[@]} expected lines present"
rm -rf "$WORK"
