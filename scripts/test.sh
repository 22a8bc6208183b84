#!/usr/bin/env bash
# The README's second command: lint, type-check and run every test (unit, integration against
# real Redis, SQLite and PostgreSQL, end-to-end in headless Chromium). Extra args go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium is missing: install Debian's 'chromium' package (sudo apt-get install chromium)."
    exit 1
  fi
fi

# Every step runs, so one report shows all problems; the exit code fails if any step failed.
failed=()
say "ruff"
ruff check . || failed+=("ruff check")
ruff format --check . || failed+=("ruff format")
say "mypy"
mypy trading sneakers_app state components tests scripts || failed+=("mypy")
say "import layers"
lint-imports --no-logo || failed+=("lint-imports")
# pytest's exit code 5 (no tests collected) is a failure too.
pytest_result() {
  if [ "$2" = "5" ]; then
    echo "$1 collected no tests: that is a failure here."
    failed+=("$1 (no tests)")
  elif [ "$2" != "0" ]; then
    failed+=("$1")
  fi
}
set +e
if [ $# -eq 0 ]; then
  # The whole suite in three pytest runs, as this machine's cores allow. The fault-injection
  # suite spends most of its time waiting for processes to fail and come back: it runs
  # alongside the others in a pytest of its own, its report printed last. The unit,
  # integration and engine tests wait on their servers about half the time: two pytest-xdist
  # workers share them. The browser tests run one at a time, alone (they share one build of
  # the pages in .web).
  say "pytest: the fault-injection suite starts alongside the others (its report comes last)"
  faults_log="$(mktemp)"
  # (A background job starts with Ctrl-C ignored: the handler is put back, so Ctrl-C stops
  # every run and each tears down what it started.)
  python -c 'import signal, sys, pytest
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(pytest.main(sys.argv[1:]))' -p no:cacheprovider --durations=10 tests/faults \
    >"$faults_log" 2>&1 &
  faults_pid=$!
  say "pytest: unit, integration and engine tests (2 workers)"
  python -m pytest -n 2 --durations=20 --ignore-glob='tests/faults/*' --ignore-glob='tests/e2e/*'
  pytest_result "pytest (unit, integration, engine)" "$?"
  say "pytest: browser tests"
  python -m pytest --durations=30 tests/e2e
  pytest_result "pytest tests/e2e" "$?"
  wait "$faults_pid"
  faults_code=$?
  say "pytest tests/faults"
  cat "$faults_log"
  rm -f "$faults_log"
  pytest_result "pytest tests/faults" "$faults_code"
else
  say "pytest"
  python -m pytest --durations=30 "$@"
  pytest_result "pytest" "$?"
fi
set -e
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "All checks passed."
