# Boot image: busybox-static, the guest programs and experiment scripts.


rule initramfs:
    input:
        kernel="results/kernel/kernel.json",
        guest=guest_files(),
        busybox="/bin/busybox",
    output:
        image="results/images/initramfs.cpio.gz",
        manifest="results/images/initramfs.json",
    log:
        "results/logs/images/initramfs.log",
    shell:
        "{POPART} initramfs --kernel-info {input.kernel} --guest {REPO}/guest"
        " --out {output.image} 2>&1 | tee {log}"
