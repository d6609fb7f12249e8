"""What produced a regression run or a baseline: the commit, the kernel, QEMU and its
machine, the accelerator and timebase, and the host. A baseline is compared only with a
run of the same emulated machine (COMPARABLE); the host's CPU counts only where the
figures come from it (kvm, hw)."""
import socket
import subprocess
import time
from pathlib import Path

from .. import provenance
from ..errors import RegressError
from ..fsutil import read_json

COMPARABLE = ("qemu_version", "qemu_machine", "qemu_cpu", "accel", "timebase")
HOST_BOUND_ACCELS = ("kvm", "hw")


def commit(repo: Path) -> str:
    """HEAD of the checkout, '+dirty' with uncommitted changes to tracked files."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                              text=True, check=False).stdout.strip()
    head = git("rev-parse", "HEAD") or "unknown (not a git checkout)"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def timebase(qemu: dict, accel: str) -> str:
    """'icount shift=3' when the guest's time is counted instructions, else 'wall'."""
    return f"icount shift={qemu['icount']}" if accel == "tcg" and qemu.get("icount") else "wall"


def run_origin(results: Path, qemu: dict, repo: Path, qemu_binary: str) -> dict:
    kernel = read_json(results / "kernel/kernel.json")
    accel = read_json(results / "accel.json")["accel"]
    return {"commit": commit(repo), "kernel_build": kernel["identity"],
            "kernel_release": kernel["kernel_release"],
            "bzimage_sha256": kernel["bzimage_sha256"],
            "qemu_version": provenance.qemu_version(qemu_binary),
            "qemu_machine": qemu["machine"], "qemu_cpu": qemu["cpu"], "accel": accel,
            "timebase": timebase(qemu, accel), "host": socket.gethostname(),
            "host_cpu": provenance.host_cpu(), "run_id": provenance.run_id(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def check_comparable(baseline: dict, now: dict, where: str) -> None:
    """Raises, in one line, on the first difference that makes the figures incomparable."""
    keys = list(COMPARABLE)
    if now.get("accel") in HOST_BOUND_ACCELS:
        keys.append("host_cpu")
    for key in keys:
        if baseline.get(key) != now.get(key):
            raise RegressError(
                f"{where} was made with {key} {baseline.get(key)!r} and this run has "
                f"{now.get(key)!r}: not compared (make baseline makes one for this setup)")
