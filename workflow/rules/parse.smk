# Raw run outputs to tidy CSVs (common columns: accel, timebase, status).


rule boot_csv:
    input:
        kernel="results/kernel/kernel.json",
        status=boot_runs(),
    output:
        "results/boot/boot.csv",
    params:
        boot=as_json(config["experiments"]["boot"]),
    log:
        "results/logs/boot/csv.log",
    shell:
        "{POPART} boot-csv --boot {params.boot:q} --kernel-info {input.kernel}"
        " --out {output} {input.status} 2>&1 | tee {log}"
