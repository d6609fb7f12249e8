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
        secondary="results/images/work/secondary.cpio.gz",
    log:
        "results/logs/images/initramfs.log",
    shell:
        "{POPART} initramfs --kernel-info {input.info} --kernel {input.kernel}"
        " --guest {REPO}/guest"
        " --out {output.image} 2>&1 | tee {log}"


# The network experiments' image: the boot image, then an overlay with Debian's iperf3
# and nginx and their libraries (nginx fetched with apt-get download, never installed),
# then /boot/secondary-net.cpio.gz: the secondaries' image with the same overlay.
rule net_image:
    input:
        info="results/kernel/kernel.json",
        base="results/images/initramfs.cpio.gz",
        secondary="results/images/work/secondary.cpio.gz",
        iperf3="/usr/bin/iperf3",
    output:
        image="results/images/net.cpio.gz",
        manifest="results/images/net.json",
    log:
        "results/logs/images/net.log",
    shell:
        "{POPART} net-image --kernel-info {input.info} --base {input.base}"
        " --secondary {input.secondary} --out {output.image} 2>&1 | tee {log}"
