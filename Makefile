# Two commands: `make book` (execute every notebook, build _build/html) and `make test`.
# Both create .venv with python3 if absent and install the package once per version of pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The install stamps are keyed on pyproject.toml's hash: editing it reinstalls, nothing else does.
HASH   := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read()).hexdigest()[:16])")
STAMP_BOOK := $(VENV)/.installed-book-$(HASH)
STAMP_TEST := $(VENV)/.installed-test-$(HASH)
STAMP_BENCH := $(VENV)/.installed-bench-$(HASH)

.PHONY: book test bench clean

book: $(STAMP_BOOK)
	$(PY) -m matsense.book run --mode full
	@echo
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

test: $(STAMP_TEST)
	$(PY) -m pytest

bench: $(STAMP_BENCH)
	$(PY) benchmarks/bench_step.py

clean:
	rm -rf _build

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_BOOK): | $(PY)
	@if [ -e $(STAMP_TEST) ]; then touch $@; else \
	  $(PY) -m pip install --quiet -e '.[book]' && rm -f $(VENV)/.installed-book-* && touch $@; fi

$(STAMP_TEST): | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-book-* $(VENV)/.installed-test-*
	touch $@ $(STAMP_BOOK)

$(STAMP_BENCH): | $(PY)
	$(PY) -m pip install --quiet -e '.[bench]'
	rm -f $(VENV)/.installed-bench-*
	touch $@
