"""What produced a row: the pipeline invocation, the host, its CPU, QEMU and the kernel.

These columns define "one run" for every comparison: paired rows share run_id and host.
The Snakefile sets POPART_RUN_ID once per invocation and every job inherits it.
"""
import os
import platform
import re
import socket
import subprocess
import time
import uuid
from functools import cache
from pathlib import Path

from .fsutil import read_json

RUN_ID_ENV = "POPART_RUN_ID"
# target: qemu, or hardware (a machine over SSH: its host and host_cpu are the machine's).
COLUMNS = ["target", "run_id", "host", "host_cpu", "qemu_version", "kernel_build"]
NOT_QEMU = "none (host build)"


def new_run_id() -> str:
    """Sortable and unique: UTC time of the invocation plus 6 random hex digits."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def utc_now() -> str:
    """Now, as every origin records it (ISO 8601, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_id() -> str:
    return os.environ.get(RUN_ID_ENV) or "outside-snakemake"


def host_cpu() -> str:
    """The host's CPU model, from /proc/cpuinfo (the platform's name if it says none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@cache
def qemu_version(binary: str) -> str:
    """'7.2.22' from `qemu-system-x86_64 --version`, or why there is none."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e.__class__.__name__})"
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else "unknown"


def kernel_build(kernel: Path) -> str:
    """The build identity from kernel.json beside the bzImage (written by kernel-build)."""
    try:
        return str(read_json(kernel.parent / "kernel.json")["identity"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def facts(qemu_binary: str | None, kernel: Path | None) -> dict[str, str]:
    """This host's facts; a QEMU run's target is qemu, a host build's none."""
    return {"target": "qemu" if qemu_binary else "none (host build)", "run_id": run_id(), "host": socket.gethostname(), "host_cpu": host_cpu(),
            "qemu_version": qemu_version(qemu_binary) if qemu_binary else NOT_QEMU,
            "kernel_build": kernel_build(kernel) if kernel else NOT_QEMU}


def row_facts(status: dict) -> dict[str, str]:
    """The provenance columns of a tidy row, from its run's status.json ('unknown' for a
    status written before these were recorded)."""
    return {c: status.get(c) or "unknown" for c in COLUMNS}
