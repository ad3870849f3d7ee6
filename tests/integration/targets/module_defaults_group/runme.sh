#!/usr/bin/env bash
# One place for settings (the guide, "One place for settings"): only the nirvana_labs_*
# variables are set, in an inventory-style vars file; the module and the export get them
# through `module_defaults: group/nirvana_labs.audit.audit`, the lookup reads them itself. No
# NIRVANA_LABS_* environment variable exists, so nothing else can supply the connection.
set -eu

# shellcheck source=../../emulator.sh
source ../../emulator.sh

here=$(pwd)
work=$(mktemp -d)
trap 'stop_emulators; rm -rf "$work"' EXIT

# TLS with a private CA, so that ca_path must travel the same way as the key and the URL.
start_emulator --api 2026-08 --tls --entries 400 --seed 17
unset NIRVANA_LABS_API_KEY NIRVANA_LABS_BASE_URL NIRVANA_LABS_CA_PATH
(
    umask 077
    cat >"$work/connection.yml" <<VARS
nirvana_labs_api_key: "$EMULATOR_API_KEY"
nirvana_labs_base_url: "$EMULATOR_URL"
nirvana_labs_ca_path: "$EMULATOR_CA_PATH"
VARS
)

ansible-playbook -i "$INVENTORY_PATH" "$here/main.yml" -e "@$work/connection.yml" \
    -e "dest=$work/bundle" "$@"
