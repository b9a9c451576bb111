# The two commands of the README, and the ones around them.
#   make demo   - set up from a fresh clone and run the product on SQLite with demo data
#   make test   - set up and run the whole suite (PostgreSQL + Redis from DATABASE_URL / REDIS_URL)
#   make bench  - benchmarks that print their figures next to the floors they compare with

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
ADDR ?= 127.0.0.1:8000
DEMO_SETTINGS := DJANGO_SETTINGS_MODULE=scrm.settings.dev DATABASE_URL= REDIS_URL=

.PHONY: demo test lint typecheck pytest bench messages install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

demo: $(VENV)/.runtime
	mkdir -p var
	$(DEMO_SETTINGS) $(BIN)/python manage.py migrate --noinput -v0
	$(DEMO_SETTINGS) $(BIN)/python manage.py seed_demo --customers 2000 --seed 42
	$(DEMO_SETTINGS) $(BIN)/python manage.py seed_social
	$(DEMO_SETTINGS) $(BIN)/python manage.py resolve_identities
	$(DEMO_SETTINGS) $(BIN)/python manage.py seed_insights
	$(DEMO_SETTINGS) $(BIN)/python manage.py recompute_scores --history 6
	$(DEMO_SETTINGS) $(BIN)/python manage.py demo_users --password demo
	@echo
	@echo "  Social CRM demo: http://$(ADDR)/"
	@echo "  Sign in as admin / marketing / agent, password: demo"
	@echo
	$(DEMO_SETTINGS) $(BIN)/python manage.py rundemo $(ADDR)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# pytest exits 5 when it collected no test: that is not a failure of the suite.
pytest: $(VENV)/.dev
	DJANGO_SETTINGS_MODULE=scrm.settings.test $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests collected"; rc=0; fi; exit $$rc

test: lint typecheck pytest

bench: $(VENV)/.dev
	DJANGO_SETTINGS_MODULE=scrm.settings.test $(BIN)/python -m bench $(BENCH_ARGS)

messages: $(VENV)/.runtime
	$(BIN)/python manage.py makemessages -l fr --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages -l fr --ignore=.venv

clean:
	rm -rf var staticfiles .pytest_cache .mypy_cache .ruff_cache
