# The two commands of README: `make run` and `make test` (and `make bench`).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
FLASK = $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

# The interface's message catalogs, compiled to .mo files (not committed) by the install step.
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)

.PHONY: run test lint bench prod-rehearsal clean install

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

%.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -i $< -o $@

install: $(VENV)/.installed $(CATALOGS:.po=.mo)

run: install
	$(FLASK) portal init
	$(FLASK) portal demo
	$(FLASK) portal serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest

# Every benchmark but the load run, which has its own target below.
bench: install
	@for b in $(filter-out benchmarks/load.py,$(wildcard benchmarks/*.py)); do \
		echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

# deploy/'s topology on loopback (PostgreSQL, Redis, S3, two web hosts, nginx) under
# the load of benchmarks/load.py and its hostile clients; stopped afterwards.
prod-rehearsal: install
	$(VENV)/bin/python benchmarks/load.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache portal/translations/*/LC_MESSAGES/*.mo
