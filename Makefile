# Two set-up commands: `make demo` and `make test`. Both build their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-data
DEMO_LAKE ?= $(DEMO_DIR)/lake

.PHONY: demo test bench venv dev clean screenshots

$(BIN)/eventlake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

# Test tools beyond Python: Debian's chromium for the browser tests (Playwright drives it,
# never a downloaded browser) and the Node Segment client for the collector's client test.
$(VENV)/.dev: $(BIN)/eventlake
	$(BIN)/pip install -q -e '.[dev]'
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; }; } || \
	  echo "note: Debian's chromium is not installed; the browser tests will be skipped"
	@if command -v npm >/dev/null; then npm ci --prefix tests/collect/node --no-audit --no-fund --loglevel=error; \
	  else echo "note: npm not found; the Node client test will be skipped"; fi
	touch $@

venv: $(BIN)/eventlake
dev: $(VENV)/.dev

demo: $(BIN)/eventlake
	rm -rf $(DEMO_DIR)
	$(BIN)/eventlake demo generate --out $(DEMO_DIR)/logs --seed 7
	$(BIN)/eventlake --lake $(DEMO_LAKE) ingest cloudtrail $(DEMO_DIR)/logs/cloudtrail
	$(BIN)/eventlake --lake $(DEMO_LAKE) ingest bi-metadata $(DEMO_DIR)/logs/quicksight
	for t in s3-access vpc-flow alb cloudfront; do $(BIN)/eventlake --lake $(DEMO_LAKE) ingest $$t $(DEMO_DIR)/logs/service-logs/$$t || exit 1; done
	$(BIN)/eventlake --lake $(DEMO_LAKE) demo events --seed 7
	$(BIN)/eventlake --lake $(DEMO_LAKE) demo report

test: $(VENV)/.dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; }; } || \
	  echo "note: wrk is not installed; the collector benchmark needs it"
	$(BIN)/python bench/run.py
	$(BIN)/python bench/service_logs.py
	$(BIN)/python bench/collector.py
	$(BIN)/python bench/console.py

# Screenshots of every console page on the demo data (docs/screenshots/, shown in the README)
screenshots: $(VENV)/.dev
	test -d $(DEMO_LAKE) || $(MAKE) demo
	$(BIN)/python scripts/screenshots.py --lake $(DEMO_LAKE)

clean:
	rm -rf $(VENV) $(DEMO_DIR) eventlake-data
