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
say "pytest"
set +e
python -m pytest --durations=30 "$@"
code=$?
set -e
if [ "$code" = "5" ]; then
  echo "pytest collected no tests: that is a failure here."
  failed+=("pytest (no tests)")
elif [ "$code" != "0" ]; then
  failed+=("pytest")
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "All checks passed."
