# Boot image: busybox-static, the guest programs and experiment scripts.


rule initramfs:
    input:
        info=res("kernel/kernel.json"),
        kernel=res("kernel/bzImage"),
        uapi=REPO / "kernel/src/include/uapi/linux/popcorn.h",
        guest=guest_files(),
        busybox=host_file("/bin/busybox"),
        code=popart_code("initramfs"),
    output:
        image=res("images/initramfs.cpio.gz"),
        manifest=res("images/initramfs.json"),
        secondary=res("images/work/secondary.cpio.gz"),
    log:
        res("logs/images/initramfs.log"),
    shell:
        "{POPART} initramfs --kernel-info {input.info} --kernel {input.kernel}"
        " --guest {REPO}/guest"
        " --out {output.image} 2>&1 | tee {log}"


# The network experiments' image: the boot image, then an overlay with Debian's iperf3
# and nginx and their libraries (nginx fetched with apt-get download, never installed),
# then /boot/secondary-net.cpio.gz: the secondaries' image with the same overlay.
rule net_image:
    input:
        info=res("kernel/kernel.json"),
        base=res("images/initramfs.cpio.gz"),
        secondary=res("images/work/secondary.cpio.gz"),
        iperf3=host_file("/usr/bin/iperf3"),
        code=popart_code("net-image"),
    output:
        image=res("images/net.cpio.gz"),
        manifest=res("images/net.json"),
    log:
        res("logs/images/net.log"),
    shell:
        "{POPART} net-image --kernel-info {input.info} --base {input.base}"
        " --secondary {input.secondary} --out {output.image} 2>&1 | tee {log}"
