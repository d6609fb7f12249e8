"""What produced a regression run or a baseline: the commit, the kernel, QEMU and its
machine, the accelerator and timebase, what was measured (workload), and the host. A baseline is compared only with a
run of the same emulated machine (COMPARABLE); the host's CPU counts only where the
figures come from it (kvm, hw)."""
import hashlib
import json
import subprocess
from pathlib import Path

import pandas as pd

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
    icount = qemu.get("icount")
    return f"icount shift={icount}" if accel == "tcg" and icount is not None else "wall"


def workload(experiments: dict) -> dict[str, str]:
    """What was measured: per enabled experiment, a digest of its configuration, so that
    a baseline of other work (more pings, other payloads, fewer kernels) is refused. An
    experiment only one side ran is not refused: its figures are then missing (broken)
    or new."""
    return {name: hashlib.sha256(json.dumps(section, sort_keys=True).encode()).hexdigest()[:16]
            for name, section in sorted(experiments.items()) if section.get("enabled", True)}


# The tidy CSVs whose rows say where the run's figures were measured.
ROW_SOURCES = ("boot/boot.csv", "boot/multikernel.csv", "msg/latency.csv")


def measured_on(results: Path) -> dict:
    """run_id, host, host CPU and QEMU version of the rows themselves (not of the job
    that reads them, which may run later, elsewhere)."""
    for name in ROW_SOURCES:
        if (results / name).exists():
            rows = pd.read_csv(results / name)
            if len(rows):
                return {c: str(rows[c].iloc[0]) for c in provenance.COLUMNS if c in rows}
    return {}


def run_origin(results: Path, qemu: dict, experiments: dict, repo: Path,
               qemu_binary: str) -> dict:
    kernel = read_json(results / "kernel/kernel.json")
    accel = read_json(results / "accel.json")["accel"]
    return {"commit": commit(repo), **provenance.facts(qemu_binary, results / "kernel/bzImage"),
            **measured_on(results), "kernel_release": kernel["kernel_release"],
            "bzimage_sha256": kernel["bzimage_sha256"], "qemu_machine": qemu["machine"],
            "qemu_cpu": qemu["cpu"], "accel": accel, "timebase": timebase(qemu, accel),
            "workload": workload(experiments), "date": provenance.utc_now()}


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
    mine, theirs = now.get("workload", {}), baseline.get("workload", {})
    for name in sorted(set(mine) & set(theirs)):
        if mine[name] != theirs[name]:
            raise RegressError(f"{where} measured another experiments.{name} configuration "
                               "than this run: not compared (make baseline makes one for it)")
