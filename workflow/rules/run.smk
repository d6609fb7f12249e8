# Runs on the target; each leaves console.log, qemu.log and status.json, whatever happens.
# A measurement has the machine to itself: locally it takes every core Snakemake was given
# (whole_machine_threads()), so no build, CSV job or other measurement runs beside it,
# whatever the profile or --cores; on a cluster it asks for a node of its own.

BOOT_INPUTS = dict(
    kernel=res("kernel/bzImage"),
    initrd=res("images/initramfs.cpio.gz"),
)


rule accel:
    input:
        **BOOT_INPUTS,
        code=popart_code("accel"),
    output:
        res("accel.json"),
    params:
        qemu=as_json(config["qemu"]),
        hardware=hardware_arg(),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/accel.log"),
    shell:
        "{POPART} accel --qemu {params.qemu:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --probe-dir {RESULTS}/accel-probe --out {output}"
        " {params.hardware} 2>&1 | tee {log}"


# make plan: the machine's facts and each experiment's partition on it; changes nothing.
rule plan:
    input:
        kernel=res("kernel/bzImage"),
        code=popart_code("plan"),
    params:
        config=as_json(config),
    shell:
        "{POPART} plan --config {params.config:q} --kernel {input.kernel}"


rule boot_run:
    input:
        **BOOT_INPUTS,
        accel=res("accel.json"),
        code=popart_code("boot-run"),
    output:
        status=res("boot/run{run}/status.json"),
        console=res("boot/run{run}/console.log"),
    params:
        config=run_config("boot"),
    wildcard_constraints:
        run=r"\d+",
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/boot/run{run}.log"),
    shell:
        "{POPART} boot-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir {RESULTS}/boot/run{wildcards.run}"
        " 2>&1 | tee {log}"


rule multikernel_run:
    input:
        **BOOT_INPUTS,
        accel=res("accel.json"),
        code=popart_code("multikernel-run"),
    output:
        status=res("boot/multikernel/status.json"),
        console=res("boot/multikernel/console.log"),
    params:
        config=run_config("multikernel"),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/boot/multikernel.log"),
    shell:
        "{POPART} multikernel-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir {RESULTS}/boot/multikernel"
        " 2>&1 | tee {log}"


# Not part of `all`: `make shell` builds this and runs it, for trying things by hand.
rule interactive_command:
    input:
        **BOOT_INPUTS,
        accel=res("accel.json"),
        code=popart_code("interactive-command"),
    output:
        res("interactive.sh"),
    params:
        config=run_config("multikernel"),
    shell:
        "{POPART} interactive-command --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --out {output}"


# The stress test: its own boot, four kernels, no baseline to pair with.
rule msg_stress_run:
    input:
        **BOOT_INPUTS,
        accel=res("accel.json"),
        code=popart_code("msg-run"),
    output:
        status=res("msg/stress/status.json"),
        console=res("msg/stress/console.log"),
    params:
        config=run_config("msg"),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/msg/stress-run.log"),
    shell:
        "{POPART} msg-run --system stress --config {params.config:q}"
        " --kernel {input.kernel} --initrd {input.initrd} --accel {input.accel}"
        " --run-dir {RESULTS}/msg/stress 2>&1 | tee {log}"


# kmsg and its SMP baselines, booted in turn: round<r>/kmsg, round<r>/smp, ...
rule msg_rounds:
    input:
        **BOOT_INPUTS,
        accel=res("accel.json"),
        code=popart_code("msg-rounds"),
    output:
        status=round_outputs("msg", ["kmsg", "smp"], "status.json"),
        console=round_outputs("msg", ["kmsg", "smp"], "console.log"),
    params:
        config=run_config("msg"),
        rounds=config["experiments"]["msg"]["rounds"],
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/msg/rounds.log"),
    shell:
        "{POPART} msg-rounds --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --rounds {params.rounds}"
        " --run-root {RESULTS}/msg 2>&1 | tee {log}"


# The ring compiled for the host, on the host's own cores: no QEMU, but a measurement.
rule msg_ring_host:
    input:
        harness=REPO / "kernel/ring-host/ring_test.c",
        ring=REPO / "kernel/src/arch/x86/kernel/popcorn/ring.c",
        code=popart_code("ring-host-run"),
    output:
        res("msg/ring_host.csv"),
    params:
        round_trips=config["experiments"]["msg"]["ring_round_trips"],
        rounds=config["experiments"]["msg"]["ring_rounds"],
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/msg/ring_host.log"),
    shell:
        "{POPART} ring-host-run --round-trips {params.round_trips} --rounds {params.rounds}"
        " --work {RESULTS}/msg/ring_host --csv {output} 2>&1 | tee {log}"


# The network test bed (namespaces, tap, tc) is made and removed by each run; a stale one
# from an interrupted run is removed first. Without root the rows carry that status.
NET_INPUTS = dict(
    kernel=res("kernel/bzImage"),
    initrd=res("images/net.cpio.gz"),
    accel=res("accel.json"),
)


rule net_link:
    input:
        **NET_INPUTS,
        code=popart_code("net-link"),
    output:
        link=res("net/link.json"),
        status=res("net/link/status.json"),
    params:
        config=run_config("net", network=True),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/net/link.log"),
    shell:
        "{POPART} net-link --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir {RESULTS}/net/link"
        " --out {output.link} 2>&1 | tee {log}"


# The systems booted in turn: round<r>/smp, round<r>/multikernel, ...
rule net_rounds:
    input:
        **NET_INPUTS,
        link=res("net/link.json"),
        code=popart_code("net-rounds"),
    output:
        status=round_outputs("net", net_sides(config["experiments"]["net"]), "status.json"),
    params:
        config=run_config("net", network=True),
        rounds=config["experiments"]["net"]["rounds"],
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/net/rounds.log"),
    shell:
        "{POPART} net-rounds --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --link {input.link}"
        " --rounds {params.rounds} --run-root {RESULTS}/net 2>&1 | tee {log}"


# Per V, the systems booted in turn: round<r>/smp-v<V>, round<r>/multikernel-v<V>, ...
rule web_rounds:
    input:
        **NET_INPUTS,
        link=res("net/link.json"),
        code=popart_code("web-rounds"),
    output:
        status=web_round_outputs("status.json"),
    params:
        config=run_config("web", network=True),
        rounds=config["experiments"]["web"]["rounds"],
    wildcard_constraints:
        vcpus=r"\d+",
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/web/rounds-v{vcpus}.log"),
    shell:
        "{POPART} web-rounds --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --link {input.link}"
        " --vcpus {wildcards.vcpus} --rounds {params.rounds} --run-root {RESULTS}/web"
        " 2>&1 | tee {log}"


rule soak_run:
    input:
        **NET_INPUTS,
        code=popart_code("soak-run"),
    output:
        status=res("net/soak/status.json"),
    params:
        config=run_config("soak"),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/net/soak.log"),
    shell:
        "{POPART} soak-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir {RESULTS}/net/soak"
        " 2>&1 | tee {log}"


# Migration to a secondary, popcorn against CRIU, in one boot (the network image carries
# criu); it needs no host network.
rule migrate_run:
    input:
        **NET_INPUTS,
        code=popart_code("migrate-run"),
    output:
        status=res("migrate/run/status.json"),
        console=res("migrate/run/console.log"),
    params:
        config=run_config("migrate"),
    threads: whole_machine_threads()
    resources:
        **MEASURE_RESOURCES,
    log:
        res("logs/migrate/run.log"),
    shell:
        "{POPART} migrate-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir {RESULTS}/migrate/run"
        " 2>&1 | tee {log}"
