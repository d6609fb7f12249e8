"""The stand-in for a real machine that the hardware target's tests drive: a QEMU VM
(TCG here) that boots Debian's own kernel (linux-image-amd64, not ours) with a small root
that has busybox, Debian's dropbear and kexec-tools, and the kernel's e1000 and msr
modules. It is reached over a tap device in a network namespace of its own; the tests
run the pipeline in that namespace, so the hardware target's code path is the one a real
machine gets. Its power-cycle command is a QMP system_reset: QEMU then boots Debian's
kernel again, as firmware would boot a machine's own kernel.
"""
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from popart.hardware.image import (copy_programs, image_host_key, pack_dir, public_key,
                                   ssh_server_files)
from popart.hosttools import require
from popart.netimage import unpacked_deb
from popart.paths import cache_root

ADDRESS, HOST_SIDE = "10.79.0.2", "10.79.0.1"
MAC = "52:54:00:79:00:02"
KERNEL_PACKAGE = "linux-image-amd64"
MODULES = ("kernel/drivers/net/ethernet/intel/e1000/e1000.ko", "kernel/arch/x86/kernel/msr.ko")
BUSYBOX = "/bin/busybox"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
for m in /lib/modules/*.ko; do insmod "$m"; done
ip link set lo up
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip link set "$dev" up
ip addr add {address}/24 dev "$dev"
ip route add default via {gateway}
/usr/sbin/dropbear -r /etc/dropbear/host_key -s -p 22
echo "standin: up on $dev, kernel $(uname -r)"
exec /bin/sh -c 'while :; do sleep 3600; done'
"""


def debian_kernel_package() -> str:
    """linux-image-amd64 is a metapackage: the image package it depends on."""
    out = subprocess.run([require("apt-cache"), "depends", KERNEL_PACKAGE], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"Depends: (linux-image-\S+-amd64)", out)
    assert m, f"apt-cache depends {KERNEL_PACKAGE}: {out[:200]}"
    return m.group(1)


@dataclass(frozen=True)
class Keys:
    client: Path          # the host's private key (OpenSSH format)
    known_hosts: Path     # the stand-in's own host key, at ADDRESS
    host_key: Path        # dropbear format, inside the stand-in's root


def make_keys(directory: Path) -> Keys:
    directory.mkdir(parents=True, exist_ok=True)
    client = directory / "id_ed25519"
    if not client.exists():
        subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f",
                        str(client)], check=True)
    host_key, public = image_host_key(directory / "standin")
    known = directory / "known_hosts"
    known.write_text(f"{ADDRESS} {public}\n")
    return Keys(client, known, host_key)


def build(work: Path, keys: Keys) -> tuple[Path, Path, str]:
    """The stand-in's kernel, its root (a cpio), and the kernel release."""
    debs = cache_root() / "debs"
    package = debian_kernel_package()
    kernel_root = unpacked_deb(package, debs)
    release = package.removeprefix("linux-image-")
    vmlinuz = kernel_root / f"boot/vmlinuz-{release}"
    kexec = unpacked_deb("kexec-tools", debs) / "sbin/kexec"
    root = work / "standin-root"
    subprocess.run(["rm", "-rf", str(root)], check=True)
    copy_programs(root, {"/usr/sbin/dropbear": Path(require("dropbear")),
                         "/usr/sbin/kexec": kexec})
    (root / "bin").mkdir()
    (root / "bin/busybox").write_bytes(Path(BUSYBOX).read_bytes())  # static: no libraries
    (root / "bin/busybox").chmod(0o755)
    modules = root / "lib/modules"
    modules.mkdir(parents=True)
    for m in MODULES:
        (modules / Path(m).name).write_bytes(
            (kernel_root / f"lib/modules/{release}" / m).read_bytes())
    (root / "init").write_text(INIT.format(address=ADDRESS, gateway=HOST_SIDE))
    (root / "init").chmod(0o755)
    ssh_server_files(root, keys.host_key, public_key(keys.client))
    return vmlinuz, pack_dir(root, work / "standin.cpio.gz"), release


class StandIn:
    """The VM, in namespace `ns` with tap0 at HOST_SIDE; console.log and qmp.sock in work."""

    def __init__(self, work: Path, vcpus: int, mem_mib: int) -> None:
        self.work = work
        self.ns = f"popcorn-standin{os.getpid()}"
        self.vcpus, self.mem_mib = vcpus, mem_mib
        self.keys = make_keys(work / "keys")
        self.qmp = work / "qmp.sock"
        self.console = work / "console.log"
        self.proc: subprocess.Popen | None = None

    def in_ns(self, argv: list[str]) -> list[str]:
        return [require("ip"), "netns", "exec", self.ns, *argv]

    def start(self) -> None:
        vmlinuz, root, self.release = build(self.work, self.keys)
        ip = require("ip")
        subprocess.run([ip, "netns", "del", self.ns], capture_output=True, check=False)
        for args in (["netns", "add", self.ns], ["-n", self.ns, "link", "set", "lo", "up"],
                     ["-n", self.ns, "tuntap", "add", "dev", "tap0", "mode", "tap"],
                     ["-n", self.ns, "addr", "add", f"{HOST_SIDE}/24", "dev", "tap0"],
                     ["-n", self.ns, "link", "set", "tap0", "up"]):
            subprocess.run([ip, *args], check=True)
        argv = self.in_ns([
            require("qemu-system-x86_64"), "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "pc", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", str(self.vcpus), "-m", f"{self.mem_mib}M",
            "-kernel", str(vmlinuz), "-initrd", str(root),
            "-append", "console=ttyS0,115200 rdinit=/init panic=-1 quiet",
            "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
            "-device", f"e1000,netdev=n0,mac={MAC}",
            "-serial", f"file:{self.console}", "-qmp", f"unix:{self.qmp},server=on,wait=off"])
        (self.work / "qemu-cmdline.sh").write_text(shlex.join(argv) + "\n")
        self.console.write_text("")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=open(self.work / "qemu.log", "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_up(self, limit_s: float = 240) -> float:
        """Seconds until the stand-in's own kernel answers over SSH."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            assert self.proc and self.proc.poll() is None, self.console.read_text()[-2000:]
            if "standin: up" in self.console.read_text(errors="replace"):
                if subprocess.run(self.ssh("true"), capture_output=True,
                                  check=False).returncode == 0:
                    return time.monotonic() - started
            time.sleep(1)
        raise AssertionError(f"the stand-in did not come up: {self.console.read_text()[-2000:]}")

    def ssh(self, command: str) -> list[str]:
        return self.in_ns([require("ssh"), "-i", str(self.keys.client), "-o", "BatchMode=yes",
                           "-o", f"UserKnownHostsFile={self.keys.known_hosts}",
                           "-o", "ConnectTimeout=5", f"root@{ADDRESS}", command])

    def power_cycle_command(self) -> str:
        """A QMP system_reset of the VM (the host's venv has qemu.qmp)."""
        code = ("from qemu.qmp.legacy import QEMUMonitorProtocol as Q; "
                f"q = Q({str(self.qmp)!r}); q.connect(); q.cmd('system_reset'); q.close()")
        return shlex.join([sys.executable, "-c", code])

    def hardware_config(self) -> dict:
        # Debian's kernel is back in about 10 s. Once in a while under TCG it hangs while
        # booting (soft lockups on CPU 0, seen 2026-12-02): return_s bounds what that
        # costs before the power cycle brings it back.
        return {"address": ADDRESS, "ssh_key": str(self.keys.client),
                "known_hosts": str(self.keys.known_hosts), "accel": "tcg",
                "power_cycle": self.power_cycle_command(),
                "timeouts": {"connect_s": 240, "boot_s": 240, "return_s": 120}}

    def dhcp_server(self) -> subprocess.Popen:
        """busybox udhcpd on tap0, leasing ADDRESS to the stand-in's MAC (a lease by MAC,
        as hardware.image_address dhcp asks of a real network). The caller stops it."""
        conf = self.work / "udhcpd.conf"
        conf.write_text(f"start {ADDRESS}\nend {ADDRESS.rsplit('.', 1)[0]}.20\n"
                        f"interface tap0\nstatic_lease {MAC} {ADDRESS}\n"
                        f"option subnet 255.255.255.0\noption router {HOST_SIDE}\n"
                        f"lease_file {self.work / 'udhcpd.leases'}\n"
                        f"pidfile {self.work / 'udhcpd.pid'}\n")
        (self.work / "udhcpd.leases").touch()
        return subprocess.Popen(self.in_ns([BUSYBOX, "udhcpd", "-f", str(conf)]),
                                stdin=subprocess.DEVNULL,
                                stdout=open(self.work / "udhcpd.log", "wb"),
                                stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run([require("ip"), "netns", "del", self.ns], capture_output=True,
                       check=False)


def run_job(job: dict) -> None:
    """`python tests/standin.py JOB`: one HardwareTarget.run (the e2e tests run it in the
    stand-in's namespace): a 2-secondary multikernel machine running job's experiment."""
    import yaml

    from popart.config import validate_config
    from popart.experiments.multikernel import multikernel_machine
    from popart.targets.hardware import HardwareTarget
    from popart.targets.qemu import Timeouts
    repo = Path(__file__).resolve().parents[1]
    config = yaml.safe_load((repo / "config.yaml").read_text())
    config["target"], config["hardware"] = "hardware", job["hardware"]
    config["experiments"]["multikernel"]["secondaries"] = 2
    config = validate_config(config, repo / "workflow/schemas/config.schema.yaml")
    results = Path(job["results"])
    m = multikernel_machine(config, results / "kernel/bzImage",
                            results / "images/initramfs.cpio.gz", "tcg", job["experiment"])
    HardwareTarget(config["hardware"]).run(m, Timeouts(60, job["run_s"], 30),
                                           Path(job["run_dir"]))


if __name__ == "__main__":
    import json
    run_job(json.loads(sys.argv[1]))
