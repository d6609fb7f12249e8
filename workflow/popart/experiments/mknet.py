"""The multikernel on the network test bed (guest/exp/mk-net.sh). The primary owns the
NIC and routes between it and its pcn links; it serves none of the load. K secondaries,
booted from the network image with one CPU each, each run an iperf3 server and nginx
with one worker. Kernel i is 10.78.0.<i + 1> on its links, and the test bed routes
those addresses to the primary (netbed.KERNELS_NET). The primary also runs one iperf3
server per secondary (ports 5201, 5202, ...), so that the same outside clients can
drive it alone."""
from pathlib import Path

from ..targets.qemu import Machine
from .multikernel import layout
from .netrun import Bed, bed_machine, list_param

SYSTEM = "multikernel"
SECONDARY_MIB = 192  # nginx, iperf3 and the files in its tmpfs
IPERF3_PORT = 5201


def kernel_ip(kernel_id: int) -> str:
    return f"10.78.0.{kernel_id + 1}"


def secondary_ips(k: int) -> list[str]:
    return [kernel_ip(i) for i in range(1, k + 1)]


def primary_ports(k: int) -> list[int]:
    return [IPERF3_PORT + i for i in range(k)]


def servers(k: int) -> int:
    """What mk-net.sh's net_ready counts: each secondary's nginx (which starts once its
    iperf3 listens) and the primary's own iperf3 servers."""
    return 2 * k


def mk_machine(config: dict, kernel: Path, initrd: Path, accel: str, bed: Bed, k: int,
               files: list[int], wait_s: float, inner: tuple[float, list[int]] = (0, [1])
               ) -> Machine:
    """Primary plus k secondaries; inner = (seconds, streams) measures iperf3 between
    kernels before the servers are reported ready."""
    plan = layout({"secondaries": k, "mem_mib_per_secondary": SECONDARY_MIB,
                   "cpus_per_secondary": 1})
    return bed_machine(config, kernel, initrd, accel, bed, "mk-net", plan["vcpus"],
                       plan["mem_mib"],
                       {"files": list_param(files) or "1", "wait_s": int(wait_s),
                        "inner_s": int(inner[0]), "streams": list_param(inner[1])},
                       append=plan["append"], plan=plan["plan"])
