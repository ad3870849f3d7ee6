#!/usr/bin/env bash
# The collection as AWX / Automation Platform runs it, from the built tarball (`make ee`):
#
#   bash scripts/check_ee.sh WORK_DIR
#
# 0. The tarball, built from the collection (the current folder) with ansible-galaxy.
# 1. A clean virtual environment, standing in for an execution environment: ansible-core, the
#    tarball installed with `ansible-galaxy collection install` into its site-packages, and the
#    Python requirements `ansible-builder introspect` finds in the installed collection. Nothing
#    else (no PYTHONPATH, no collections path, an empty HOME).
# 2. `ansible-builder introspect --sanitize` lists requests and psycopg[binary].
# 3. `ansible-builder create` with the documented samples docs/execution-environment/
#    execution-environment.yml and docs/decision-environment/decision-environment.yml writes
#    a build context for each (no container engine needed).
# 4. The credential type shipped in the tarball (extensions/awx/credential_type.yml) rendered
#    as AWX renders it (scripts/awx_inject.py) into env/envvars; ansible-runner runs the AWX job
#    playbook docs/awx/evidence_job.yml (the collection's evidence runbook) against the TLS
#    emulator with exactly that environment; the bundle verifies with sha256sum -c and the key
#    is nowhere in the job's output.
#
# Run from the collection's root. Needs ansible-galaxy, ansible-builder and ansible-runner on
# PATH (requirements/tools.txt) and EMULATOR_PYTHON, an interpreter with
# tests/emulator/requirements.txt. The clean venv is cached in WORK_DIR, keyed by the pins and
# the collection's declared requirements; the collection is installed afresh every run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WORK=${1:?usage: check_ee.sh WORK_DIR}
ROOT=$PWD
: "${EMULATOR_PYTHON:?set EMULATOR_PYTHON to a python with tests/emulator/requirements.txt}"
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"

say() { printf '\n=== %s\n' "$*"; }

mkdir -p "$WORK"
WORK=$(realpath "$WORK")
rm -rf "$WORK"/run.*
RUN=$(mktemp -d "$WORK/run.XXXXXX")

ansible-galaxy collection build --force --output-path "$RUN/dist" . >/dev/null
TARBALL=$(find "$RUN/dist" -name '*.tar.gz' -print -quit)

# --- 1. the clean environment --------------------------------------------------------------
python=$(audit_python 3.12)
digest=$(cat "$ROOT/requirements/tools.txt" "$ROOT/meta/ee-requirements.txt" \
    "$ROOT/meta/execution-environment.yml" | sha256sum | cut -c1-12)
CLEAN=$WORK/clean-$digest
# ansible-core and the requirements at the versions the pipeline pins (constraints only: what
# is installed is exactly what is named here and what the collection declares).
pip_install() {
    "$CLEAN/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$ROOT/requirements/tools.txt" "$@"
}
if [ ! -f "$CLEAN/.complete" ]; then
    say "clean venv $CLEAN"
    rm -rf "$WORK"/clean-*
    "$python" -m venv "$CLEAN"
    pip_install pip
    pip_install ansible-core
    touch "$CLEAN/.complete"
fi
SITE=$("$CLEAN/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rm -rf "$SITE/ansible_collections"

say "install $(basename "$TARBALL") into the clean venv's site-packages"
"$CLEAN/bin/ansible-galaxy" collection install "$TARBALL" -p "$SITE" --force
INSTALLED=$SITE/ansible_collections/nirvana_labs/audit

# --- 2. introspect ------------------------------------------------------------------------
say "ansible-builder introspect --sanitize"
ansible-builder introspect --sanitize --write-pip "$RUN/ee-python.txt" \
    --write-bindep "$RUN/ee-bindep.txt" "$SITE" | tee "$RUN/introspect.log"
grep -qiE '^requests([^a-z0-9_.-]|$)' "$RUN/ee-python.txt" ||
    fail "introspect did not list requests: $(cat "$RUN/ee-python.txt")"
echo "ee: introspect lists requests"
# The event source's PostgreSQL checkpoint store, for decision environments.
grep -qiE '^psycopg\[binary\]' "$RUN/ee-python.txt" ||
    fail "introspect did not list psycopg[binary]: $(cat "$RUN/ee-python.txt")"
echo "ee: introspect lists psycopg[binary]"
# Signing and timestamps: the system packages of bindep.txt (meta/execution-environment.yml).
for package in openssh-client openssl; do
    grep -qE "^$package( |\[|$)" "$RUN/ee-bindep.txt" ||
        fail "introspect did not list the system package $package: $(cat "$RUN/ee-bindep.txt")"
done
echo "ee: introspect lists openssh-client and openssl"
pip_install -r "$RUN/ee-python.txt"
"$CLEAN/bin/python" -m pip check
echo "ee: clean venv: $("$CLEAN/bin/python" -m pip freeze --disable-pip-version-check | paste -sd' ' -)"

# --- 3. create ----------------------------------------------------------------------------
say "ansible-builder create with docs/execution-environment/execution-environment.yml"
ansible-builder create -f "$ROOT/docs/execution-environment/execution-environment.yml" \
    --output-filename Containerfile --context "$RUN/context"
[ -f "$RUN/context/Containerfile" ] || fail "no Containerfile in the build context"
grep -q 'nirvana_labs.audit' "$RUN/context/_build/requirements.yml" ||
    fail "the build context does not install nirvana_labs.audit"
echo "ee: build context with Containerfile and _build/requirements.yml"
say "ansible-builder create with docs/decision-environment/decision-environment.yml"
ansible-builder create -f "$ROOT/docs/decision-environment/decision-environment.yml" \
    --output-filename Containerfile --context "$RUN/de-context"
grep -q 'de-minimal' "$RUN/de-context/Containerfile" ||
    fail "the decision environment's Containerfile does not start from a DE base image"
grep -q 'nirvana_labs.audit' "$RUN/de-context/_build/requirements.yml" ||
    fail "the decision environment's build context does not install nirvana_labs.audit"
echo "ee: decision environment build context with Containerfile and _build/requirements.yml"

# --- 4. the credential type and ansible-runner ---------------------------------------------
CRED_TYPE=$INSTALLED/extensions/awx/credential_type.yml
[ -f "$CRED_TYPE" ] || fail "the tarball does not ship extensions/awx/credential_type.yml"
# The tools venv's Python has Jinja2 and PyYAML, as AWX's controller does.
tools_python=$(command -v ansible-runner | xargs dirname)/python

say "credential with an API key only: the defaults the injector falls back to"
echo '{"api_key": "k"}' >"$RUN/inputs-key-only.json"
mkdir -p "$RUN/key-only"
python_default=$(env -i HOME="$RUN" "$CLEAN/bin/ansible-doc" --json nirvana_labs.audit.audit_log_info |
    "$CLEAN/bin/python" -c 'import json, sys
doc = json.load(sys.stdin)["nirvana_labs.audit.audit_log_info"]["doc"]
print(doc["options"]["base_url"]["default"])')
"$tools_python" "$ROOT/scripts/awx_inject.py" "$CRED_TYPE" "$RUN/inputs-key-only.json" "$RUN/key-only"
"$tools_python" - "$RUN/key-only/env/envvars" "$python_default" <<'EOF'
import json, sys
env = json.load(open(sys.argv[1]))
assert env["NIRVANA_LABS_BASE_URL"] == sys.argv[2], ("base_url default", env, sys.argv[2])
assert env["NIRVANA_LABS_CA_PATH"] == "", ("an empty CA path means the system store", env)
print("ee: key-only credential: base_url %s (the modules' default), system CA store" % sys.argv[2])
EOF

say "emulator (TLS, private CA)"
# shellcheck source=tests/integration/emulator.sh
source "$ROOT/tests/integration/emulator.sh"
trap 'stop_emulators' EXIT
EMULATOR_SERVE=$ROOT/tests/emulator/serve.py ANSIBLE_TEST_PYTHON_INTERPRETER=$EMULATOR_PYTHON \
    start_emulator --tls --entries 3000 --seed 14 --now "$(date -u +%Y-%m-%dT%H:%M:%SZ)"

PDD=$RUN/job
mkdir -p "$PDD/project" "$PDD/env"
cp "$ROOT/docs/awx/evidence_job.yml" "$PDD/project/"
"$tools_python" - "$RUN/inputs.json" "$EMULATOR_API_KEY" "$EMULATOR_URL" "$EMULATOR_CA_PATH" <<'EOF'
import json, sys
path, key, url, ca = sys.argv[1:]
with open(ca) as stream:
    pem = stream.read()
json.dump({"api_key": key, "base_url": url, "ca_cert": pem}, open(path, "w"))
EOF
injected=$("$tools_python" "$ROOT/scripts/awx_inject.py" "$CRED_TYPE" "$RUN/inputs.json" "$PDD")
echo "env/envvars from the credential type: $injected"
since=$(date -u -d "-14 days" +%Y-%m-%d)
until=$(date -u -d "-7 days" +%Y-%m-%d)
BUNDLE=$RUN/bundle
printf '{"evidence_since": "%s", "evidence_until": "%s", "evidence_dest": "%s"}\n' \
    "$since" "$until" "$BUNDLE" >"$PDD/env/extravars"

say "ansible-runner run (the clean venv's ansible-playbook, the injected environment only)"
mkdir -p "$RUN/home"
status=0
env -i "PATH=$CLEAN/bin:/usr/bin:/bin" "HOME=$RUN/home" LANG=C.UTF-8 \
    "$(command -v ansible-runner)" run "$PDD" -p evidence_job.yml --ident job || status=$?
[ "$status" -eq 0 ] || fail "ansible-runner exited $status"
[ "$(cat "$PDD/artifacts/job/rc")" = 0 ] || fail "the job's rc is $(cat "$PDD/artifacts/job/rc")"
# runner recorded the command it ran: the clean venv's ansible-playbook
"$tools_python" - "$PDD/artifacts/job/command" "$CLEAN/bin/ansible-playbook" <<'EOF'
import json, os, shutil, sys
command = json.load(open(sys.argv[1]))["command"]
used = command[0] if os.path.isabs(command[0]) else shutil.which(command[0], path=os.path.dirname(sys.argv[2]))
assert used and os.path.realpath(used) == os.path.realpath(sys.argv[2]), (command, sys.argv[2])
EOF
echo "ee: ansible-runner ran $CLEAN/bin/ansible-playbook, rc 0"

say "the bundle verifies with the stock tool"
(cd "$BUNDLE" && sha256sum --check --strict SHA256SUMS)
[ -s "$BUNDLE/report.md" ] || fail "no report.md in the bundle"
entries=$(grep -c . "$BUNDLE/audit_log.jsonl")
echo "ee: bundle verified: $entries entries, $since to $until"

# The key may sit in runner's own records of its input (env/, artifacts/*/command, which AWX
# keeps out of the job output); never in what the job printed or emitted as events.
if grep -rqF -- "$EMULATOR_API_KEY" "$PDD/artifacts/job/stdout" "$PDD/artifacts/job/job_events" "$BUNDLE"; then
    fail "the API key appears in the job's output, events or bundle"
fi
echo "ee: the API key is not in the job's output, events or bundle"
rm -rf "$RUN"
echo "ee: introspect lists requests and psycopg; EE and DE build contexts written; runner job with the credential's" \
    "$(wc -w <<<"$injected") variables: rc 0, bundle of $entries entries verified, key not leaked"
