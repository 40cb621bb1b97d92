#!/usr/bin/env bash
# Schemathesis against a live server: gunicorn (config/gunicorn.py) on a fresh PostgreSQL database on
# loopback, every check (`--checks all`; scripts/schemathesis.toml relaxes what no schema can state, each
# with its reason), a bounded number of examples per operation. Stops and drops what it started.
# Usage: bash scripts/schemathesis.sh   (env: PY, SCHEMATHESIS_PORT, SCHEMATHESIS_MAX_EXAMPLES, PGHOST...)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
PORT=${SCHEMATHESIS_PORT:-18731}
DB=daymark_schemathesis_$$
WORK=$(mktemp -d)

export DJANGO_SECRET_KEY=schemathesis-only-secret-key
# One token for the whole run.
export JWT_ACCESS_MINUTES=120
# The run sends thousands of requests a minute as one user; at the default 600/m most answers were 429 and
# the logic behind them went untested. Rate limiting itself is tested in tests/core/test_ratelimit.py.
export RATE_LIMIT_DEFAULT=${SCHEMATHESIS_RATE_LIMIT:-100000/m}
# Its negative-auth checks send many bad credentials from one address; they must see the 401s.
export RATE_LIMIT_AUTH_FAILURES_PER_IP=${SCHEMATHESIS_RATE_LIMIT:-100000/m}
# Webhook URLs that the run makes up are taken as they are (no https rule, no DNS lookup of made-up names:
# this machine sends nothing beyond loopback); no worker runs, so nothing is ever delivered. The address
# guard itself is tested in tests/webhooks/test_guard.py.
export WEBHOOKS_ALLOW_INSECURE=true
# shellcheck source=scripts/live_server.sh
. scripts/live_server.sh
live_server_start

TOKEN=$(curl -fs -X POST "$BASE/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"schemathesis@example.com","password":"schemathesis long passphrase"}' |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access"])')

status=0
args=(
  --config-file scripts/schemathesis.toml run "$BASE/api/schema"
  --url "$BASE"
  --checks all
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-20}"
  --seed 1
  # One worker: with two, Hypothesis parses lambda sources in two threads at once, which trips a CPython
  # 3.11 bug in the ast module (python/cpython#106905: "AST constructor recursion depth mismatch") and fails
  # the run on a schemathesis-internal error about once in four runs.
  --workers 1
  --request-timeout 10
  --generation-database none
  --generation-allow-x00 false
  -H "Authorization: Bearer $TOKEN"
  --no-color
)
# Logging out everywhere refuses every access token issued before, the run's own included: it runs last,
# on its own, so that the operations after it are not all 401s. (A password change would too, but the run
# cannot know the password, so it never succeeds.)
REVOKING=/api/v1/auth/logout-all
"$BIN/schemathesis" "${args[@]}" --exclude-path "$REVOKING" || status=$?
"$BIN/schemathesis" "${args[@]}" --include-path "$REVOKING" || status=$?

live_server_errors || status=1
exit $status
