# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/metadata_site
PYTEST_ARGS ?=
# Test processes per database run (pytest-xdist; each has its own test database). A test file runs in one process.
PYTEST_JOBS ?= 2
PYTEST := $(PY) -m pytest -n $(PYTEST_JOBS) --dist loadfile

# The first Python >= 3.12 found: on PATH, then in pyenv's versions.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)

.PHONY: run test lint test-sqlite test-pg venv worker screenshots bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12 or newer is required (python3.12 / python3.13 not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing the dependencies into $(VENV) (the first run downloads them: a minute or two)..."
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print("\n".join(p["dependencies"] + p["optional-dependencies"]["s3"] + p["optional-dependencies"]["dev"]))' \
		| xargs -d '\n' $(PY) -m pip install --disable-pip-version-check --progress-bar on
	touch $@

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py recover_tasks
	@echo ""
	@echo "  metadata_site is running at http://$(HOST):$(PORT)/"
	@echo "  demo login: demo / demo        (Ctrl-C stops the web server and the workers)"
	@echo ""
	@# The web server in the foreground, the workers beside it (one for the media queue, so thumbnails never wait
	@# behind an import). Ctrl-C reaches all of them (they share the terminal's process group); the traps also stop
	@# the workers when the server stops any other way, and wait for them. (The former `trap 'kill 0' INT TERM EXIT`
	@# signalled the shell itself from inside its own trap, again and again, until it crashed: "make: *** [run]
	@# Segmentation fault".)
	@$(PY) manage.py db_worker --no-reload --interval 0.5 & worker=$$!; \
	$(PY) manage.py db_worker --no-reload --interval 0.5 --queue-name media & media=$$!; \
	trap 'kill -TERM $$worker $$media 2>/dev/null; wait $$worker $$media 2>/dev/null' EXIT; \
	trap 'exit 0' INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: venv
	$(PY) manage.py recover_tasks
	$(PY) manage.py db_worker --no-reload --interval 0.5 --queue-name default,media

test: venv lint test-sqlite test-pg

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || { echo "Missing migrations: run manage.py makemigrations"; exit 1; }

test-sqlite: venv
	$(PYTEST) $(PYTEST_ARGS)

test-pg: venv
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_URL)'.rsplit('/',1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) DATABASE_CONN_MAX_AGE=0 $(PYTEST) $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL is required in CI but $(PG_URL) is not reachable"; exit 1; \
	else echo "SKIPPED: PostgreSQL at $(PG_URL) is not reachable; the suite ran on SQLite only"; fi

screenshots: venv
	SCREENSHOTS=docs/screenshots $(PY) -m pytest tests/browser -k screenshot $(PYTEST_ARGS)

bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var staticfiles
