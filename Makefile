# make run   - create .venv, install, start the relay server on ws://127.0.0.1:9080
# make test  - create .venv, install what the tests need (incl. godot3-server), lint (ruff, mypy), run every test
# make bench - benchmarks (bench/), results in bench/results/latest.md
# make docs  - the documentation site (docs/, Sphinx + MyST), warnings are errors, in docs/_build/html

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DOCS_STAMP := $(VENV)/.docs-stamp
DOCS_BUILD := docs/_build
# -W --keep-going: every warning is reported and fails the build; -n: broken references too.
SPHINXOPTS ?= -W --keep-going -n -q -E

.PHONY: run test lint docs bench venv godot chromium nginx clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -e '.[test,speedups]'
	touch $(STAMP)

venv: $(STAMP)

$(DOCS_STAMP): $(STAMP)
	$(VPY) -m pip install -q -e '.[test,docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(VPY) -m sphinx -b html $(SPHINXOPTS) docs $(DOCS_BUILD)/html
	@echo "docs: $(DOCS_BUILD)/html/index.html"

# Install a Debian package when its command is missing (needs root; else say how).
define need_apt
	@command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq $(2) >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq $(2); }; \
	  else \
	    echo "$(1) is missing: run 'sudo apt-get install $(2)'" >&2; exit 1; \
	  fi; }
	@command -v $(1) >/dev/null 2>&1
endef

# Real Godot 3.2.3 (Debian's godot3-server) is the client of the interop tests.
godot:
	$(call need_apt,godot3-server,godot3-server)

# Debian's nginx fronts two rooms servers in tests/interop/test_nginx_rooms.py.
nginx:
	$(call need_apt,nginx,nginx)

# Headless Chromium (Debian's chromium) is the browser of tests/browser/.
chromium:
	$(call need_apt,chromium,chromium)

run: venv
	$(VPY) -m godot_ws serve --mode relay --bind 127.0.0.1 --port 9080

lint: venv
	$(VENV)/bin/ruff check godot_ws tests samples bench docs
	$(VENV)/bin/mypy

# The suite under .venv's Python, then under the oldest and newest other supported CPython found.
test: venv godot chromium nginx lint docs
	$(VPY) -m unittest discover -s tests -t . -p 'test_*.py'
	tools/test_pythons.sh

-include bench/Makefile.inc

clean:
	rm -rf $(VENV) $(VENV)-3.* build dist *.egg-info bench/results $(DOCS_BUILD)
