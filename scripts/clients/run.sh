#!/usr/bin/env bash
# Generated clients: builds a Python client (openapi-python-client) and a TypeScript client
# (openapi-typescript + openapi-fetch) from the committed docs/api/openapi.yaml, type-checks a journey
# written with each (mypy --strict, tsc --strict --noEmit), and runs both against a live gunicorn on a
# fresh PostgreSQL database on loopback. Every answer is validated against the schema. The generated code
# goes to scripts/clients/build/ and scripts/clients/ts/build/ (ignored). Stops and drops what it started.
# Usage: bash scripts/clients/run.sh   (env: PY, CLIENTS_PORT, PGHOST...)
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=${PY:-.venv/bin/python}
HERE=scripts/clients
BUILD=$HERE/build
SCHEMA=docs/api/openapi.yaml
PORT=${CLIENTS_PORT:-18732}
DB=daymark_schema_clients_$$
WORK=$(mktemp -d)
export DJANGO_SECRET_KEY=clients-only-secret-key
export GUNICORN_THREADS=2
# shellcheck source=scripts/live_server.sh
. scripts/live_server.sh  # removes WORK (and the database, once made) on exit

step() { printf -- '--- %s\n' "$*"; }

# The generators and checkers, pinned: their own virtualenv (they need other packages than the app's)
# and node_modules, installed again only when the pins change.
VENV=$HERE/.venv
if [ ! -f "$VENV/.installed" ] || [ "$HERE/requirements.txt" -nt "$VENV/.installed" ]; then
  step "installing the Python client tools ($HERE/requirements.txt)"
  rm -rf "$VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  touch "$VENV/.installed"
fi
if [ ! -f "$HERE/ts/node_modules/.installed" ] || [ "$HERE/ts/package-lock.json" -nt "$HERE/ts/node_modules/.installed" ]; then
  step "installing the TypeScript client tools ($HERE/ts/package-lock.json)"
  npm ci --prefix "$HERE/ts" --no-audit --no-fund --loglevel=error
  touch "$HERE/ts/node_modules/.installed"
fi

rm -rf "$BUILD" "$HERE/ts/build" && mkdir -p "$BUILD" "$HERE/ts/build"

step "python: generate the client with openapi-python-client (no warnings allowed)"
"$VENV/bin/openapi-python-client" generate --path "$SCHEMA" --output-path "$BUILD/daymark_client" \
  --meta none --config "$HERE/python/openapi-python-client.yaml" >"$WORK/generate.log" 2>&1 ||
  { cat "$WORK/generate.log"; exit 1; }
if grep -qiE 'warning|error|skipp' "$WORK/generate.log"; then
  cat "$WORK/generate.log"
  echo "openapi-python-client could not generate the whole API from $SCHEMA"
  exit 1
fi

step "python: mypy --strict on the journey"
MYPYPATH="$BUILD" "$VENV/bin/mypy" --config-file "$HERE/python/mypy.ini" --strict --no-incremental --cache-dir=/dev/null \
  "$HERE/python/journey.py"

step "typescript: generate the types with openapi-typescript, tsc --strict --noEmit on the journey"
"$HERE/ts/node_modules/.bin/openapi-typescript" "$SCHEMA" --output "$HERE/ts/build/schema.d.ts" --silent
"$HERE/ts/node_modules/.bin/tsc" -p "$HERE/ts/tsconfig.json" --noEmit
"$HERE/ts/node_modules/.bin/tsc" -p "$HERE/ts/tsconfig.json"

step "a live gunicorn on a fresh PostgreSQL database ($BASE)"
live_server_start

status=0
step "python journey"
PYTHONPATH="$BUILD" "$VENV/bin/python" "$HERE/python/journey.py" "$BASE" "$SCHEMA" || status=1
step "typescript journey"
node "$HERE/ts/build/journey.js" "$BASE" "$SCHEMA" || status=1

live_server_errors || status=1
exit $status
