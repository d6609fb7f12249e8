# Popcorn multikernel artifact: build the patched kernel and boot image, run the
# experiments on a target, gather tables, plots and a report. Run from the checkout:
#     snakemake --cores N            (config.yaml; the default profile adds the report)
from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")


# The checkout's config.yaml, also when run with --directory elsewhere (the tests do).
configfile: Path(workflow.basedir) / "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/kernel.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/run.smk"
include: "workflow/rules/parse.smk"
include: "workflow/rules/facts.smk"
include: "workflow/rules/gather.smk"
include: "workflow/rules/regress.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        res("tables/all-ok.txt"),
        regress_outputs(),
    default_target: True


# Every output, whether or not each row is ok: the target of `make report`.
rule outputs:
    input:
        final_outputs(),


# Under a cluster executor (profiles/slurm) only the kernel build and the measurements
# are cluster jobs, each on a node of its own; every other rule is seconds of work on
# files and runs on the submitting host. Locally this changes nothing.
workflow.localrules(
    *(r.name for r in workflow.rules if r.name != "kernel_build" and "measure" not in r.resources)
)
