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
