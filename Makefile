# Daymark developer commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint install migrate seed schema ci clean

$(STAMP): requirements/base.txt requirements/production.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

install: $(STAMP)

.env:
	$(PY) -c "import secrets; print(f'DJANGO_DEBUG=true\nDJANGO_SECRET_KEY={secrets.token_urlsafe(50)}')" > .env
	@echo "wrote .env for local development (SQLite, local memory cache, DEBUG on)"

migrate: $(STAMP) .env
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## Set up everything and serve on http://127.0.0.1:8000 with SQLite and the demo user.
run: seed
	$(PY) manage.py runserver 127.0.0.1:8000

## The whole test suite (PostgreSQL when DATABASE_URL points at it, SQLite otherwise).
test: $(STAMP)
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-test-only-secret-key-not-for-production} \
		$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SECRET_KEY=lint-only $(VENV)/bin/mypy .

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) staticfiles db.sqlite3*
