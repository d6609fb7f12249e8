# Entry points for people and CI. `make run`: the default pipeline end to end;
# `make test`: the test suite. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
CORES ?= all
SNAKEMAKE := $(VENV)/bin/snakemake
export PYTHONPATH := $(CURDIR)/workflow

.PHONY: setup debian-packages run report shell plan test test-needs-root test-packages regress \
	baseline reference container-test clean

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

# Target hardware (README "A real machine"): connects, reads the machine's facts and
# prints the partition each experiment would get; nothing on the machine changes.
plan: setup
	$(SNAKEMAKE) --cores $(CORES) plan $(CONFIGFILE)

# The regression path (README "Regression runs"): the regress configuration's figures
# against reference/regress/baseline.json, then its report. Not zero when a figure is
# worse or broken, or the baseline is missing or from another QEMU, machine or timebase.
REGRESS_CONFIG := reference/regress/config.yaml
regress: setup
	$(SNAKEMAKE) --cores $(CORES) --configfile $(REGRESS_CONFIG); status=$$?; \
	$(MAKE) --no-print-directory report CONFIG=$(REGRESS_CONFIG); exit $$status

# Rewrites the baseline: BASELINE_RUNS runs of the regress configuration, one after the
# other (results/baseline/run<i>), then medians, spreads and tolerances from them.
BASELINE_RUNS ?= 10
baseline: setup
	rm -rf results/baseline
	for i in $$(seq $(BASELINE_RUNS)); do \
		echo "I: baseline run $$i of $(BASELINE_RUNS)"; \
		$(SNAKEMAKE) --cores $(CORES) results/baseline/run$$i/regress/figures.json \
			--configfile $(REGRESS_CONFIG) --config results_dir=results/baseline/run$$i \
			|| exit 1; \
	done
	$(VENV)/bin/python -m popart regress-baseline --out reference/regress/baseline.json \
		$$(seq -f 'results/baseline/run%g/regress/figures.json' $(BASELINE_RUNS))

# Rewrites the reference results (reference/run): the default pipeline end to end, then
# its tables, with the machine they come from. Only from a run whose rows are all ok.
reference: setup
	$(SNAKEMAKE) --cores $(CORES)
	$(VENV)/bin/python -m popart reference-save --results results --repo . --out reference/run

# Packages only the tests need (headless Chromium for the report test, Slurm and munge for
# the cluster test); not `make run`'s.
test-packages:
	@setup/install-debian-packages.sh setup/debian-packages-test.txt

# The tests make network namespaces and tap devices: root only, said before any work.
test-needs-root:
	@if [ "$$(id -u)" != 0 ]; then echo "E: make test needs root (network namespaces, tap devices, tc): run it as root, e.g. sudo make test" >&2; exit 1; fi

# Only after the root check (also under make -j): then the install steps, then pytest.
test: test-needs-root
	@$(MAKE) --no-print-directory setup test-packages
	$(VENV)/bin/pytest

# The Dockerfile built on a debootstrap Debian 12 base with Debian's podman, then
# `make test` and `make run` inside the image (README "In a container"). Root; 35 min
# with nothing cached on a 2-core host (README gives the parts).
container-test:
	@setup/container-test.sh

clean:
	rm -rf results/*/ results/*.json results/*.html .snakemake
