#!/usr/bin/env bash
# Proves tests/integration/emulator.sh from inside ansible-test: two emulators at once (plain
# and TLS), reached from a playbook; both stopped on exit. Remove once real targets use it.
set -eu

source ../../emulator.sh

start_emulator --entries 20 --seed 1
plain_url=$EMULATOR_URL
plain_key=$EMULATOR_API_KEY

start_emulator --export-connection --tls --entries 20 --seed 2 --api seed

ansible-playbook -i "$INVENTORY_PATH" smoke.yml \
    -e "plain_url=$plain_url" -e "plain_key=$plain_key" "$@"
