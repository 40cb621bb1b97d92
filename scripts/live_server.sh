# Sourced by the scripts that test a live server (scripts/schemathesis.sh, scripts/clients/run.sh): a
# fresh PostgreSQL database and gunicorn (config/gunicorn.py) on loopback, stopped and dropped on exit.
# The caller sets PY, DB, PORT and WORK (a temporary folder, removed on exit) and its own settings, then
# calls live_server_start; BASE is the server's URL, $WORK/server.log its log.

BIN=$(dirname "$PY")
PG="psql -h ${PGHOST:-127.0.0.1} -p ${PGPORT:-5432} -U ${PGUSER:-postgres} -qX"
BASE="http://127.0.0.1:$PORT"

export DJANGO_DEBUG=false
export DATABASE_URL="postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/$DB"
export DATABASE_POOL_MAX_SIZE=4
export GUNICORN_BIND="127.0.0.1:$PORT"
export GUNICORN_WORKERS=${GUNICORN_WORKERS:-2}
export GUNICORN_THREADS=${GUNICORN_THREADS:-4}
export LOG_LEVEL=WARNING
unset REDIS_URL

server=""
live_server_cleanup() {
  status=$?
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
  fi
  $PG -c "DROP DATABASE IF EXISTS $DB" postgres || true
  rm -rf "$WORK"
  exit $status
}
trap live_server_cleanup EXIT INT TERM

live_server_start() {
  $PG -c "CREATE DATABASE $DB" postgres
  "$PY" manage.py migrate --noinput -v0
  PROMETHEUS_MULTIPROC_DIR="$WORK/metrics" "$BIN/gunicorn" -c config/gunicorn.py config.wsgi >"$WORK/server.log" 2>&1 &
  server=$!
  for _ in $(seq 60); do
    curl -fs "$BASE/ready" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$WORK/server.log"; exit 1; }
    sleep 0.5
  done
  curl -fs "$BASE/ready" >/dev/null
}

# Fails when the server logged an error (printing them, the access log's own lines aside).
live_server_errors() {
  if grep -q '"level":"ERROR"' "$WORK/server.log"; then
    echo "=== server errors during the run"
    grep '"level":"ERROR"' "$WORK/server.log" | grep -v '"logger":"daymark.access"' | head -20
    return 1
  fi
}
