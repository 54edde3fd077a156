# Two commands: `make book` (execute every notebook, build _build/html) and `make test`; besides
# them `make check-html` (the browser test alone) and `make lab` (JupyterLab on the notebooks).
# Both create .venv with python3 if absent and install the package once per version of pyproject.toml.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The install stamps are keyed on pyproject.toml's hash: editing it reinstalls, nothing else does.
HASH   := $(shell $(PYTHON) -c "import hashlib; print(hashlib.sha256(open('pyproject.toml', 'rb').read()).hexdigest()[:16])")
STAMP_BOOK := $(VENV)/.installed-book-$(HASH)
STAMP_TEST := $(VENV)/.installed-test-$(HASH)
STAMP_BENCH := $(VENV)/.installed-bench-$(HASH)

.PHONY: book test bench clean check-html lab chromium

book: $(STAMP_BOOK)
	$(PY) -m matsense.book run --mode full
	@echo
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

test: $(STAMP_TEST) chromium
	$(PY) -m pytest

# The browser test drives Debian's Chromium (/usr/bin/chromium). `make test` installs it when it is
# missing and this machine can (root with apt-get); otherwise that one test is skipped and says why.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "installing Debian's chromium for the browser test"; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
	    || echo "warning: could not install chromium; the browser test will be skipped"; fi

bench: $(STAMP_BENCH)
	$(PY) benchmarks/bench_step.py

clean:
	rm -rf _build

# The browser test (also run by `make test`): build the quick book (served from the cache when
# nothing changed), then open every page in headless Chromium, offline; screenshots of the landing
# page and of each chapter at desktop and phone widths go to _build/screenshots/. `make check-html
# MODE=full` checks the full book (_build/html) instead. Needs /usr/bin/chromium (apt-get install
# chromium).
MODE ?= quick
check-html: $(STAMP_TEST) chromium
	$(PY) -m matsense.book run --mode $(MODE)
	$(PY) -m matsense.book.check_html $(if $(filter full,$(MODE)),_build/html,_build/$(MODE)/_build/html)

# JupyterLab for students: the book's MyST .md notebooks open as notebooks on a double click
# (jupytext's viewer made the default, in this environment only); saving one keeps its header
# (jupytext.toml), so git and the build cache see no change.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
lab: $(STAMP_BOOK)
	@mkdir -p $(LAB_SETTINGS)
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)/overrides.json
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,)

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
