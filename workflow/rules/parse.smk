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


rule msg_csv:
    input:
        kmsg="results/msg/kmsg/status.json",
        smp="results/msg/smp/status.json",
        stress="results/msg/stress/status.json",
    output:
        latency="results/msg/latency.csv",
        throughput="results/msg/throughput.csv",
        samples="results/msg/latency_samples.csv",
    params:
        msg=as_json(config["experiments"]["msg"]),
    log:
        "results/logs/msg/csv.log",
    shell:
        "{POPART} msg-csv --msg {params.msg:q} --kmsg-run results/msg/kmsg"
        " --smp-run results/msg/smp --stress-run results/msg/stress"
        " --latency {output.latency}"
        " --throughput {output.throughput} --samples {output.samples} 2>&1 | tee {log}"


rule msg_stress:
    input:
        "results/msg/stress/status.json",
    output:
        json="results/msg/stress.json",
        csv="results/msg/stress.csv",
    params:
        msg=as_json(config["experiments"]["msg"]),
    log:
        "results/logs/msg/stress.log",
    shell:
        "{POPART} msg-stress --msg {params.msg:q} --run-dir results/msg/stress"
        " --json {output.json} --csv {output.csv} 2>&1 | tee {log}"


rule net_csv:
    input:
        status=[f"{run.split('=')[1]}/status.json" for run in net_runs()],
        link="results/net/link.json",
    output:
        "results/net/net.csv",
    params:
        net=as_json(config["experiments"]["net"]),
        runs=" ".join(net_runs()),
    log:
        "results/logs/net/csv.log",
    shell:
        "{POPART} net-csv --net {params.net:q} --link {input.link} --out {output}"
        " {params.runs} 2>&1 | tee {log}"


rule web_csv:
    input:
        status=[f"{run}/status.json" for run in web_runs()],
        link="results/net/link.json",
    output:
        "results/web/web.csv",
    params:
        web=as_json(config["experiments"]["web"]),
        runs=" ".join(web_runs()),
    log:
        "results/logs/web/csv.log",
    shell:
        "{POPART} web-csv --web {params.web:q} --link {input.link} --out {output}"
        " {params.runs} 2>&1 | tee {log}"


rule soak_summary:
    input:
        "results/net/soak/status.json",
    output:
        json="results/net/soak.json",
        csv="results/net/soak.csv",
    params:
        soak=as_json(config["experiments"]["soak"]),
    log:
        "results/logs/net/soak-summary.log",
    shell:
        "{POPART} soak-summary --soak {params.soak:q} --run-dir results/net/soak"
        " --json {output.json} --csv {output.csv} 2>&1 | tee {log}"


rule migrate_csv:
    input:
        "results/migrate/run/status.json",
    output:
        csv="results/migrate/migrate.csv",
        samples="results/migrate/samples.csv",
    params:
        migrate=as_json(config["experiments"]["migrate"]),
    log:
        "results/logs/migrate/csv.log",
    shell:
        "{POPART} migrate-csv --migrate {params.migrate:q} --run-dir results/migrate/run"
        " --csv {output.csv} --samples {output.samples} 2>&1 | tee {log}"
