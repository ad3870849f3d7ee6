#!/usr/bin/env bash
# Every plugin and role of the installed collection, as ansible-doc shows it, carries no
# "(!UNKNOWN)" (ansible-doc's mark for an author without a GitHub handle or e-mail, and for
# other values it cannot place). Run it in the laid-out collection
# (.../ansible_collections/NAMESPACE/NAME), with that tree on ANSIBLE_COLLECTIONS_PATH:
#
#   bash scripts/check_doc_unknown.sh
#
# The plugin types asked about are the folders under plugins/ (and roles/), so a new kind of
# plugin is checked without editing this script.
# Exits 1 naming each page that carries the mark, 1 when no page was found at all (a check
# that read nothing is no check), 0 otherwise.
set -uo pipefail

here=$(pwd)
collection=$(basename "$(dirname "$here")").$(basename "$here")
types=()
for folder in plugins/*/; do
    folder=$(basename "$folder")
    case $folder in
        modules) types+=(module) ;;
        module_utils | plugin_utils | doc_fragments) ;;
        *) types+=("$folder") ;;
    esac
done
[ -d roles ] && types+=(role)
pages=0
bad=0
for type in "${types[@]}"; do
    names=$(ansible-doc -t "$type" -l "$collection" --json 2>/dev/null |
        python3 -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin))))' 2>/dev/null) ||
        continue
    for name in $names; do
        [[ $name == "$collection".* ]] || continue
        pages=$((pages + 1))
        if ! text=$(ANSIBLE_NOCOLOR=1 ansible-doc -t "$type" "$name" 2>&1); then
            echo "FAILED: ansible-doc -t $type $name: $text" >&2
            bad=$((bad + 1))
            continue
        fi
        if grep -n -F '(!UNKNOWN)' <<<"$text" >&2; then
            echo "FAILED: ansible-doc -t $type $name shows (!UNKNOWN) (lines above)" >&2
            bad=$((bad + 1))
        fi
    done
done
if [ "$pages" -eq 0 ]; then
    echo "FAILED: ansible-doc found no plugin or role of $collection (ANSIBLE_COLLECTIONS_PATH?)" >&2
    exit 1
fi
echo "ansible-doc: $pages pages of $collection, $bad with (!UNKNOWN) or unreadable"
[ "$bad" -eq 0 ]
