# Runs on the target. Every measurement holds the `measure` resource (one at a time,
# set in the profile) and leaves console.log, qemu.log and status.json, whatever happens.

BOOT_INPUTS = dict(
    kernel="results/kernel/bzImage",
    initrd="results/images/initramfs.cpio.gz",
)


rule accel:
    input:
        **BOOT_INPUTS,
    output:
        "results/accel.json",
    params:
        qemu=as_json(config["qemu"]),
    resources:
        measure=1,
    log:
        "results/logs/accel.log",
    shell:
        "{POPART} accel --qemu {params.qemu:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --probe-dir results/accel-probe --out {output}"
        " 2>&1 | tee {log}"


rule boot_run:
    input:
        **BOOT_INPUTS,
        accel="results/accel.json",
    output:
        status="results/boot/run{run}/status.json",
        console="results/boot/run{run}/console.log",
    params:
        config=as_json(
            {"qemu": config["qemu"], "experiments": {"boot": config["experiments"]["boot"]}}
        ),
    wildcard_constraints:
        run=r"\d+",
    resources:
        measure=1,
    log:
        "results/logs/boot/run{run}.log",
    shell:
        "{POPART} boot-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir results/boot/run{wildcards.run}"
        " 2>&1 | tee {log}"


rule multikernel_run:
    input:
        **BOOT_INPUTS,
        accel="results/accel.json",
    output:
        status="results/boot/multikernel/status.json",
        console="results/boot/multikernel/console.log",
    params:
        config=as_json(
            {
                "qemu": config["qemu"],
                "experiments": {"multikernel": config["experiments"]["multikernel"]},
            }
        ),
    resources:
        measure=1,
    log:
        "results/logs/boot/multikernel.log",
    shell:
        "{POPART} multikernel-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir results/boot/multikernel"
        " 2>&1 | tee {log}"


# Not part of `all`: `make shell` builds this and runs it, for trying things by hand.
rule interactive_command:
    input:
        **BOOT_INPUTS,
        accel="results/accel.json",
    output:
        "results/interactive.sh",
    params:
        config=as_json(
            {
                "qemu": config["qemu"],
                "experiments": {"multikernel": config["experiments"]["multikernel"]},
            }
        ),
    shell:
        "{POPART} interactive-command --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --out {output}"


rule msg_run:
    input:
        **BOOT_INPUTS,
        accel="results/accel.json",
    output:
        status="results/msg/{system}/status.json",
        console="results/msg/{system}/console.log",
    params:
        config=as_json(
            {"qemu": config["qemu"], "experiments": {"msg": config["experiments"]["msg"]}}
        ),
    wildcard_constraints:
        system="kmsg|smp|stress",
    resources:
        measure=1,
    log:
        "results/logs/msg/{system}.log",
    shell:
        "{POPART} msg-run --system {wildcards.system} --config {params.config:q}"
        " --kernel {input.kernel} --initrd {input.initrd} --accel {input.accel}"
        " --run-dir results/msg/{wildcards.system} 2>&1 | tee {log}"


# The ring compiled for the host, on the host's own cores: no QEMU, but a measurement.
rule msg_ring_host:
    input:
        harness=REPO / "kernel/ring-host/ring_test.c",
        ring=REPO / "kernel/src/arch/x86/kernel/popcorn/ring.c",
    output:
        "results/msg/ring_host.csv",
    params:
        round_trips=config["experiments"]["msg"]["ring_round_trips"],
        rounds=config["experiments"]["msg"]["ring_rounds"],
    resources:
        measure=1,
    log:
        "results/logs/msg/ring_host.log",
    shell:
        "{POPART} ring-host-run --round-trips {params.round_trips} --rounds {params.rounds}"
        " --work results/msg/ring_host --csv {output} 2>&1 | tee {log}"


# The network test bed (namespaces, tap, tc) is made and removed by each run; a stale one
# from an interrupted run is removed first. Without root the rows carry that status.
NET_INPUTS = dict(
    kernel="results/kernel/bzImage",
    initrd="results/images/net.cpio.gz",
    accel="results/accel.json",
)


rule net_link:
    input:
        **NET_INPUTS,
    output:
        link="results/net/link.json",
        status="results/net/link/status.json",
    params:
        config=as_json(
            {
                "qemu": config["qemu"],
                "network": config["network"],
                "experiments": {"net": config["experiments"]["net"]},
            }
        ),
    resources:
        measure=1,
    log:
        "results/logs/net/link.log",
    shell:
        "{POPART} net-link --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir results/net/link"
        " --out {output.link} 2>&1 | tee {log}"


rule net_run:
    input:
        **NET_INPUTS,
        link="results/net/link.json",
    output:
        status="results/net/{system}/status.json",
    params:
        config=as_json(
            {
                "qemu": config["qemu"],
                "network": config["network"],
                "experiments": {"net": config["experiments"]["net"]},
            }
        ),
    wildcard_constraints:
        system="smp|multikernel",
    resources:
        measure=1,
    log:
        "results/logs/net/{system}.log",
    shell:
        "{POPART} net-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --link {input.link}"
        " --system {wildcards.system} --run-dir results/net/{wildcards.system}"
        " 2>&1 | tee {log}"


rule web_run:
    input:
        **NET_INPUTS,
        link="results/net/link.json",
    output:
        status="results/web/{system}-v{vcpus}/status.json",
    params:
        config=as_json(
            {
                "qemu": config["qemu"],
                "network": config["network"],
                "experiments": {"web": config["experiments"]["web"]},
            }
        ),
    wildcard_constraints:
        system="smp|multikernel",
        vcpus=r"\d+",
    resources:
        measure=1,
    log:
        "results/logs/web/{system}-v{vcpus}.log",
    shell:
        "{POPART} web-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --link {input.link}"
        " --system {wildcards.system} --vcpus {wildcards.vcpus}"
        " --run-dir results/web/{wildcards.system}-v{wildcards.vcpus} 2>&1 | tee {log}"


rule soak_run:
    input:
        **NET_INPUTS,
    output:
        status="results/net/soak/status.json",
    params:
        config=as_json(
            {"qemu": config["qemu"], "experiments": {"soak": config["experiments"]["soak"]}}
        ),
    resources:
        measure=1,
    log:
        "results/logs/net/soak.log",
    shell:
        "{POPART} soak-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir results/net/soak"
        " 2>&1 | tee {log}"


# Migration to a secondary, popcorn against CRIU, in one boot (the network image carries
# criu); it needs no host network.
rule migrate_run:
    input:
        **NET_INPUTS,
    output:
        status="results/migrate/run/status.json",
        console="results/migrate/run/console.log",
    params:
        config=as_json(
            {"qemu": config["qemu"], "experiments": {"migrate": config["experiments"]["migrate"]}}
        ),
    resources:
        measure=1,
    log:
        "results/logs/migrate/run.log",
    shell:
        "{POPART} migrate-run --config {params.config:q} --kernel {input.kernel}"
        " --initrd {input.initrd} --accel {input.accel} --run-dir results/migrate/run"
        " 2>&1 | tee {log}"
