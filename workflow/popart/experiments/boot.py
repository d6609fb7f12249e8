"""Boot experiment: boot plain SMP Linux and time it to init, R times."""
from pathlib import Path

from ..fsutil import read_json
from ..hardware.facts import saved_usable_mib
from . import PROVENANCE, reported_number, run_columns
from ..machines import machine, timeouts
from ..targets.qemu import QemuTarget, RunStatus

COLUMNS = ["accel", "timebase", "status", "reason", "vcpus", "mem_mib", "kernel_release",
           "run", "boot_s", "wall_s", "total_wall_s", "host_cores", *PROVENANCE]


def run_boot(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
             target: QemuTarget) -> RunStatus:
    boot = config["experiments"]["boot"]
    m = machine(config["qemu"], kernel, initrd, accel, "boot", boot["vcpus"], boot["mem_mib"])
    return target.run(m, timeouts(config["qemu"]), run_dir)


def boot_row(status_json: Path, run: int, boot: dict, kernel_info: dict) -> dict:
    """One row of boot.csv from a run's status.json.

    boot_s is the kernel's own uptime when init started (guest clock: wall or icount);
    wall_s is the host's seconds from starting QEMU to seeing init's first marker.
    """
    status = read_json(status_json)
    values = status.get("values", {})
    return {
        **run_columns(status),
        "status": status["status"],
        "reason": status.get("reason", ""),
        "vcpus": boot["vcpus"],
        "mem_mib": mem_mib(status_json.parent, status, boot),
        "kernel_release": values.get("kernel_release", kernel_info["kernel_release"]),
        "run": run,
        "boot_s": reported_number(values.get("init_uptime_s")),
        "wall_s": status.get("boot_wall_s"),
        "total_wall_s": status.get("wall_s"),
        "host_cores": status["host_cores"],
    }


def mem_mib(run_dir: Path, status: dict, boot: dict) -> int | None:
    """The RAM the kernel had: boot.mem_mib under QEMU; on the hardware target all the
    machine's usable RAM (its firmware map), which only maxcpus= limits there."""
    if status.get("target") != "hardware":
        return boot["mem_mib"]
    facts = run_dir / "machine-facts.json"
    if not facts.exists():
        return None   # it never got as far as the facts: the row's status says why
    return saved_usable_mib(read_json(facts))
