# Quick start on a fresh machine:  make book  (builds the HTML book)  and  make test.
# Both create .venv from requirements.txt when it is missing, and re-install when
# requirements.txt or pyproject.toml changed since the last install. The book's JavaScript
# (MathJax, require.js, the widget manager) comes from the npm registry: the build runs npm ci
# in book/_vendor when needed (Node.js and npm must be installed).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test browser-test pyodide-check format venv notebooks clean-book clean bench golden

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going
	@echo "The book is at _build/html/index.html"

# Notebook copies of the chapters (no outputs): Binder and Colab launch buttons open these.
# --update keeps the cell ids of unchanged cells, so a regeneration only touches what changed.
notebooks: $(STAMP)
	for page in book/*.md; do $(BIN)/jupytext --to ipynb --update --quiet "$$page"; done

# The tests include ruff's linter and formatter checks (tests/test_code_quality.py). They run in
# TEST_JOBS processes (pytest-xdist); --dist loadscope keeps a module's or class's tests on one
# process, so each assignment's real-nbgrader pipeline is graded once and shared by its tests.
# --durations lists the slowest tests, to keep the suite inside its 15-minute budget.
TEST_JOBS ?= 2
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadscope --durations=25

# Apply ruff's formatter and safe lint fixes (configured in pyproject.toml).
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The built book in headless Chromium, offline (needs Debian's chromium): every page
# (tests/test_browser.py), and a chapter opened in JupyterLite from its launch menu
# (tests/test_lite.py). Reuses _build/html when it is up to date, else builds a clean copy first.
BROWSER_STAMP := $(VENV)/.installed-browser

$(BROWSER_STAMP): requirements-browser.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-browser.txt
	@touch $(BROWSER_STAMP)

browser-test: $(BROWSER_STAMP)
	$(BIN)/python -m pytest -m browser tests/test_browser.py tests/test_lite.py

# The widgets on the JupyterLite kernel's library versions (Pyodide's numpy, matplotlib, ...),
# under CPython: .venv-pyodide from requirements-pyodide.txt (which mirrors the lock file of the
# npm pyodide package) and course_lib without its dependencies. tests/pyodide_versions.py checks
# the pins against book/_vendor/node_modules/pyodide/pyodide-lock.json when npm ci has put it
# there (make book) and against what pip installed; then every widget test runs, Agg backend.
PYODIDE_VENV  := .venv-pyodide
PYODIDE_STAMP := $(PYODIDE_VENV)/.installed
WIDGET_TESTS  := tests/test_every_widget.py tests/test_widgets.py \
	tests/test_momentum_explorer.py tests/test_rate_map.py tests/test_adaptive_explorers.py \
	tests/test_schedule_explorers.py tests/test_second_order_explorer.py \
	tests/test_training_dashboard.py

$(PYODIDE_STAMP): requirements-pyodide.txt pyproject.toml
	@test -x $(PYODIDE_VENV)/bin/python || $(PYTHON) -m venv $(PYODIDE_VENV)
	$(PYODIDE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYODIDE_VENV)/bin/python -m pip install --quiet -r requirements-pyodide.txt
	$(PYODIDE_VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $(PYODIDE_STAMP)

pyodide-check: $(PYODIDE_STAMP)
	$(PYODIDE_VENV)/bin/python tests/pyodide_versions.py --installed
	MPLBACKEND=Agg $(PYODIDE_VENV)/bin/python -m pytest -p no:cacheprovider -q $(WIDGET_TESTS)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_optim_step.py
	$(BIN)/python benchmarks/bench_mlp.py
	$(BIN)/python benchmarks/bench_widgets.py
	$(BIN)/python benchmarks/bench_book.py
	$(BIN)/python benchmarks/bench_autograde.py

# Regenerate the PyTorch reference values (needs: pip install torch==2.13.0).
golden: $(STAMP)
	$(BIN)/python tests/golden/make_optim_golden.py
	$(BIN)/python tests/golden/make_schedules_golden.py

clean-book:
	rm -rf _build

clean: clean-book
	rm -rf $(VENV) $(PYODIDE_VENV)
