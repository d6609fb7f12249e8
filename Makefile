# Entry points for people and CI. `make run`: the default pipeline end to end;
# `make test`: the test suite. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CORES ?= all
SNAKEMAKE := $(VENV)/bin/snakemake
export PYTHONPATH := $(CURDIR)/workflow

.PHONY: setup debian-packages run report shell test clean

setup: debian-packages $(VENV)/.installed

debian-packages:
	@setup/install-debian-packages.sh

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

# The pipeline, then the report, then a non-zero exit if any result row is not ok.
run: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(MAKE) --no-print-directory report
	$(VENV)/bin/python -m popart check-results results/tables/failures.csv

report: setup
	$(SNAKEMAKE) --cores $(CORES) --report results/report.html

# The multikernel machine of the config (or CONFIG=file on top of it) with the
# primary's console on this terminal. The QEMU command is in results/interactive.sh.
shell: setup
	$(SNAKEMAKE) --cores $(CORES) $(if $(CONFIG),--configfile $(CONFIG)) results/interactive.sh
	sh results/interactive.sh

test: setup
	$(VENV)/bin/pytest

clean:
	rm -rf results/*/ results/*.json results/*.html .snakemake
