# Kernel stage: source identity, then the patched, configured, built bzImage.


rule kernel_source:
    input:
        source_input,
        code=popart_code("kernel-source"),
    output:
        res("kernel/source.json"),
    params:
        source=as_json(config["kernel"]["source"]),
    log:
        res("logs/kernel/source.log"),
    shell:
        "{POPART} kernel-source --source {params.source:q} --out {output} 2>&1 | tee {log}"


rule kernel_build:
    input:
        source=res("kernel/source.json"),
        series=REPO / "kernel/patches/series",
        patches=lambda w: read_series_files(),
        fragments=repo_files(config["kernel"]["fragments"]),
        sources=lambda w: in_tree_source_files(),
        code=popart_code("kernel-build"),
    output:
        image=res("kernel/bzImage"),
        info=res("kernel/kernel.json"),
    params:
        kernel=as_json(
            {k: config["kernel"][k] for k in ("base_config", "fragments")}
        ),
    threads: whole_machine_threads()
    log:
        res("logs/kernel/build.log"),
    shell:
        "{POPART} kernel-build --kernel {params.kernel:q} --source {input.source}"
        " --out-dir {RESULTS}/kernel --jobs {threads} 2>&1 | tee {log}"
