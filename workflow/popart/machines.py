"""Turns the validated config into the Machine and Timeouts a target boots."""
from pathlib import Path

from .partition import Plan
from .targets.qemu import Machine, Timeouts

BASE_CMDLINE = "console=ttyS0,115200 panic=-1 rdinit=/init popcorn_migrate.enable=1"


def kernel_cmdline(experiment: str, extra: str) -> str:
    """panic=-1 resets a panicked guest at once; with QEMU's -no-reboot that ends the VM."""
    return f"{BASE_CMDLINE} popcorn.exp={experiment} {extra}".strip()


def primary_append(qemu: dict) -> str:
    """qemu.append, and qemu.secondary_append for the guest scripts to pass on to every
    secondary (guest/exp/lib.sh), one word per comma."""
    words = qemu.get("secondary_append", "").split()
    return " ".join([qemu["append"], *([f"popcorn.secondary_append={','.join(words)}"]
                                       if words else [])])


def machine(qemu: dict, kernel: Path, initrd: Path, accel: str, experiment: str,
            vcpus: int, mem_mib: int, plan: Plan | None = None) -> Machine:
    """plan: the partition planned on QEMU's model, whose kernel parameters are in
    qemu["append"]; the hardware target plans again from its machine's facts."""
    return Machine(kernel=kernel, initrd=initrd,
                   cmdline=kernel_cmdline(experiment, primary_append(qemu)),
                   vcpus=vcpus, mem_mib=mem_mib, accel=accel,
                   icount=qemu["icount"] if accel == "tcg" else None,
                   machine=qemu["machine"], cpu=qemu["cpu"], plan=plan)


def timeouts(qemu: dict) -> Timeouts:
    t = qemu["timeouts"]
    return Timeouts(boot_s=t["boot_s"], run_s=t["run_s"], shutdown_s=t["shutdown_s"])
