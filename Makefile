# Two set-up commands: `make demo` and `make test`. Both build their own virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-data
DEMO_LAKE ?= $(DEMO_DIR)/lake

.PHONY: demo test bench venv dev clean

$(BIN)/eventlake: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(BIN)/eventlake
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/eventlake
dev: $(VENV)/.dev

demo: $(BIN)/eventlake
	rm -rf $(DEMO_DIR)
	$(BIN)/eventlake demo generate --out $(DEMO_DIR)/logs --seed 7
	$(BIN)/eventlake --lake $(DEMO_LAKE) ingest cloudtrail $(DEMO_DIR)/logs/cloudtrail
	$(BIN)/eventlake --lake $(DEMO_LAKE) ingest bi-metadata $(DEMO_DIR)/logs/quicksight
	for t in s3-access vpc-flow alb cloudfront; do $(BIN)/eventlake --lake $(DEMO_LAKE) ingest $$t $(DEMO_DIR)/logs/service-logs/$$t || exit 1; done
	$(BIN)/eventlake --lake $(DEMO_LAKE) demo report

test: $(VENV)/.dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) eventlake-data
