# Two entry points, each doing all of its own set-up:
#   make run    train the default architecture on IMDB (creates .venv on first use)
#   make test   run the offline test suite (same set-up, ONNX export included)
#   make bench, make results   the benchmarks (adding their own packages: torch, scikit-learn)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
ARCH   ?= mean
ARGS   ?=

.PHONY: run test bench results clean

$(STAMP): requirements.txt requirements-dev.txt requirements-export.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# gluonnlp builds from source and imports Cython (and numpy) in its setup.py.
	$(PY) -m pip install -q numpy==1.23.5 Cython==3.0.12 setuptools wheel
	$(PY) -m pip install -q --no-build-isolation -r requirements.txt -r requirements-dev.txt \
	    -r requirements-export.txt
	$(PY) -m pip install -q --no-build-isolation --no-deps -e .
	# the export tests skip without onnx and onnxruntime: a set-up that lacks them fails here
	$(PY) -c "import gluon_rnn, onnx, onnxruntime"
	touch $(STAMP)

# the benchmark-only packages (requirements-bench.txt), on top of the set-up
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) -m pip install -q -r requirements-bench.txt
	touch $(BENCH_STAMP)

run: $(STAMP)
	$(PY) -m gluon_rnn.train --arch $(ARCH) $(ARGS)

test: $(STAMP)
	# pytest exits 5 when it collects nothing: say so rather than pass silently.
	@$(PY) -m pytest -q $(ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests"; fi; exit $$rc

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench.py $(ARGS)

# the README's result rows (benchmarks/results_rows.py): make results ARGS="--only make-run"
results: $(BENCH_STAMP)
	$(PY) benchmarks/results.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
