# shellcheck shell=bash
# Helpers shared by the check scripts (scripts/check_*.sh), which `make test` runs as steps:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   fail "what went wrong"     # prints "FAILED: what went wrong" to stderr and exits 1

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
