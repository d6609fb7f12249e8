# Boot image: busybox-static, the guest programs and experiment scripts.


rule initramfs:
    input:
        info="results/kernel/kernel.json",
        kernel="results/kernel/bzImage",
        uapi=REPO / "kernel/src/include/uapi/linux/popcorn.h",
        guest=guest_files(),
        busybox="/bin/busybox",
    output:
        image="results/images/initramfs.cpio.gz",
        manifest="results/images/initramfs.json",
    log:
        "results/logs/images/initramfs.log",
    shell:
        "{POPART} initramfs --kernel-info {input.info} --kernel {input.kernel}"
        " --guest {REPO}/guest"
        " --out {output.image} 2>&1 | tee {log}"
