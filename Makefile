# make run   - create .venv, install, start the relay server on ws://127.0.0.1:9080
# make test  - create .venv, install what the tests need (incl. godot3-server), run every test
# make bench - benchmarks (bench/), results in bench/results/latest.md

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test bench venv godot clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Real Godot 3.2.3 (Debian's godot3-server) is the client of the interop tests.
godot:
	@command -v godot3-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -qq godot3-server >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq godot3-server; }; \
	  else \
	    echo "godot3-server is missing: run 'sudo apt-get install godot3-server'" >&2; exit 1; \
	  fi; }
	@command -v godot3-server >/dev/null 2>&1

run: venv
	$(VPY) -m godot_ws serve --mode relay --bind 127.0.0.1 --port 9080

test: venv godot
	$(VPY) -m unittest discover -s tests -t . -p 'test_*.py'

-include bench/Makefile.inc

clean:
	rm -rf $(VENV) build dist *.egg-info bench/results
