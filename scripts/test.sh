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

say "ruff"
ruff check .
ruff format --check .
say "mypy"
mypy trading sneakers_app state components
say "pytest"
set +e
python -m pytest "$@"
code=$?
set -e
if [ "$code" = "5" ]; then
  echo "pytest collected no tests: that is a failure here."
  exit 1
fi
exit "$code"
