# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Local serving is for development: DEBUG on (and so a development SECRET_KEY) unless set otherwise.
RUN_ENV := DEBUG=$${DEBUG:-true}

.PHONY: run worker serve test check system-packages venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

venv: $(VENV)/.runtime-installed

## make run: install, migrate, sync the demo content and serve it on http://127.0.0.1:8000, with one
## background-job worker beside the server (started with it, stopped with it by its process id)
run: $(VENV)/.runtime-installed
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py sync_content
	$(RUN_ENV) $(BIN)/python manage.py worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

## make worker: run background jobs (content syncs, assessments) until stopped; run several for more
worker: $(VENV)/.runtime-installed
	$(BIN)/python manage.py worker

## make serve: the production server: migrate, collect static files, gunicorn with gunicorn.conf.py.
## Needs the production environment (DEBUG off, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL: see README).
serve: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn --config gunicorn.conf.py

## make test: install what the suite needs (system packages too, when run as root) and run it all
test: system-packages $(VENV)/.dev-installed
	$(BIN)/pytest

## make check: lint, formatting, types (mypy over the modules listed in mypy.ini) and missing migrations
check: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

system-packages:
	@devtools/ensure-system-packages

clean:
	rm -rf $(VENV) staticfiles artifacts
