# `make run` and `make test` work on a fresh clone: they create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
FAKE_PORT ?= 8001
AS ?= demo-user

.PHONY: run chat test lint bench bench-quick docs screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make run PORT=9000 FAKE_PORT=9001` when the default ports are taken; `make chat AS=chair-demo` with the same ports.
run: $(STAMP)
	mkdir -p var
	$(BIN)/unionbot db upgrade
	UNIONBOT_PORT=$(PORT) UNIONBOT_PUBLIC_BASE_URL=$${UNIONBOT_PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} \
		$(BIN)/unionbot serve --with-fake-wechat $(FAKE_PORT)

chat: $(STAMP)
	UNIONBOT_PORT=$(PORT) UNIONBOT_WECHAT_API_BASE=http://127.0.0.1:$(FAKE_PORT) $(BIN)/unionbot chat --as $(AS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# The benchmark (bench/): load, scale and memory, written to bench/results/latest.md. Never part of `make test`.
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth; UNIONBOT_BENCH_PG_URL to change), taskset and wrk (the load).
# `make bench-quick`: short passes and no outbox delivery, under two minutes on two cores.
bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

# The README's picture of a work summary's first page (docs/summary-first-page.png), from a seeded demo database.
# Needs Debian's libreoffice-writer-nogui, poppler-utils and fonts-noto-cjk (.ci/run installs them).
docs: $(STAMP)
	$(BIN)/python -m docs.render_summary

# The README's pictures of the staff desk (docs/desk/*.png), taken by the browser tests in Debian's chromium.
screenshots: $(STAMP)
	shots=$$(mktemp -d) && UNIONBOT_DESK_SCREENSHOTS=$$shots $(BIN)/pytest -q tests/desk/test_desk_browser.py \
		&& mkdir -p docs/desk && cp $$shots/*.png docs/desk/ && rm -r $$shots

clean:
	rm -rf $(VENV) var
