# Kernel stage: source identity, then the patched, configured, built bzImage.


rule kernel_source:
    input:
        source_input,
    output:
        "results/kernel/source.json",
    params:
        source=as_json(config["kernel"]["source"]),
    log:
        "results/logs/kernel/source.log",
    shell:
        "{POPART} kernel-source --source {params.source:q} --out {output} 2>&1 | tee {log}"


rule kernel_build:
    input:
        source="results/kernel/source.json",
        series=REPO / "kernel/patches/series",
        patches=lambda w: read_series_files(),
        fragments=repo_files(config["kernel"]["fragments"]),
        sources=lambda w: in_tree_source_files(),
    output:
        image="results/kernel/bzImage",
        info="results/kernel/kernel.json",
    params:
        kernel=as_json(
            {k: config["kernel"][k] for k in ("base_config", "fragments")}
        ),
    threads: workflow.cores
    log:
        "results/logs/kernel/build.log",
    shell:
        "{POPART} kernel-build --kernel {params.kernel:q} --source {input.source}"
        " --out-dir results/kernel --jobs {threads} 2>&1 | tee {log}"
