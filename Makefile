# Seoul Smart City Prize: the fixed entry points (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: install install-run run test test-compose lint bench up down clean messages

# Two stamps: what running needs (the project and its dependencies), then the test tools on top.
$(BIN)/prize: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-tools: $(BIN)/prize pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.test-tools  ## create .venv and install everything: the project and its test tools

install-run: $(BIN)/prize  ## create .venv and install only what running needs (what `make run` uses)

run: install-run  ## the whole system on the embedded stack (SQLite, local folders)
	$(BIN)/prize run

lint: install  ## architecture rules: services never import each other, shared imports no service
	$(BIN)/lint-imports
	$(BIN)/ruff check --select F,E9 services shared tests bench

test: install lint  ## the whole suite; RabbitMQ and PostgreSQL must be running (see .ci/run)
	$(BIN)/pytest $(PYTEST_ARGS)

test-compose: install  ## the end-to-end path against docker-compose.yml, built and brought up by pytest-docker (needs Docker)
	PRIZE_TEST_COMPOSE=1 $(BIN)/pytest tests/compose $(PYTEST_ARGS)

bench: install  ## throughput and latency figures beside their baselines
	$(BIN)/python -m bench

messages: install  ## extract the pages' English text into shared/locales/messages.pot and merge it into each catalogue
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --omit-header -o shared/locales/messages.pot .
	$(BIN)/pybabel -q update --no-fuzzy-matching --ignore-obsolete --omit-header -i shared/locales/messages.pot -d shared/locales

up:  ## the docker compose stack (RabbitMQ, PostgreSQL, the services)
	docker compose up --build

down:
	docker compose down

clean:
	rm -rf var .pytest_cache test-artifacts
