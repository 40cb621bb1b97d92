# Daymark developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# bash with pipefail: a failing pip is not hidden by the filter that makes its output compact.
SHELL := bash
.SHELLFLAGS := -o pipefail -c
STEP := @printf '==> %s\n'
# One line per package pip collects, then one while it installs (pip's errors go to stderr, unfiltered).
PIP_PROGRESS := awk '/^(Collecting|Processing) /{n++; sub(/^[A-Za-z]+ /, ""); sub(/ \(from .*/, ""); \
	sub(/.*\//, ""); printf "    [%d] %s\n", n, $$0; fflush()} \
	/^Installing collected packages/{printf "    installing %d packages...\n", n; fflush()}'

.PHONY: run test lint install migrate seed schema ci clean serve asgi worker schema-check schemathesis clients bench

$(STAMP): requirements/base.txt requirements/production.txt requirements/dev.txt
	@test -x $(PY) || { printf '==> Creating the virtual environment in $(VENV)\n'; $(PYTHON) -m venv $(VENV); }
	$(STEP) "Updating pip"
	@$(PY) -m pip install --quiet --upgrade pip
	$(STEP) "Installing the Python packages of requirements/dev.txt (about a minute the first time)"
	@$(PY) -m pip install --progress-bar off -r requirements/dev.txt | $(PIP_PROGRESS)
	@touch $(STAMP)

install: $(STAMP)

.env:
	@$(PY) -c "import secrets; print(f'DJANGO_DEBUG=true\nDJANGO_SECRET_KEY={secrets.token_urlsafe(50)}')" > .env
	$(STEP) "Wrote .env for local development (SQLite, local memory cache, DEBUG on, development limits)"

migrate: $(STAMP) .env
	$(STEP) "Applying database migrations"
	@$(PY) manage.py migrate --noinput

seed: migrate
	$(STEP) "Seeding the demo user"
	@$(PY) manage.py seed_demo

## Set up everything and serve on http://127.0.0.1:8000 with SQLite and the demo user, with the worker
## (background tasks and scheduled jobs: reminders, morning focus cards, upkeep) beside the server.
## Ctrl-C stops both: the terminal signals both processes, and the trap stops the worker whatever ends the
## server.
run: seed
	$(STEP) "Serving on http://127.0.0.1:8000/ (API docs at /api/docs, admin at /admin/, live updates at ws://127.0.0.1:8000/api/v1/stream) with the worker; Ctrl-C stops both"
	@$(PY) manage.py worker & worker=$$!; \
		trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
		$(PY) manage.py runserver 127.0.0.1:8000

## Production worker (docs/deployment.md): background tasks and scheduled jobs; run as many as you like.
worker: $(STAMP)
	exec $(PY) manage.py worker

## Production server (docs/deployment.md): static files, then gunicorn with config/gunicorn.py.
## Migrations are a separate release step: `$(PY) manage.py migrate --noinput`.
serve: $(STAMP)
	$(PY) manage.py collectstatic --noinput -v0
	exec $(VENV)/bin/gunicorn -c config/gunicorn.py config.wsgi

## Production live-updates process (docs/deployment.md, "The live-updates process"): uvicorn, with the
## options of config/asgi_server.py, serving config.asgi (the WebSocket at /api/v1/stream, and the same
## HTTP app for /health, /ready, /metrics) beside gunicorn, with the same environment and REDIS_URL set.
ASGI_HOST ?= 127.0.0.1
ASGI_PORT ?= 8001
asgi: $(STAMP)
	exec $(PY) -m config.asgi_server --host $(ASGI_HOST) --port $(ASGI_PORT) \
		--proxy-headers --forwarded-allow-ips "$${ASGI_FORWARDED_ALLOW_IPS:-127.0.0.1}"

## The OpenAPI schema and the Postman collection are committed; regenerate them after an API change.
SCHEMA_ENV := DJANGO_SECRET_KEY=schema-only DJANGO_DEBUG=false
POSTMAN := scripts/postman/node_modules/.bin/openapi2postmanv2
$(POSTMAN): scripts/postman/package.json scripts/postman/package-lock.json
	npm ci --prefix scripts/postman --no-audit --no-fund --loglevel=error
	touch $(POSTMAN)

schema: $(STAMP) $(POSTMAN)
	$(SCHEMA_ENV) $(PY) manage.py spectacular --file docs/api/openapi.yaml --validate --fail-on-warn
	node scripts/postman/convert.js docs/api/openapi.yaml docs/postman

## Fails when the committed schema or Postman files differ from what the code generates (CI runs this).
schema-check: $(STAMP) $(POSTMAN)
	rm -rf .schema-check && mkdir -p .schema-check
	$(SCHEMA_ENV) $(PY) manage.py spectacular --file .schema-check/openapi.yaml --validate --fail-on-warn
	node scripts/postman/convert.js .schema-check/openapi.yaml .schema-check/postman
	diff -u docs/api/openapi.yaml .schema-check/openapi.yaml \
		&& diff -ru docs/postman .schema-check/postman \
		|| { echo "The API changed: run 'make schema' and commit docs/api/openapi.yaml and docs/postman/."; \
		     rm -rf .schema-check; exit 1; }
	rm -rf .schema-check

## Schemathesis against a live gunicorn on a fresh PostgreSQL database (scripts/schemathesis.sh).
schemathesis: $(STAMP)
	PY=$(PY) bash scripts/schemathesis.sh

## Generated clients (scripts/clients/run.sh): a Python and a TypeScript client from docs/api/openapi.yaml,
## type-checked journeys run against a live gunicorn on a fresh PostgreSQL database.
clients: $(STAMP)
	PY=$(PY) bash scripts/clients/run.sh

## Benchmark (bench/run.sh): gunicorn on its own seeded PostgreSQL database, a fixed load, one table of figures.
bench: $(STAMP)
	PY=$(PY) bash bench/run.sh

## The whole test suite (PostgreSQL when DATABASE_URL points at it, SQLite otherwise), in PYTEST_WORKERS
## processes (pytest-xdist; 0 runs it in this one). Tests marked with one xdist_group run one at a time.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-secret-key-not-for-production} \
		$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## Style, types, and the dependency rule between the apps (import-linter contracts in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SECRET_KEY=lint-only $(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) staticfiles db.sqlite3*
