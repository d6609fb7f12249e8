# Entry points for people and CI. `make run`: the default pipeline end to end;
# `make test`: the test suite. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CORES ?= all
SNAKEMAKE := $(VENV)/bin/snakemake
export PYTHONPATH := $(CURDIR)/workflow

.PHONY: setup debian-packages run report shell test test-needs-root test-packages clean

setup: debian-packages $(VENV)/.installed

debian-packages:
	@setup/install-debian-packages.sh

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

# CONFIG=file: a configuration on top of config.yaml, for run, report and shell; its
# outputs are under its results_dir (RESULTS).
CONFIGFILE = $(if $(CONFIG),--configfile $(CONFIG))
RESULTS = $(shell PYTHONPATH=$(CURDIR)/workflow $(VENV)/bin/python -m popart results-dir $(CONFIG))

# The pipeline, then the report; the exit status is the pipeline's, which is not zero
# when any result row is not ok (its last rule, check_results, says which).
run: setup
	$(SNAKEMAKE) --cores $(CORES) $(CONFIGFILE); status=$$?; \
	$(MAKE) --no-print-directory report; exit $$status

# The report of every output (rule `outputs`), whether or not each row is ok.
report: setup
	$(SNAKEMAKE) --cores $(CORES) outputs --report $(RESULTS)/report.html $(CONFIGFILE)

# The multikernel machine of the configuration with the primary's console on this
# terminal. The QEMU command is in $(RESULTS)/interactive.sh.
shell: setup
	$(SNAKEMAKE) --cores $(CORES) interactive_command $(CONFIGFILE)
	sh $(RESULTS)/interactive.sh

# Packages only the tests need (headless Chromium for the report test); not `make run`'s.
test-packages:
	@setup/install-debian-packages.sh setup/debian-packages-test.txt

# The tests make network namespaces and tap devices: root only, said before any work.
test-needs-root:
	@if [ "$$(id -u)" != 0 ]; then echo "E: make test needs root (network namespaces, tap devices, tc): run it as root, e.g. sudo make test" >&2; exit 1; fi

# Only after the root check (also under make -j): then the install steps, then pytest.
test: test-needs-root
	@$(MAKE) --no-print-directory setup test-packages
	$(VENV)/bin/pytest

clean:
	rm -rf results/*/ results/*.json results/*.html .snakemake
