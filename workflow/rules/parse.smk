# Raw run outputs to tidy CSVs (common columns: accel, timebase, status).


rule boot_csv:
    input:
        kernel=res("kernel/kernel.json"),
        status=boot_runs(),
        code=popart_code("boot-csv"),
    output:
        res("boot/boot.csv"),
    params:
        boot=as_json(config["experiments"]["boot"]),
    log:
        res("logs/boot/csv.log"),
    shell:
        "{POPART} boot-csv --boot {params.boot:q} --kernel-info {input.kernel}"
        " --out {output} {input.status} 2>&1 | tee {log}"


rule multikernel_csv:
    input:
        res("boot/multikernel/status.json"),
        code=popart_code("multikernel-csv"),
    output:
        csv=res("boot/multikernel.csv"),
        partition=res("boot/partition.json"),
        partition_csv=res("boot/partition.csv"),
    params:
        multikernel=as_json(config["experiments"]["multikernel"]),
    log:
        res("logs/boot/multikernel-csv.log"),
    shell:
        "{POPART} multikernel-csv --multikernel {params.multikernel:q}"
        " --run-dir {RESULTS}/boot/multikernel --out {output.csv}"
        " --partition {output.partition} --partition-csv {output.partition_csv}"
        " 2>&1 | tee {log}"


rule msg_csv:
    input:
        rounds=round_outputs("msg", ["kmsg", "smp"], "status.json"),
        stress=res("msg/stress/status.json"),
        code=popart_code("msg-csv"),
    output:
        latency=res("msg/latency.csv"),
        throughput=res("msg/throughput.csv"),
        samples=res("msg/latency_samples.csv"),
    params:
        msg=as_json(config["experiments"]["msg"]),
    log:
        res("logs/msg/csv.log"),
    shell:
        "{POPART} msg-csv --msg {params.msg:q} --rounds-root {RESULTS}/msg"
        " --stress-run {RESULTS}/msg/stress"
        " --latency {output.latency}"
        " --throughput {output.throughput} --samples {output.samples} 2>&1 | tee {log}"


rule msg_stress:
    input:
        res("msg/stress/status.json"),
        code=popart_code("msg-stress"),
    output:
        json=res("msg/stress.json"),
        csv=res("msg/stress.csv"),
    params:
        msg=as_json(config["experiments"]["msg"]),
    log:
        res("logs/msg/stress.log"),
    shell:
        "{POPART} msg-stress --msg {params.msg:q} --run-dir {RESULTS}/msg/stress"
        " --json {output.json} --csv {output.csv} 2>&1 | tee {log}"


rule net_csv:
    input:
        status=[f"{run.split('=')[1]}/status.json" for run in net_runs()],
        link=res("net/link.json"),
        code=popart_code("net-csv"),
    output:
        csv=res("net/net.csv"),
        links=res("net/links.csv"),
    params:
        net=as_json(config["experiments"]["net"]),
        runs=" ".join(net_runs()),
    log:
        res("logs/net/csv.log"),
    shell:
        "{POPART} net-csv --net {params.net:q} --link {input.link} --out {output.csv}"
        " --links {output.links} {params.runs} 2>&1 | tee {log}"


rule web_csv:
    input:
        status=[f"{run}/status.json" for run in web_runs()],
        link=res("net/link.json"),
        code=popart_code("web-csv"),
    output:
        res("web/web.csv"),
    params:
        web=as_json(config["experiments"]["web"]),
        runs=" ".join(web_runs()),
    log:
        res("logs/web/csv.log"),
    shell:
        "{POPART} web-csv --web {params.web:q} --link {input.link} --out {output}"
        " {params.runs} 2>&1 | tee {log}"


rule soak_summary:
    input:
        res("net/soak/status.json"),
        code=popart_code("soak-summary"),
    output:
        json=res("net/soak.json"),
        csv=res("net/soak.csv"),
    params:
        soak=as_json(config["experiments"]["soak"]),
    log:
        res("logs/net/soak-summary.log"),
    shell:
        "{POPART} soak-summary --soak {params.soak:q} --run-dir {RESULTS}/net/soak"
        " --json {output.json} --csv {output.csv} 2>&1 | tee {log}"


rule migrate_csv:
    input:
        res("migrate/run/status.json"),
        code=popart_code("migrate-csv"),
    output:
        csv=res("migrate/migrate.csv"),
        samples=res("migrate/samples.csv"),
    params:
        migrate=as_json(config["experiments"]["migrate"]),
    log:
        res("logs/migrate/csv.log"),
    shell:
        "{POPART} migrate-csv --migrate {params.migrate:q} --run-dir {RESULTS}/migrate/run"
        " --csv {output.csv} --samples {output.samples} 2>&1 | tee {log}"
