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

.PHONY: book test exercises setup clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements.txt into $(VENV) ..."
	@$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | $(PIPNOISE)
	@$(BIN)/python -c "import torch, torchvision, nbgrader, jupyter_book, gancourse, autograder"
	@touch $@

## make book: build the HTML book into _build/html, executing every chapter (cached).
book: $(STAMP)
	jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

## make test: the whole test suite (library, grader through nbgrader, exercises drift, book build).
test: $(STAMP)
	$(BIN)/python -m pytest

## make exercises: regenerate exercises/ from solutions/ with nbgrader (never edit exercises/ by hand).
exercises: $(STAMP)
	@for a in $(ASSIGNMENTS); do \
	  GANCOURSE_COURSE_ROOT=$$(mktemp -d) && ln -s $(CURDIR)/solutions $$GANCOURSE_COURSE_ROOT/solutions && \
	  GANCOURSE_COURSE_ROOT=$$GANCOURSE_COURSE_ROOT nbgrader generate_assignment $$a --force \
	    --CourseDirectory.release_directory=$(CURDIR)/exercises --log-level=WARN; \
	done

clean:
	rm -rf _build
