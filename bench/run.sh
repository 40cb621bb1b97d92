#!/usr/bin/env bash
# `make bench`: the production server (gunicorn with config/gunicorn.py, DEBUG off, PostgreSQL with the
# psycopg pool, Redis) on loopback, on a database of its own seeded by `seed_load`, driven by bench/load.py
# from a separate process at a fixed concurrency for a fixed time per scenario. Prints one table. Stops
# everything it started and drops its database on exit, whatever happens.
#
# Settings (environment): BENCH_DURATION (s per scenario, 10), BENCH_WARMUP (2), BENCH_CONCURRENCY (8),
# BENCH_ONLY (scenario name prefixes, comma-separated), BENCH_PORT (19080), BENCH_SEED (1),
# BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_REDIS (redis://127.0.0.1:6379/7), BENCH_JSON (a
# file for the figures), BENCH_PROFILE (a directory: gunicorn runs under `py-spy record` per worker),
# BENCH_ASGI_PROFILE (a directory: py-spy samples the live part's ASGI process into asgi.txt),
# and any GUNICORN_* / DATABASE_POOL_* variable of docs/deployment.md.
# The items page, its references and the incremental sync then run again by wrk in turns (5 rounds of 2 s):
# the ratio targets are judged on those, which a change of the machine's load during the run hits alike.
# BENCH_USERS (1000): the light users seeded; BENCH_POOL (1000): how many of them the spread scenarios use
# (spread evenly over them); BENCH_WRK=0: only the Python generator (else wrk runs the fixed requests too).
# Then the live-updates part (bench/live.py): uvicorn as `make asgi` runs it on BENCH_ASGI_PORT (19081)
# holding BENCH_SOCKETS (1000) sockets while 8 clients write through gunicorn. BENCH_LIVE=0 skips it; with
# BENCH_ONLY it runs when one of the prefixes is `live`; BENCH_LIVE_JSON: a file for its figures.
# Then the worker's reminder burst (bench/reminders_fire.py, BENCH_REMINDERS="100000 10000" by default; with
# BENCH_ONLY when a prefix is `reminders`) and the webhooks' (bench/webhooks.py when it exists; `webhooks`).
#
# BENCH_SHORT=1 (CI): every scenario, briefly (1 s each after 0.5 s of warmup), on a smaller seed (2,500 open
# items per heavy or sync user, 200 light users, 100 sockets, 2,000 reminders, 500 webhook events to 4
# endpoints): fails on any error, never on speed.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
PORT=${BENCH_PORT:-19080}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${BENCH_REDIS:-redis://127.0.0.1:6379/7}
NAME=daymark_bench_$$
WORK=$(mktemp -d -t daymark-bench.XXXXXX)
SERVER_PID=""
ASGI_PID=""
ASGI_PORT=${BENCH_ASGI_PORT:-19081}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$ASGI_PID" ]; then
        kill -TERM "$ASGI_PID" 2>/dev/null || true
        for _ in $(seq 75); do kill -0 "$ASGI_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$ASGI_PID" 2>/dev/null || true
        wait "$ASGI_PID" 2>/dev/null || true
    fi
    # gunicorn's master, then wait for SERVER_PID to end: under BENCH_PROFILE that is py-spy's, which writes
    # its profile once gunicorn is gone (stopped first, it would leave gunicorn running and write nothing).
    if [ -f "$WORK/gunicorn.pid" ]; then
        kill -TERM "$(cat "$WORK/gunicorn.pid")" 2>/dev/null || true
    elif [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$SERVER_PID" ]; then
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    "$PY" bench/db.py drop "$PG" "$NAME" || true
    "$PY" bench/db.py clear-cache "$REDIS" "$NAME" || true
    if [ "$status" -ne 0 ] && [ -f "$WORK/server.log" ]; then
        echo "bench failed; the last server log lines:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT INT TERM

export DJANGO_SETTINGS_MODULE=bench.settings
export DJANGO_DEBUG=false
export DJANGO_SECRET_KEY="bench-only-secret-key-$$-not-for-production"
export DATABASE_URL="$PG/$NAME"
export REDIS_URL="$REDIS"
export CACHE_KEY_PREFIX="$NAME"
export LIVE_KEY_PREFIX="$NAME-live"
# Rate limits stay on (their Redis round trip is part of every request), raised so the bench is not throttled.
export RATE_LIMIT_DEFAULT=100000000/m RATE_LIMIT_TOKEN_PER_IP=10000/m RATE_LIMIT_TOKEN_PER_EMAIL=10000/m
export RATE_LIMIT_REGISTER_PER_IP=10000/h RATE_LIMIT_CALENDAR_FEED=100000000/h
export JWT_ACCESS_MINUTES=600
# No worker recycling during the run: a recycled worker re-imports the app (about a second of a core),
# which lands on whichever scenario is running and makes scenarios incomparable.
export GUNICORN_MAX_REQUESTS="${GUNICORN_MAX_REQUESTS:-0}"
export GUNICORN_BIND="127.0.0.1:$PORT"

SHORT=${BENCH_SHORT:-0}
OPEN_ITEMS=10000
seed_args=(--seed "${BENCH_SEED:-1}" --light-users "${BENCH_USERS:-1000}")
if [ "$SHORT" != 0 ]; then
    OPEN_ITEMS=2500
    seed_args=(--seed "${BENCH_SEED:-1}" --light-users "${BENCH_USERS:-200}" --open-items "$OPEN_ITEMS"
               --done-items 5000)
    : "${BENCH_DURATION:=1}" "${BENCH_WARMUP:=0.5}" "${BENCH_POOL:=200}" "${BENCH_SOCKETS:=100}"
    : "${BENCH_REMINDERS:=2000 200}" "${BENCH_WEBHOOK_EVENTS:=500 4}"
    export BENCH_SHORT
fi

stamp() { echo "[$(date -u +%T)] $*" >&2; }
echo "database $NAME; server 127.0.0.1:$PORT; logs in $WORK" >&2
stamp "migrate"
"$PY" bench/db.py create "$PG" "$NAME"
"$PY" manage.py migrate --noinput -v0
stamp "seed"
"$PY" manage.py seed_load "${seed_args[@]}" >&2
"$PY" manage.py load_tokens --out "$WORK/tokens.json" --light "${BENCH_POOL:-1000}" >&2
# Its invitations' emails go to memory, not to the console.
EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend "$PY" manage.py seed_spaces >&2
stamp "collectstatic, server"
"$PY" manage.py collectstatic --noinput -v0

if [ -n "${BENCH_PROFILE:-}" ]; then
    mkdir -p "$BENCH_PROFILE"
    "$BIN/py-spy" record --subprocesses --idle -r 200 -f speedscope -o "$BENCH_PROFILE/profile.json" -- \
        env PROMETHEUS_MULTIPROC_DIR="$WORK/metrics" "$BIN/gunicorn" -c config/gunicorn.py --pid "$WORK/gunicorn.pid" config.wsgi >"$WORK/server.log" 2>&1 &
else
    PROMETHEUS_MULTIPROC_DIR="$WORK/metrics" "$BIN/gunicorn" -c config/gunicorn.py --pid "$WORK/gunicorn.pid" config.wsgi >"$WORK/server.log" 2>&1 &
fi
SERVER_PID=$!
for _ in $(seq 100); do
    if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/ready', timeout=2)" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server did not start" >&2; exit 1; }
    sleep 0.2
done

args=(--url "http://127.0.0.1:$PORT" --concurrency "${BENCH_CONCURRENCY:-8}"
      --duration "${BENCH_DURATION:-10}" --warmup "${BENCH_WARMUP:-2}" --tokens "$WORK/tokens.json"
      --pool "${BENCH_POOL:-1000}" --full-sync-items "$OPEN_ITEMS" --server-pid "$(cat "$WORK/gunicorn.pid")")
[ -n "${BENCH_ONLY:-}" ] && args+=(--only "$BENCH_ONLY")
[ -n "${BENCH_JSON:-}" ] && args+=(--json "$BENCH_JSON")
[ "${BENCH_WRK:-1}" = 0 ] && args+=(--no-wrk)
if [ "$SHORT" != 0 ]; then args+=(--turns 1 --turn-seconds 1); fi
# A scenario's errors fail the bench, after the other parts have run.
failed=0
stamp "load.py; $(uptime)"
"$PY" bench/load.py "${args[@]}" || failed=1

live=${BENCH_LIVE:-1}
if [ -n "${BENCH_ONLY:-}" ] && [[ ",${BENCH_ONLY}," != *",live"* ]]; then live=0; fi
if [ "$live" != 0 ]; then
    stamp "live.py"
    "$PY" -m config.asgi_server --host 127.0.0.1 --port "$ASGI_PORT" >"$WORK/asgi.log" 2>&1 &
    ASGI_PID=$!
    for _ in $(seq 100); do
        if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$ASGI_PORT/health', timeout=2)" 2>/dev/null; then
            break
        fi
        kill -0 "$ASGI_PID" 2>/dev/null || { echo "the ASGI server did not start" >&2; cat "$WORK/asgi.log" >&2; exit 1; }
        sleep 0.2
    done
    if [ -n "${BENCH_ASGI_PROFILE:-}" ]; then
        # A sampling profile of the ASGI process over the whole live part (py-spy's collapsed stacks; it
        # stops when uvicorn does). --nonblocking: the process is not paused for each sample.
        mkdir -p "$BENCH_ASGI_PROFILE"
        "$BIN/py-spy" record --pid "$ASGI_PID" --nonblocking --idle -r 100 -f raw \
            -o "$BENCH_ASGI_PROFILE/asgi.txt" >"$WORK/py-spy-asgi.log" 2>&1 &
    fi
    live_args=(--http-port "$PORT" --asgi-port "$ASGI_PORT" --asgi-pid "$ASGI_PID" --server-pid "$(cat "$WORK/gunicorn.pid")"
               --sockets "${BENCH_SOCKETS:-1000}" --duration "${BENCH_DURATION:-10}")
    [ -n "${BENCH_LIVE_JSON:-}" ] && live_args+=(--json "$BENCH_LIVE_JSON")
    EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend "$PY" bench/live.py "${live_args[@]}" || failed=1
fi

wanted() {  # whether BENCH_ONLY (when set) names this part
    [ -z "${BENCH_ONLY:-}" ] || [[ ",${BENCH_ONLY}," == *",$1"* ]]
}
if [ "${BENCH_REMINDERS_FIRE:-1}" != 0 ] && wanted reminders && [ -f bench/reminders_fire.py ]; then
    stamp "reminders_fire.py"
    # shellcheck disable=SC2086 # two numbers: reminders, users
    "$PY" bench/reminders_fire.py ${BENCH_REMINDERS:-} || failed=1
fi
if [ "${BENCH_WEBHOOKS:-1}" != 0 ] && wanted webhooks && [ -f bench/webhooks.py ]; then
    stamp "webhooks.py"
    # shellcheck disable=SC2086 # two numbers: events, endpoints
    "$PY" bench/webhooks.py ${BENCH_WEBHOOK_EVENTS:-} || failed=1
fi
stamp "done; $(uptime)"
exit "$failed"
