# The regression path (README "Regression runs"): this run's figures, their comparison
# with the committed baseline, and a check that fails on a worse or broken figure.
# `make baseline` runs the regress configuration several times and writes the baseline
# from their figures.json (popart regress-baseline).


def regress_sources():
    """What the figures are read from: the enabled experiments' tidy CSVs, the images."""
    experiments = config["experiments"]
    inputs = [res("kernel/bzImage"), res("kernel/kernel.json"), res("accel.json"),
              res("images/initramfs.cpio.gz")]
    if experiments["boot"]["enabled"]:
        inputs.append(res("boot/boot.csv"))
    if experiments["multikernel"]["enabled"]:
        inputs += [res("boot/multikernel.csv"), res("boot/partition.csv"),
                   res("boot/partition.json")]
    if experiments["msg"]["enabled"]:
        inputs += [res(f"msg/{name}.csv") for name in ("latency", "throughput", "stress")]
    return inputs


def baseline_file(wildcards):
    """The committed baseline; a missing one stops the run in one line, never passes."""
    path = REPO / config["regress"]["baseline"]
    if not path.is_file():
        stop_dag(f"regress: no baseline at {path} (make baseline writes it)")
    return str(path)


def regress_outputs():
    return [res("regress/regress-ok.txt")] if config["regress"]["enabled"] else []


rule regress_figures:
    input:
        regress_sources(),
        code=popart_code("regress-figures"),
    output:
        res("regress/figures.json"),
    params:
        qemu=as_json(config["qemu"]),
        experiments=as_json(config["experiments"]),
    log:
        res("logs/regress/figures.log"),
    shell:
        "{POPART} regress-figures --results {RESULTS} --qemu {params.qemu:q}"
        " --experiments {params.experiments:q} --repo {REPO} --out {output} 2>&1 | tee {log}"


rule regress_compare:
    input:
        figures=res("regress/figures.json"),
        baseline=baseline_file,
        code=popart_code("regress-compare"),
    output:
        table=res("regress/regress.csv"),
        table_html=report(
            res("regress/regress.html"),
            caption="../report/regress_table.rst",
            category="0. Regression",
        ),
        markdown=res("regress/regress.md"),
    log:
        res("logs/regress/compare.log"),
    shell:
        "{POPART} regress-compare --baseline {input.baseline} --figures {input.figures}"
        " --table {RESULTS}/regress/regress 2>&1 | tee {log}"


# Its output exists only when no figure is worse or broken: a rerun checks again.
rule regress_check:
    input:
        table=res("regress/regress.csv"),
        code=popart_code("regress-check"),
    output:
        res("regress/regress-ok.txt"),
    log:
        res("logs/regress/check.log"),
    shell:
        "{POPART} regress-check --table {input.table} --out {output} 2>&1 | tee {log}"
