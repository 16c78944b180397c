# Every target sets up what it needs: a fresh clone runs `make run` or `make test` directly.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: setup runtime run demo test test-fast lint fuzz bench soak bench-tools browser goref postgres container-check dist mutate clean

# Two levels: `runtime` is what serving needs (make run, make demo); `setup` adds the dev
# tools (pytest, mypy, ruff, schemathesis, Playwright) for make test, lint and bench.
setup: $(STAMP)
runtime: $(RUNTIME)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: runtime  ## start the server on ./mockserver.db at http://127.0.0.1:8080
	$(BIN)/mockserver serve $(ARGS)

demo: runtime  ## a server full of a week of simulated shoppers, still shopping: http://127.0.0.1:8080/
	$(BIN)/mockserver demo $(ARGS)

test: setup browser goref postgres  ## every test, on every core (README: Tests, for the time budget)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

test-fast: setup  ## the inner loop: in-process tests only, no subprocesses, wheels or schemathesis
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

fuzz: setup  ## 10,000 generated requests (5,000 a vendor): never a 5xx, each recorded once
	MOCKSERVER_FUZZ_EXAMPLES=5000 $(BIN)/python -m pytest tests/test_fuzz.py

bench: setup bench-tools postgres  ## mockserver vs quiet Prism, WireMock, bare Starlette, one core each: bench/results/
	$(BIN)/python bench/run.py
	$(BIN)/python bench/readers.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/fixture.py
	$(BIN)/python bench/postgres.py

soak: setup bench-tools  ## 10 minutes at full speed: RSS must stay flat (SOAK_SECONDS to change)
	$(BIN)/python bench/soak.py

# The dashboard's browser tests drive Debian's Chromium. Installed here when this user can
# (root with apt-get); otherwise those tests skip and say how, except in CI, where they fail.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "no Chromium: the dashboard's browser tests will skip (sudo apt-get install chromium)"; \
	  fi; }

# The Go reference the Lucidworks profiles are tested against (tests/goref) builds from
# Debian's Go and Go libraries (GOPATH mode: no module proxy needed). Same rule as Chromium.
GOREF_PACKAGES = golang-go golang-github-go-playground-validator-v10-dev golang-github-getkin-kin-openapi-dev
goref:
	@{ command -v go >/dev/null && test -d /usr/share/gocode/src/github.com/getkin/kin-openapi; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq $(GOREF_PACKAGES) >/dev/null; \
	  else \
	    echo "no Go reference: its differential test will skip (sudo apt-get install $(GOREF_PACKAGES))"; \
	  fi; }

# The PostgreSQL store's tests start a real server from Debian's package (initdb, pg_ctl).
postgres:
	@{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "no PostgreSQL: the PostgreSQL store's tests will skip (sudo apt-get install postgresql)"; \
	  fi; }

# The peers, each as bench/README.md says: Prism and WireMock (its jar ships in the npm
# package; Java from Debian) from npm, granian from PyPI for the bare app only.
bench-tools: setup
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq default-jre-headless; }
	@test -x bench/.prism/node_modules/.bin/prism || npm install --silent --prefix bench/.prism @stoplight/prism-cli@5
	@ls bench/.wiremock/node_modules/wiremock/build/wiremock-standalone-*.jar >/dev/null 2>&1 || npm install --silent --prefix bench/.wiremock wiremock@3
	@test -x $(BIN)/granian || $(BIN)/python -m pip install --quiet "granian>=2.0"

# The Dockerfile and compose.yaml built and run for real, checked from outside (needs root
# and a container engine, or installs podman; several minutes the first time).
container-check: setup  ## build the image, run compose.yaml, check the replicas make one store
	tests/container/check.sh

dist: runtime  ## a wheel in dist/, to install into another project: pip install dist/*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps -w dist .
	@ls dist/*.whl

lint: setup  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Mutation testing, group by group (not part of make test or CI): each in a scratch copy under
# build/mutate/GROUP, so the working tree never holds a mutant. docs/development.md: the habit.
MUTATE ?=
mutate: setup  ## mutmut over the modules where a wrong answer misleads (MUTATE=GROUP… for some): score, survivors (build/mutate/)
	$(BIN)/python tests/mutate.py $(MUTATE)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
