#!/usr/bin/env bash
# The collection's docsite, built the way collection docs are built (`make docsite`):
#
#   bash scripts/check_docsite.sh WORK_DIR
#
# `antsibull-docs sphinx-init` writes a Sphinx project into WORK_DIR for the collection found
# on ANSIBLE_COLLECTIONS_PATH, and its build.sh renders every plugin, the role and the guide
# (docs/docsite/) with warnings as errors. Offline: no intersphinx inventories, and references
# into docs.ansible.com stay unresolved (ref.ref). The site is WORK_DIR/build/html, which
# .github/workflows/docs.yml publishes (galaxy.yml's `documentation`).
# Needs antsibull-docs and sphinx-build on PATH (requirements/tools.txt).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${1:?usage: check_docsite.sh WORK_DIR}

rm -rf "$WORK"
# antsibull-docs wants a folder that only its owner can write to
mkdir -p "$(dirname "$WORK")"
mkdir -m 700 "$WORK"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
    --title "Nirvana Labs audit collection" --dest-dir "$WORK" nirvana_labs.audit
cat >>"$WORK/conf.py" <<'EOF'

# Offline build (scripts/check_docsite.sh): no inventories to fetch, so references into the
# Ansible docs cannot resolve.
intersphinx_mapping = {}
suppress_warnings = ['ref.ref']
EOF
bash "$WORK/build.sh"

html=$WORK/build/html
pages=(index.html audit_log_info_module.html audit_log_export_module.html
    audit_log_report_module.html audit_log_lookup.html evidence_role.html
    docsite/guide.html docsite/evidence.html)
for page in "${pages[@]}"; do
    [ -s "$html/$page" ] || fail "the docsite has no $page"
done
echo "docsite: $(find "$html" -name '*.html' | wc -l) pages in $html"
