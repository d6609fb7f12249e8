"""Chooses the accelerator. ``auto`` proves KVM by booting the real kernel to init under a
short timeout: on some hosts /dev/kvm opens and a VM is created but the kernel hangs in
its decompressor, so anything less than the real kernel would pass wrongly."""
import os
from pathlib import Path

from . import log
from .errors import ConfigError
from .machines import machine
from .targets.qemu import QemuTarget, Timeouts

KVM_DEVICE = Path("/dev/kvm")


def kvm_device_usable(device: Path = KVM_DEVICE) -> str | None:
    """None if the device opens read-write, else why not."""
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError as e:
        return f"{device}: {e.strerror}"
    os.close(fd)
    return None


def resolve_accel(qemu: dict, kernel: Path, initrd: Path, probe_dir: Path,
                  target: QemuTarget, device: Path = KVM_DEVICE) -> dict:
    """Returns {"accel": kvm|tcg, "reason": why}."""
    requested = qemu["accel"]
    if requested == "tcg":
        return {"accel": "tcg", "reason": "qemu.accel is tcg"}
    if requested == "kvm":
        if problem := kvm_device_usable(device):
            raise ConfigError(f"qemu.accel: kvm requested but {problem}; use auto or tcg")
        return {"accel": "kvm", "reason": "qemu.accel is kvm"}
    if qemu["icount"] is not None:
        return {"accel": "tcg", "reason": "qemu.icount is set (icount needs tcg)"}
    if problem := kvm_device_usable(device):
        log.info(f"accel: tcg, because {problem}")
        return {"accel": "tcg", "reason": problem}
    log.info(f"accel: probing KVM by booting the kernel (at most {qemu['probe_timeout_s']} s)")
    m = machine(qemu, kernel, initrd, "kvm", "probe", vcpus=1, mem_mib=256)
    limit = float(qemu["probe_timeout_s"])
    status = target.run(m, Timeouts(boot_s=limit, run_s=limit, shutdown_s=limit), probe_dir)
    if status.status == "ok" and status.values.get("probe") == "ok":
        return {"accel": "kvm", "reason": f"KVM probe reached init in {status.boot_wall_s} s"}
    why = f"KVM probe {status.status}: {status.reason or 'no probe result'}"
    log.warn(f"accel: falling back to tcg ({why}; logs in {probe_dir})")
    return {"accel": "tcg", "reason": why}
