#!/usr/bin/env bash
# The collection's test pipeline: `make test` runs all of it, `make sanity` & co. run parts.
#
#   bash scripts/test.sh [--label NAME] [STEP...]
#
# STEP is one of: sanity units emulator integration (run once per ansible-core version, in
# that order), lint docs changelog build (run once, afterwards), then tarball ee docsite
# release (once: how users get the collection; see run_galaxy_checks), eda (once, last:
# the Event-Driven Ansible end-to-end test). No STEP means all of them.
# Environment:
#   AUDIT_ANSIBLE_VERSIONS  ansible-core versions for the per-version steps (default "2.17 2.21")
#   AUDIT_TEST_ARGS         extra arguments for every ansible-test call (e.g. "--test pylint")
#   AUDIT_WORK_DIR          where the laid-out copies, logs and the tarball go (default: a
#                           folder per checkout under $TMPDIR or /tmp)
#   AUDIT_STEP_TIMEOUT      seconds before a step is stopped (default 1500)
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

LABEL="make test"
if [ "${1:-}" = --label ]; then
    LABEL=$2
    shift 2
fi
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=(sanity units emulator integration lint docs changelog build
    tarball ee docsite release eda)
for step in "${STEPS[@]}"; do
    case "$step" in
        sanity | units | emulator | integration | lint | docs | changelog | build) ;;
        tarball | ee | docsite | release | eda) ;;
        *)
            echo "scripts/test.sh: unknown step '$step'" >&2
            exit 2
            ;;
    esac
done

VERSIONS=${AUDIT_ANSIBLE_VERSIONS:-2.17 2.21}
# shellcheck disable=SC2206 # word splitting wanted: extra ansible-test options
TEST_ARGS=(${AUDIT_TEST_ARGS:-})
STEP_TIMEOUT=${AUDIT_STEP_TIMEOUT:-1500}
WORK=$(audit_work_dir)
LOGS=$WORK/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log

RESULTS=()
PASSED=0
FAILED=0
RUN_START=$SECONDS

wanted() {
    local step
    for step in "${STEPS[@]}"; do
        [ "$step" = "$1" ] && return 0
    done
    return 1
}

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
    if grep -q '^FATAL: Command' "$1"; then
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

# --- per-version steps ---------------------------------------------------------------------

test_files_under() { # any test_*.py below $1?
    [ -d "$1" ] && [ -n "$(find "$1" -name 'test_*.py' -print -quit)" ]
}

run_version() {
    local version=$1 venv python start dir
    local steps=()
    for step in sanity units emulator integration; do
        wanted "$step" && steps+=("$step")
    done
    [ ${#steps[@]} -gt 0 ] || return 0

    start=$SECONDS
    echo
    echo "==> venv $version ($(date -u +%H:%M:%S))"
    if ! venv=$(audit_venv "$version" 2>"$LOGS/venv-$version.log"); then
        tail -n 30 "$LOGS/venv-$version.log"
        record "venv $version" FAIL $((SECONDS - start)) "log: $LOGS/venv-$version.log"
        for step in "${steps[@]}"; do
            record "$step $version" "NOT RUN" 0 "no venv"
        done
        return 0
    fi
    python=$(_audit_venv_spec "$version" | cut -d' ' -f1)
    if ! audit_get_pip "$venv" || ! dir=$(audit_layout "$WORK/ansible-$version"); then
        record "venv $version" FAIL $((SECONDS - start)) "get-pip stand-in or tree copy failed"
        return 0
    fi
    record "venv $version" PASS $((SECONDS - start)) "ansible-core $("$venv/bin/python" -c \
        'import ansible; print(ansible.__version__)') on Python $python"

    # Real interpreters first (pyenv shims fail), then the venv for ansible-test & shellcheck.
    local path="$WORK/pythons:$venv/bin:$PATH"
    local at=(env "PATH=$path" "$venv/bin/ansible-test")

    if wanted sanity; then
        run_step "sanity $version" "$dir" check_sanity "${at[@]}" sanity --venv --color no "${TEST_ARGS[@]}"
    fi
    if wanted units; then
        if test_files_under "$dir/tests/unit"; then
            run_step "units $version" "$dir" check_units "${at[@]}" units --venv --color no "${TEST_ARGS[@]}"
        else
            record "units $version" SKIP 0 "no tests/unit/**/test_*.py"
        fi
    fi
    if wanted emulator; then
        if test_files_under "$dir/tests/emulator/tests"; then
            run_step "emulator $version" "$dir" check_pytest env "PATH=$path" \
                "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/emulator/tests
        else
            record "emulator $version" SKIP 0 "no tests/emulator/tests/test_*.py"
        fi
    fi
    if wanted integration; then
        if [ -n "$(find "$dir/tests/integration/targets" -mindepth 1 -maxdepth 1 -type d 2>/dev/null)" ]; then
            run_step "integration $version" "$dir" check_integration "${at[@]}" integration --venv \
                --python "$python" --continue-on-error --color no "${TEST_ARGS[@]}"
        else
            record "integration $version" SKIP 0 "no tests/integration/targets/*"
        fi
    fi
}

# --- version-independent steps -------------------------------------------------------------

run_tools() {
    local steps=() venv start dir tarball
    for step in lint docs changelog build; do
        wanted "$step" && steps+=("$step")
    done
    [ ${#steps[@]} -gt 0 ] || return 0

    start=$SECONDS
    echo
    echo "==> venv tools ($(date -u +%H:%M:%S))"
    if ! venv=$(audit_venv tools 2>"$LOGS/venv-tools.log") || ! dir=$(audit_layout "$WORK/tools"); then
        tail -n 30 "$LOGS/venv-tools.log"
        record "venv tools" FAIL $((SECONDS - start)) "log: $LOGS/venv-tools.log"
        for step in "${steps[@]}"; do
            record "$step" "NOT RUN" 0 "no venv"
        done
        return 0
    fi
    record "venv tools" PASS $((SECONDS - start)) "$(grep -E '^(ansible-core|ansible-lint)==' \
        "$ROOT/requirements/tools.txt" | paste -sd' ' -)"

    # The laid-out copy is the collection the tools see (offline: no galaxy download).
    local tool_env=(env "PATH=$venv/bin:$PATH" "ANSIBLE_COLLECTIONS_PATH=$WORK/tools")

    if wanted lint; then
        run_step "ansible-lint" "$dir" check_lint "${tool_env[@]}" \
            ansible-lint --profile production --offline --nocolor
    fi
    if wanted docs; then
        run_step "antsibull-docs lint" "$dir" check_none "${tool_env[@]}" \
            antsibull-docs lint-collection-docs --plugin-docs .
    fi
    if wanted changelog; then
        run_step "antsibull-changelog lint" "$dir" check_none "${tool_env[@]}" \
            bash -c 'antsibull-changelog lint && antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml'
    fi
    if wanted build; then
        rm -rf "$WORK/dist"
        run_step "galaxy build" "$dir" check_build "${tool_env[@]}" \
            ansible-galaxy collection build --force --output-path "$WORK/dist" .
        tarball=$(find "$WORK/dist" -name '*.tar.gz' -print -quit 2>/dev/null)
        if [ -n "$tarball" ]; then
            run_step "galaxy-importer" "$WORK/dist" check_importer "${tool_env[@]}" \
                "GALAXY_IMPORTER_CONFIG=$ROOT/scripts/galaxy-importer.cfg" \
                python -m galaxy_importer.main "$tarball"
        else
            record "galaxy-importer" "NOT RUN" 0 "no tarball"
        fi
    fi
}

# The tarball must hold the collection and nothing of the development tree.
check_build() {
    local tarball junk
    tarball=$(find "$WORK/dist" -name '*.tar.gz' -print -quit 2>/dev/null)
    if [ -z "$tarball" ]; then
        echo "no tarball"
        return 1
    fi
    junk=$(tar -tzf "$tarball" | grep -E '(^|/)(\.git|\.ansible|\.venv[^/]*|tests/output|tests/unit|tests/emulator|scripts|requirements|__pycache__|\.pytest_cache)(/|$)' | head -n 5)
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

# --- how users get the collection: tarball, execution environment / AWX, docsite, release ----
# Each runs once, on the tools venv, in the laid-out copy; the scripts say what they check.

run_galaxy_checks() {
    local steps=() venv start dir emulator_python
    for step in tarball ee docsite release; do
        wanted "$step" && steps+=("$step")
    done
    [ ${#steps[@]} -gt 0 ] || return 0

    start=$SECONDS
    if ! venv=$(audit_venv tools 2>"$LOGS/venv-galaxy.log") || ! dir=$(audit_layout "$WORK/tools"); then
        record "venv tools (galaxy)" FAIL $((SECONDS - start)) "log: $LOGS/venv-galaxy.log"
        return 0
    fi
    local tool_env=(env "PATH=$venv/bin:$PATH" "ANSIBLE_COLLECTIONS_PATH=$WORK/tools")

    if wanted tarball; then
        run_step "tarball contents" "$dir" check_galaxy_line "${tool_env[@]}" \
            bash scripts/check_tarball.sh "$WORK/tarball"
    fi
    if wanted ee; then
        # the emulator runs on the first runner venv (it has tests/emulator/requirements.txt)
        if emulator_python=$(audit_venv "${VERSIONS%% *}" 2>>"$LOGS/venv-galaxy.log")/bin/python; then
            run_step "ee and awx runner" "$dir" check_galaxy_line "${tool_env[@]}" \
                "EMULATOR_PYTHON=$emulator_python" bash scripts/check_ee.sh "$WORK/ee"
        else
            record "ee and awx runner" "NOT RUN" 0 "no venv for the emulator; log: $LOGS/venv-galaxy.log"
        fi
    fi
    if wanted docsite; then
        run_step "docsite" "$dir" check_galaxy_line "${tool_env[@]}" \
            bash scripts/check_docsite.sh "$WORK/docsite"
    fi
    if wanted release; then
        run_step "changelog release" "$dir" check_galaxy_line "${tool_env[@]}" \
            bash scripts/check_changelog_release.sh "$WORK/release"
    fi
}

# The scripts end with "OK" or a one-line summary, "<what>: <figures>": that is the note.
check_galaxy_line() {
    grep -E '^(tarball|ee|docsite|changelog release [^ ]+): ' "$1" | tail -n 1
}

# --- Event-Driven Ansible end-to-end (step eda, run once) ---------------------------------------
# tests/eda/e2e.py builds and installs the collection, then runs the real ansible-rulebook
# (its own venv: requirements/eda.txt; a Java 17+ runtime) against the emulator.

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

run_eda() {
    local venv start dir
    wanted eda || return 0
    start=$SECONDS
    echo
    echo "==> venv eda ($(date -u +%H:%M:%S))"
    if ! venv=$(audit_venv eda 2>"$LOGS/venv-eda.log") || ! dir=$(audit_layout "$WORK/eda"); then
        tail -n 30 "$LOGS/venv-eda.log"
        record "venv eda" FAIL $((SECONDS - start)) "log: $LOGS/venv-eda.log"
        record "eda e2e" "NOT RUN" 0 "no venv"
        return 0
    fi
    record "venv eda" PASS $((SECONDS - start)) "$(grep -E '^(ansible_rulebook|ansible-core)==' \
        "$ROOT/requirements/eda.txt" | paste -sd' ' -)"
    run_step "eda e2e" "$dir" check_eda env "PATH=$venv/bin:$PATH" \
        "$venv/bin/python" tests/eda/e2e.py --work "$WORK/eda-run"
}

# --- main ------------------------------------------------------------------------------------

echo "$LABEL: steps: ${STEPS[*]}; ansible-core: $VERSIONS; work dir: $WORK"
# the loop's exit status is its last pass's (integration): only the output says what is wanted
needs_versions=$(for s in sanity units emulator integration; do wanted "$s" && echo y; done)
if [ -n "$needs_versions" ]; then
    audit_pythons_dir "$WORK/pythons" | paste -sd' ' - | sed 's/^/interpreters for ansible-test: /'
fi
for version in $VERSIONS; do
    run_version "$version"
done
run_tools
run_galaxy_checks
run_eda

echo
printf '%-24s %-8s %7s  %s\n' STEP RESULT TIME NOTE
printf '%s\n' "${RESULTS[@]}"
echo "total: $((SECONDS - RUN_START))s; logs: $LOGS"
echo "$LABEL: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
