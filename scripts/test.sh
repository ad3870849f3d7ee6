#!/usr/bin/env bash
# The collection's test pipeline: `make test` runs all of it, `make sanity` & co. run parts.
#
#   bash scripts/test.sh [--label NAME] [STEP...]
#
# STEP is a name from STEP_LIST below; no STEP means all of them. The per-version steps run
# for each ansible-core version in turn, then the steps that run once, in the list's order.
# Environment:
#   AUDIT_ANSIBLE_VERSIONS  ansible-core versions for the per-version steps (default "2.17 2.21")
#   AUDIT_TEST_ARGS         extra arguments for every ansible-test call (e.g. "--test pylint")
#   AUDIT_WORK_DIR          where the laid-out copies, logs and the tarball go (default: a
#                           folder per checkout under $TMPDIR or /tmp)
#   AUDIT_STEP_TIMEOUT      seconds before a step is stopped (default 1500)
#   HYPOTHESIS_PROFILE      the property step's Hypothesis profile (default ci; see
#                           tests/property/conftest.py; `make property-long` sets long)
#
# Every step runs even when an earlier one failed; the run ends with a table of the steps and
# one line "<label>: N passed, M failed", and exits non-zero if any step failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export AUDIT_ROOT=$ROOT
# shellcheck source=scripts/venv.sh
source "$ROOT/scripts/venv.sh"
# shellcheck source=scripts/ansible_test_env.sh
source "$ROOT/scripts/ansible_test_env.sh"

# The steps, in the order they run. A per-version step runs in the venv of each ansible-core
# version (AUDIT_ANSIBLE_VERSIONS); a once step runs once, in the named venv (scripts/venv.sh).
#    step       runs        venv   function
STEP_LIST=(
    "sanity      per-version -     step_sanity"
    "units       per-version -     step_units"
    "emulator    per-version -     step_emulator"
    "integration per-version -     step_integration"
    "property    once        2.21  step_property"
    "lint        once        tools step_lint"
    "docs        once        tools step_docs"
    "changelog   once        tools step_changelog"
    "build       once        tools step_build"
    "tarball     once        tools step_tarball"
    "ee          once        tools step_ee"
    "docsite     once        tools step_docsite"
    "release     once        tools step_release"
    "eda         once        eda   step_eda"
    "postgres    once        eda   step_postgres"
)

LABEL="make test"
if [ "${1:-}" = --label ]; then
    LABEL=$2
    shift 2
fi
STEP_NAMES=" $(printf '%s\n' "${STEP_LIST[@]}" | cut -d' ' -f1 | paste -sd' ' -) "
STEPS=("$@")
# shellcheck disable=SC2206 # the names, split at spaces
[ ${#STEPS[@]} -gt 0 ] || STEPS=($STEP_NAMES)
for step in "${STEPS[@]}"; do
    if [[ $STEP_NAMES != *" $step "* ]]; then
        echo "scripts/test.sh: unknown step '$step'" >&2
        exit 2
    fi
done

VERSIONS=${AUDIT_ANSIBLE_VERSIONS:-2.17 2.21}
# shellcheck disable=SC2206 # word splitting wanted: extra ansible-test options
TEST_ARGS=(${AUDIT_TEST_ARGS:-})
STEP_TIMEOUT=${AUDIT_STEP_TIMEOUT:-1500}
PROPERTY_PROFILE=${HYPOTHESIS_PROFILE:-ci}
WORK=$(audit_work_dir)
LOGS=$WORK/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

RESULTS=()
PASSED=0
FAILED=0
RUN_START=$SECONDS

wanted() { [[ " ${STEPS[*]} " == *" $1 "* ]]; }

# record NAME RESULT SECONDS NOTE
record() {
    RESULTS+=("$(printf '%-24s %-8s %6ss  %s' "$1" "$2" "$3" "$4")")
    case "$2" in
        PASS) PASSED=$((PASSED + 1)) ;;
        FAIL) FAILED=$((FAILED + 1)) ;;
    esac
}

# pip's progress output drowns the console; the full text stays in the step's log.
console_filter() {
    grep --line-buffered -v -E \
        "^(WARNING: Location '|Collecting |  Downloading |  Using cached |Downloading |Processing |Requirement already|Installing collected|Successfully installed|  Attempting uninstall|    Found existing|    Uninstalling|    Successfully uninstalled|Looking in |  Preparing metadata|  Installing build|  Getting requirements|  Building wheel|  Created wheel|  Stored in|Building wheels|Using cached)|━" ||
        true
}

# run_step NAME DIR CHECK COMMAND... : run COMMAND in DIR under a timeout, log it, record it.
# CHECK is a function given the log path; it may turn an exit status 0 into a failure (a
# tool that exits 0 having tested nothing) and prints the note for the table.
LAST_LOG=
run_step() {
    local name=$1 dir=$2 check=$3 start status note
    shift 3
    LAST_LOG="$LOGS/${name// /-}.log"
    echo
    # the command without its env prefix (PATH=... is long and the same for every step)
    local shown=("$@")
    [ "${shown[0]}" = env ] && shown=("${shown[@]:1}")
    while [ ${#shown[@]} -gt 0 ] && [[ ${shown[0]} == [A-Z_]*=* ]]; do shown=("${shown[@]:1}"); done
    echo "==> $name ($(date -u +%H:%M:%S)): ${shown[*]}"
    start=$SECONDS
    # Each step in a session of its own (the subshell is no group leader, so setsid does not
    # fork and the session id is its pid): whatever it leaves running is found and stopped.
    local sidfile
    sidfile=$(mktemp)
    (echo "$BASHPID" >"$sidfile" && cd "$dir" && exec setsid timeout -k 30 "$STEP_TIMEOUT" "$@") 2>&1 |
        tee "$LAST_LOG" | console_filter
    status=${PIPESTATUS[0]}
    local leftovers
    leftovers=$(stop_session "$(cat "$sidfile")")
    rm -f "$sidfile"
    note=$("$check" "$LAST_LOG" "$status")
    local check_status=$?
    if [ -n "$leftovers" ]; then
        echo "$name left processes running (stopped now): $leftovers" | tee -a "$LAST_LOG"
        note="${note:+$note; }left $leftovers"
        check_status=1
    fi
    if [ "$status" -eq 124 ]; then
        record "$name" FAIL $((SECONDS - start)) "timed out after ${STEP_TIMEOUT}s; log: $LAST_LOG"
    elif [ "$status" -ne 0 ] || [ "$check_status" -ne 0 ]; then
        record "$name" FAIL $((SECONDS - start)) "${note:+$note; }log: $LAST_LOG"
    else
        record "$name" PASS $((SECONDS - start)) "$note"
    fi
}

# stop_session SID: stop the processes a step left behind in its session; prints how many and
# the most frequent command, nothing when there were none. A step must clean up after itself
# (emulators above all), so leftovers fail it.
stop_session() {
    local sid=$1 pids pid tries=10 summary
    [ -n "$sid" ] || return 0
    pids=$(ps -eo pid=,sid= | awk -v sid="$sid" '$2 == sid {print $1}')
    [ -n "$pids" ] || return 0
    summary="$(echo "$pids" | wc -l) process(es), mostly: $(ps -o args= -p "$(echo "$pids" | paste -sd, -)" |
        sed -E 's#/[^ ]*/##g' | cut -c1-100 | sort | uniq -c | sort -rn | head -n 1 | sed 's/^ *//')"
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null; done
    while [ "$tries" -gt 0 ] && ps -o pid= -p "$(echo "$pids" | paste -sd, -)" >/dev/null; do
        sleep 0.5
        tries=$((tries - 1))
    done
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
    echo "$summary"
}

# --- checks: what a step must show in its log besides a zero exit status ---------------

check_none() { :; }

pythons_used() { # the interpreters ansible-test really ran tests with
    grep -oE '^(Running sanity test "[^"]+" on|Unit test [a-z_]+ with) Python [0-9]+\.[0-9]+' "$1" |
        awk '{print $NF}' | sort -u -V | paste -sd' ' -
}

check_sanity() {
    local tests failing
    tests=$(grep -oE '^Running sanity test "[^"]+"' "$1" | sort -u | wc -l)
    if [ "$tests" -eq 0 ]; then
        echo "no sanity test ran"
        return 1
    fi
    failing=$(grep -oE '^ERROR: Found [0-9]+ [^ ]+ issue' "$1" | awk '{print $4 "(" $3 ")"}' | paste -sd' ' -)
    # ansible-test's exit is a FATAL: Command line after failed tests too; a crash has no list
    if grep -q '^FATAL: Command' "$1" && ! grep -q '^FATAL: The [0-9]* sanity test' "$1"; then
        failing="${failing:+$failing }stopped: $(grep -oE '^Running sanity test "[^"]+"' "$1" | tail -n 1 | cut -d'"' -f2) crashed"
    fi
    # the project keeps zero ignore lines: an entry there would hide a failure from this step
    local ignores
    ignores=$(cat "$ROOT"/tests/sanity/ignore-*.txt 2>/dev/null | grep -cv '^\s*$')
    if [ "$ignores" -gt 0 ]; then
        failing="${failing:+$failing }tests/sanity/ignore-*.txt has $ignores line(s)"
    fi
    echo "$tests tests; Python $(pythons_used "$1")${failing:+; failing: $failing}"
    [ "$ignores" -eq 0 ]
}

check_units() {
    local runs passed failed
    # one pytest summary line per context and Python: "==== 380 passed, 1 skipped in 19.62s ===="
    runs=$(grep -cE "^=+ .* in [0-9.]+s" "$1")
    passed=$(grep -E "^=+ .* in [0-9.]+s" "$1" | grep -oE "[0-9]+ passed" | awk '{n+=$1} END {print n+0}')
    failed=$(grep -E "^=+ .* in [0-9.]+s" "$1" | grep -oE "[0-9]+ (failed|errors?)" | awk '{n+=$1} END {print n+0}')
    echo "$passed passed, $failed failed in $runs pytest runs; Python $(pythons_used "$1")"
    [ "$passed" -gt 0 ] || return 1
}

check_pytest() {
    local summary
    summary=$(grep -E "^=* ?[0-9]+ (passed|failed)" "$1" | tail -n 1 | sed -E 's/=+ ?//g; s/ in [0-9.]+s.*//')
    if [ "$2" -eq 5 ]; then
        echo "no test collected"
        return 1
    fi
    echo "$summary"
}

check_integration() {
    local ran failed
    ran=$(grep -oE "^Running [^ ]+ integration test" "$1" | awk '{print $2}' | sort -u | paste -sd' ' -)
    if [ -z "$ran" ]; then
        echo "no integration target ran"
        return 1
    fi
    # with --continue-on-error ansible-test names the failed targets after this line
    failed=$(sed -n '/integration test(s) listed below/,/^FATAL/p' "$1" | sed '1d;/^FATAL/d' | paste -sd' ' -)
    echo "ran: $ran${failed:+; failed: $failed}"
}

check_lint() {
    grep -E "^(Passed|Failed):" "$1" | tail -n 1
}

check_property() { # check_pytest, and a test ran: a skipped test proves nothing
    local note
    if ! note=$(check_pytest "$@") || ! grep -qE '[0-9]+ (passed|failed)' <<<"$note"; then
        echo "${note:-no test ran}"
        return 1
    fi
    echo "$note; profile $PROPERTY_PROFILE"
}

# The tarball must hold the collection and nothing of the development tree.
check_build() {
    local tarball junk
    tarball=$(find "$WORK/dist" -name '*.tar.gz' -print -quit 2>/dev/null)
    if [ -z "$tarball" ]; then
        echo "no tarball"
        return 1
    fi
    junk=$(tar -tzf "$tarball" | grep -E '(^|/)(\.git|\.ansible|\.venv[^/]*|tests/output|tests/unit|tests/emulator|tests/property|tests/postgres|scripts|requirements|__pycache__|\.pytest_cache|\.hypothesis)(/|$)' | head -n 5)
    if [ -n "$junk" ]; then
        echo "tarball holds development files: ${junk//$'\n'/ }"
        return 1
    fi
    echo "$(basename "$tarball"), $(tar -tzf "$tarball" | grep -vc '/$') files, $(du -k "$tarball" | cut -f1) KiB"
}

# galaxy-importer exits 0 on some failures; its log says what it found.
check_importer() {
    if grep -qE "^(ERROR|CRITICAL)|ImporterError|Traceback" "$1"; then
        echo "importer reported errors"
        return 1
    fi
    echo "$(grep -cE '^WARNING' "$1") warnings"
}

# The check scripts end with "OK" or a one-line summary, "<what>: <figures>": that is the note.
check_galaxy_line() {
    grep -E '^(tarball|ee|docsite|changelog release [^ ]+): ' "$1" | tail -n 1
}

check_eda() {
    local summary
    summary=$(grep -E "^eda-e2e: [0-9]+ added" "$1" | tail -n 1 | sed 's/^eda-e2e: //')
    if [ -z "$summary" ]; then
        grep -E "^eda-e2e: FAILED" "$1" | tail -n 1 | sed 's/^eda-e2e: //'
        return 1
    fi
    echo "$summary"
    [[ $summary == *"; OK" ]]
}

# check_summary_line PREFIX LOG: an end-to-end script's last "PREFIX: ..." line is the note; it
# passes when that line ends with "; OK".
check_summary_line() {
    local summary
    summary=$(grep -E "^$1: " "$2" | tail -n 1 | sed "s/^$1: //")
    if [ -z "$summary" ]; then
        echo "no '$1:' summary line"
        return 1
    fi
    echo "$summary"
    [[ $summary == *"; OK" ]]
}
check_eda_postgres() { check_summary_line eda-postgres "$1"; }
check_eda_feedback() { check_summary_line eda-feedback "$1"; }

# --- venvs ---------------------------------------------------------------------------------

# with_venv NAME: the venv NAME of scripts/venv.sh (2.17, 2.21, tools, eda) and a laid-out copy
# of the tree for it, made once per run: its row in the table comes the first time. Sets VENV,
# DIR (the copy), AT (its ansible-test, real interpreters first on PATH: pyenv shims fail) and
# TOOL_ENV (its tools, seeing the copy as the installed collection: offline, no galaxy).
declare -A VENV_OF=() DIR_OF=()
with_venv() {
    local name=$1 start=$SECONDS log="$LOGS/venv-$1.log" copy
    if [ -z "${VENV_OF[$name]+made}" ]; then
        VENV_OF[$name]= # tried: a failure is recorded once, later steps are NOT RUN
        copy="$WORK/$name"
        [[ $name == [0-9]* ]] && copy="$WORK/ansible-$name"
        echo
        echo "==> venv $name ($(date -u +%H:%M:%S))"
        if ! VENV=$(audit_venv "$name" 2>"$log"); then
            tail -n 30 "$log"
            record "venv $name" FAIL $((SECONDS - start)) "log: $log"
            return 1
        fi
        # the ansible-core venvs run ansible-test, which bootstraps pip in venvs of its own
        if { [[ $name == [0-9]* ]] && ! audit_get_pip "$VENV"; } || ! DIR=$(audit_layout "$copy"); then
            record "venv $name" FAIL $((SECONDS - start)) "get-pip stand-in or tree copy failed"
            return 1
        fi
        VENV_OF[$name]=$VENV
        DIR_OF[$name]=$DIR
        record "venv $name" PASS $((SECONDS - start)) "$(venv_note "$name")"
    fi
    VENV=${VENV_OF[$name]}
    DIR=${DIR_OF[$name]:-}
    [ -n "$VENV" ] || return 1
    AT=(env "PATH=$WORK/pythons:$VENV/bin:$PATH" "$VENV/bin/ansible-test")
    TOOL_ENV=(env "PATH=$VENV/bin:$PATH" "ANSIBLE_COLLECTIONS_PATH=${DIR%/ansible_collections/*}")
}

venv_python() { # the Python version of venv $1
    _audit_venv_spec "$1" | cut -d' ' -f1
}

venv_note() {
    case "$1" in
        tools | eda) grep -E '^(ansible-core|ansible-lint|ansible_rulebook)==' \
            "$ROOT/requirements/$1.txt" | paste -sd' ' - ;;
        *) echo "ansible-core $("$VENV/bin/python" -c 'import ansible; print(ansible.__version__)')" \
            "on Python $(venv_python "$1")" ;;
    esac
}

# --- the steps: STEP_LIST's functions, run in DIR with VENV; $1 is the ansible-core version ---

test_files_under() { # any test_*.py below $1?
    [ -d "$1" ] && [ -n "$(find "$1" -name 'test_*.py' -print -quit)" ]
}

step_sanity() {
    run_step "sanity $1" "$DIR" check_sanity "${AT[@]}" sanity --venv --color no "${TEST_ARGS[@]}"
}

step_units() {
    # The newest ansible-core runs the units on the oldest and the newest Python it supports
    # and on its venv's (3.9, 3.12, 3.13): the ends of the range and the controller's. The
    # older one runs them on its venv's Python (3.11), which also covers what differs between
    # ansible-core versions (AnsibleModule, the loaders). Every supported Python compiles and
    # imports the code in sanity. AUDIT_UNIT_PYTHONS=all (make units-all) runs the newest on
    # every Python it supports, as CI did until its run neared 45 minutes.
    local pythons
    if [ "$1" = "${VERSIONS##* }" ]; then
        pythons=${AUDIT_UNIT_PYTHONS:-3.9 $(venv_python "$1") 3.13}
    else
        pythons=$(venv_python "$1")
    fi
    [ "$pythons" = all ] && pythons=""
    if test_files_under "$DIR/tests/unit"; then
        # One ansible-test call per Python (none: every Python); a failure on one still runs
        # the others. The single quotes are meant: $0 and $@ are the inner shell's.
        # shellcheck disable=SC2016
        run_step "units $1" "$DIR" check_units bash -c \
            'rc=0; [ -n "$0" ] || { exec "$@"; }; for v in $0; do "$@" --python "$v" || rc=1; done; exit $rc' \
            "$pythons" "${AT[@]}" units --venv --color no "${TEST_ARGS[@]}"
    else
        record "units $1" SKIP 0 "no tests/unit/**/test_*.py"
    fi
}

step_emulator() {
    if test_files_under "$DIR/tests/emulator/tests"; then
        run_step "emulator $1" "$DIR" check_pytest env "PATH=$WORK/pythons:$VENV/bin:$PATH" \
            "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/emulator/tests
    else
        record "emulator $1" SKIP 0 "no tests/emulator/tests/test_*.py"
    fi
}

step_integration() {
    if [ -n "$(find "$DIR/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)" ]; then
        run_step "integration $1" "$DIR" check_integration "${AT[@]}" integration --venv \
            --python "$(venv_python "$1")" --continue-on-error --color no "${TEST_ARGS[@]}"
    else
        record "integration $1" SKIP 0 "no tests/integration/targets/*"
    fi
}

# The Hypothesis properties (tests/property): plain pytest, once; ansible-test units on every
# Python would multiply their time for nothing the unit tests do not already cover.
step_property() {
    run_step "property" "$DIR" check_property env "PATH=$VENV/bin:$PATH" \
        "HYPOTHESIS_PROFILE=$PROPERTY_PROFILE" \
        "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/property
}

step_lint() {
    run_step "ansible-lint" "$DIR" check_lint "${TOOL_ENV[@]}" \
        ansible-lint --profile production --offline --nocolor
}

step_docs() {
    run_step "antsibull-docs lint" "$DIR" check_none "${TOOL_ENV[@]}" \
        antsibull-docs lint-collection-docs --plugin-docs .
    # ansible-doc's own rendering: no author or value it marks (!UNKNOWN)
    run_step "ansible-doc unknown" "$DIR" check_none "${TOOL_ENV[@]}" \
        bash scripts/check_doc_unknown.sh
}

step_changelog() {
    run_step "antsibull-changelog lint" "$DIR" check_none "${TOOL_ENV[@]}" \
        bash -c 'antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml'
}

step_build() {
    local tarball
    rm -rf "$WORK/dist"
    run_step "galaxy build" "$DIR" check_build "${TOOL_ENV[@]}" \
        ansible-galaxy collection build --force --output-path "$WORK/dist" .
    tarball=$(find "$WORK/dist" -name '*.tar.gz' -print -quit 2>/dev/null)
    if [ -n "$tarball" ]; then
        run_step "galaxy-importer" "$WORK/dist" check_importer "${TOOL_ENV[@]}" \
            "GALAXY_IMPORTER_CONFIG=$ROOT/scripts/galaxy-importer.cfg" \
            python -m galaxy_importer.main "$tarball"
    else
        record "galaxy-importer" "NOT RUN" 0 "no tarball"
    fi
}

# How users get the collection: tarball, execution environment / AWX, docsite, release.
# check_script ROW SCRIPT WORK_NAME [VAR=VALUE...]: scripts/SCRIPT says what it checks.
check_script() {
    run_step "$1" "$DIR" check_galaxy_line "${TOOL_ENV[@]}" "${@:4}" bash "scripts/$2" "$WORK/$3"
}
step_tarball() { check_script "tarball contents" check_tarball.sh tarball; }
step_docsite() { check_script docsite check_docsite.sh docsite; }
step_release() { check_script "changelog release" check_changelog_release.sh release; }

step_ee() {
    local emulator_python
    # the emulator runs on the first runner venv (it has tests/emulator/requirements.txt)
    if emulator_python=$(audit_venv "${VERSIONS%% *}" 2>>"$LOGS/venv-ee.log")/bin/python; then
        check_script "ee and awx runner" check_ee.sh ee "EMULATOR_PYTHON=$emulator_python"
    else
        record "ee and awx runner" "NOT RUN" 0 "no venv for the emulator; log: $LOGS/venv-ee.log"
    fi
}

# Event-Driven Ansible end-to-end: tests/eda/e2e.py builds and installs the collection, then
# runs the real ansible-rulebook (its own venv: requirements/eda.txt; a Java 17+ runtime)
# against the emulator.
step_eda() {
    run_step "eda e2e" "$DIR" check_eda env "PATH=$VENV/bin:$PATH" \
        "$VENV/bin/python" tests/eda/e2e.py --work "$WORK/eda-run"
}

# The PostgreSQL checkpoint store and acknowledged delivery, against a real PostgreSQL server
# (the tests start their own, from Debian's postgresql package: .ci/run installs it) and the
# real ansible-rulebook, in the eda venv: tests/postgres with pytest, then the end-to-end
# scripts, each ending with a "<name>: ...; OK" line. A missing file fails its row.
step_postgres() {
    local pg_bin path
    pg_bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    path="$VENV/bin:${pg_bin:+$pg_bin:}$PATH"
    if test_files_under "$DIR/tests/postgres"; then
        run_step "postgres store" "$DIR" check_pytest env "PATH=$path" \
            "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/postgres
    else
        record "postgres store" FAIL 0 "no tests/postgres/**/test_*.py"
    fi
    postgres_e2e "eda postgres" e2e_postgres.py check_eda_postgres "$path"
    postgres_e2e "eda feedback" e2e_feedback.py check_eda_feedback "$path"
}

# postgres_e2e ROW SCRIPT CHECK PATH: tests/eda/SCRIPT --work DIR, or a failed row if it is missing
postgres_e2e() {
    if [ -f "$DIR/tests/eda/$2" ]; then
        run_step "$1" "$DIR" "$3" env "PATH=$4" \
            "$VENV/bin/python" "tests/eda/$2" --work "$WORK/${2%.py}-run"
    else
        record "$1" FAIL 0 "tests/eda/$2 is missing"
    fi
}

# --- main ------------------------------------------------------------------------------------

# run_steps RUNS [VERSION]: the wanted steps of STEP_LIST that run RUNS, in the list's order
run_steps() {
    local runs=$1 version=${2:-} entry name when venv function
    for entry in "${STEP_LIST[@]}"; do
        read -r name when venv function <<<"$entry"
        if [ "$when" != "$runs" ] || ! wanted "$name"; then continue; fi
        [ "$venv" = - ] && venv=$version
        if with_venv "$venv"; then
            "$function" "$version"
        else
            record "$name${version:+ $version}" "NOT RUN" 0 "no venv"
        fi
    done
}

echo "$LABEL: steps: ${STEPS[*]}; ansible-core: $VERSIONS; work dir: $WORK"
for step in "${STEPS[@]}"; do # the interpreters, when a per-version step is wanted
    if printf '%s\n' "${STEP_LIST[@]}" | grep -q "^$step  *per-version "; then
        audit_pythons_dir "$WORK/pythons" | paste -sd' ' - | sed 's/^/interpreters for ansible-test: /'
        break
    fi
done
for version in $VERSIONS; do
    run_steps per-version "$version"
done
run_steps once

echo
printf '%-24s %-8s %7s  %s\n' STEP RESULT TIME NOTE
printf '%s\n' "${RESULTS[@]}"
echo "total: $((SECONDS - RUN_START))s; logs: $LOGS"
echo "$LABEL: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
