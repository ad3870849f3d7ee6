# shellcheck shell=bash
# What ansible-test needs on a machine without general network access before it can run offline:
# it downloads a pip bootstrap script from a host such machines cannot reach (audit_get_pip
# writes a stand-in that runs ensurepip, then pip install); it rejects a collection that is not
# really at .../ansible_collections/nirvana_labs/audit, a symlink included (audit_layout copies
# the tree); pyenv's shims fail for inactive versions (audit_pythons_dir links real interpreters).
#
#
#   audit_layout DIR       copy the working tree to DIR/ansible_collections/nirvana_labs/audit
#                          (ansible-test rejects a symlink) and print that path
#   audit_pythons_dir DIR  fill DIR with pythonX.Y links to real interpreters, for PATH
#   audit_get_pip VENV     write the get-pip stand-ins that VENV's ansible-test will look for
#   audit_work_dir         where `make test` lays out copies and keeps logs (AUDIT_WORK_DIR)

AUDIT_ROOT=${AUDIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# Outside the checkout: ansible-test takes its file list from the nearest enclosing git work
# tree, which would ignore a copy under build/. One path per checkout lets warm runs reuse
# the venvs ansible-test keeps in the copies' tests/output.
audit_work_dir() {
    echo "${AUDIT_WORK_DIR:-${TMPDIR:-/tmp}/nirvana_labs.audit-test-$(echo "$AUDIT_ROOT" | sha256sum | cut -c1-8)}"
}

# Files of the working tree as a developer sees them: tracked and untracked, minus what
# .gitignore excludes (venvs, tests/output, .ansible, build output), so uncommitted work is
# tested too. Outside a git checkout, fall back to an explicit exclusion list.
_audit_tree_files() {
    if git -C "$AUDIT_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git -C "$AUDIT_ROOT" ls-files -z --cached --others --exclude-standard |
            (cd "$AUDIT_ROOT" && while IFS= read -r -d '' f; do
                # tracked but deleted in the working tree: leave it out
                [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
            done)
    else
        (cd "$AUDIT_ROOT" && find . \
            \( -name .git -o -name '.venv*' -o -name .ansible -o -name build -o -name dist \
            -o -name __pycache__ -o -name .pytest_cache -o -path ./tests/output \) -prune \
            -o \( -type f -o -type l \) -print0)
    fi
}

audit_layout() {
    local base=${1:?usage: audit_layout DIR}
    local dest="$base/ansible_collections/nirvana_labs/audit"
    mkdir -p "$dest/tests"
    # Start from an empty copy but keep tests/output: ansible-test keeps its delegation venvs
    # there, and reusing them is what makes a warm run fast.
    find "$dest" -mindepth 1 -maxdepth 1 ! -name tests ! -name .git -exec rm -rf {} +
    find "$dest/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
    _audit_tree_files | tar -C "$AUDIT_ROOT" --null -T - -cf - | tar -C "$dest" -xf - || return 1
    # A repository of its own: ansible-test takes the file list from the nearest git work
    # tree above the collection, and finds no targets when that is an enclosing checkout that
    # ignores the copy. Here it lists the copy's files minus its .gitignore (tests/output).
    [ -d "$dest/.git" ] || git -C "$dest" init -q || return 1
    echo "$dest"
}

audit_pythons_dir() {
    local dir=${1:?usage: audit_pythons_dir DIR} pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    local interpreter name
    mkdir -p "$dir"
    rm -f "$dir"/python*
    # Newest patch release wins when several are installed (sorted glob, last link stays).
    for interpreter in "$pyenv_root"/versions/*/bin/python[23].*; do
        name=$(basename "$interpreter")
        case "$name" in
            python[23].[0-9] | python[23].[0-9][0-9]) ;;
            *) continue ;; # python3.11-config, python3.11t, ...
        esac
        [ -x "$interpreter" ] && ln -sfn "$interpreter" "$dir/$name"
    done
    ls "$dir"
}

# ansible-test bootstraps pip in every venv it makes with a get-pip.py it downloads from a
# host that is unreachable here; it uses a cached copy when there is one. Ours bootstraps pip
# from the interpreter's own ensurepip, then installs what ansible-test asked for from PyPI.
audit_get_pip() {
    local venv=${1:?usage: audit_get_pip VENV} cache=$HOME/.ansible/test/cache versions version
    versions=$("$venv/bin/python" - <<'EOF'
import inspect
import re

from ansible_test._internal import python_requirements

source = inspect.getsource(python_requirements.get_venv_packages)
print(" ".join(sorted(set(re.findall(r"pip\s*=\s*'([0-9.]+)'", source)))))
EOF
    ) || return 1
    [ -n "$versions" ] || {
        echo "audit_get_pip: no pip version found in ansible-test" >&2
        return 1
    }
    mkdir -p "$cache"
    for version in $versions; do
        local target="$cache/get_pip_${version//./_}.py"
        # Never overwrite a real get-pip.py someone put there.
        if [ -e "$target" ] && ! grep -q 'nirvana_labs.audit stand-in' "$target"; then
            continue
        fi
        cat >"$target" <<'EOF'
# get-pip.py nirvana_labs.audit stand-in, written by scripts/ansible_test_env.sh:
# the real script cannot be downloaded on these machines.
import subprocess
import sys

# get-pip.py's own flags; everything else is a pip install argument.
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
EOF
    done
}
