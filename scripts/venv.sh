# shellcheck shell=bash
# Virtual environments built from the pinned files in requirements/, shared by `make test`,
# scripts/demo.sh and scripts/bench.sh.
#
#   source scripts/venv.sh
#   venv=$(audit_venv 2.21)     # or 2.17, or tools; prints the venv's path, logs to stderr
#   "$venv/bin/ansible-playbook" ...
#
# A venv's name carries a hash of every file it was installed from, so a warm run reuses it
# and a changed pin builds a new one (the stale one is removed). A venv is used only once its
# install finished (stamp file), so an interrupted install is never mistaken for a good one.

AUDIT_ROOT=${AUDIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
AUDIT_VENV_DIR=${AUDIT_VENV_DIR:-$AUDIT_ROOT/.venv}

# name -> "python version" "pinned file"; the newest ansible-core needs Python 3.12+.
_audit_venv_spec() {
    case "$1" in
        2.17) echo "3.11 requirements/ansible-2.17.txt" ;;
        2.21) echo "3.12 requirements/ansible-2.21.txt" ;;
        tools) echo "3.12 requirements/tools.txt" ;;
        eda) echo "3.12 requirements/eda.txt" ;;
        *) return 1 ;;
    esac
}

# Path of a real pythonX.Y (pyenv's shims fail for versions that are not active).
audit_python() {
    local version=$1 candidate
    local pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
    for candidate in "$pyenv_root"/versions/"$version".*/bin/python"$version" \
        /usr/local/bin/python"$version" /usr/bin/python"$version"; do
        if [ -x "$candidate" ] && "$candidate" -c 'import venv' >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    candidate=$(command -v "python$version" 2>/dev/null) || true
    if [ -n "$candidate" ] && "$candidate" -c 'import venv' >/dev/null 2>&1; then
        echo "$candidate"
        return 0
    fi
    return 1
}

# The files a venv is installed from, in install order (the test requirement files are read
# by the unit tests and the emulator, which run inside these venvs too).
_audit_venv_inputs() {
    local name=$1 pinned=$2 extra
    echo "$pinned"
    [ "$name" = tools ] && return 0
    for extra in tests/unit/requirements.txt tests/emulator/requirements.txt; do
        [ -s "$AUDIT_ROOT/$extra" ] && echo "$extra"
    done
    return 0
}

audit_venv() {
    local name=${1:?usage: audit_venv 2.17|2.21|tools}
    local spec version pinned python inputs digest venv
    spec=$(_audit_venv_spec "$name") || {
        echo "audit_venv: unknown venv '$name' (2.17, 2.21, tools or eda)" >&2
        return 2
    }
    read -r version pinned <<<"$spec"
    python=$(audit_python "$version") || {
        echo "audit_venv: python$version not found (pyenv or PATH)" >&2
        return 1
    }
    inputs=$(_audit_venv_inputs "$name" "$pinned")
    # Hash the contents, not the names: the venv follows the pins.
    digest=$( (
        cd "$AUDIT_ROOT" || exit 1
        echo "layout 1 $version"
        for f in $inputs; do
            echo "== $f"
            cat "$f"
        done
    ) | sha256sum | cut -c1-12)
    venv="$AUDIT_VENV_DIR/$name-py$version-$digest"

    mkdir -p "$AUDIT_VENV_DIR"
    # One builder per venv name at a time (demo, bench and make test may start together).
    (
        flock 9
        if [ -f "$venv/.audit-complete" ]; then
            exit 0
        fi
        echo "audit_venv: creating $venv" >&2
        rm -rf "$venv"
        local stale
        for stale in "$AUDIT_VENV_DIR/$name-py"*; do
            [ -d "$stale" ] && [ "$stale" != "$venv" ] && rm -rf "$stale"
        done
        local args=()
        for f in $inputs; do
            args+=(-r "$AUDIT_ROOT/$f")
        done
        "$python" -m venv "$venv" >&2 &&
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                --upgrade pip==25.2 >&2 &&
            "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                "${args[@]}" >&2 &&
            "$venv/bin/python" -m pip check >&2 &&
            touch "$venv/.audit-complete"
    ) 9>"$AUDIT_VENV_DIR/.$name.lock" || {
        echo "audit_venv: could not build the $name venv from: ${inputs//$'\n'/ }" >&2
        echo "audit_venv: if a requirement file changed, run scripts/pin.sh" >&2
        return 1
    }
    echo "$venv"
}
