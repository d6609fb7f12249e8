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


rule multikernel_csv:
    input:
        "results/boot/multikernel/status.json",
    output:
        csv="results/boot/multikernel.csv",
        partition="results/boot/partition.json",
    params:
        multikernel=as_json(config["experiments"]["multikernel"]),
    log:
        "results/logs/boot/multikernel-csv.log",
    shell:
        "{POPART} multikernel-csv --multikernel {params.multikernel:q}"
        " --run-dir results/boot/multikernel --out {output.csv}"
        " --partition {output.partition} 2>&1 | tee {log}"
