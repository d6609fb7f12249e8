"""One boot of a guest that serves the network test bed (guest/exp/net.sh), with a
host-side load run against it meanwhile.

The target runs QEMU in the test bed's link namespace and watches the guest as for any
other experiment. A thread waits for the guest's net_ready line, runs the load from the
client namespace, and then connects to the guest's port 7777, which tells the guest to
report and end. Whatever happens, load.json in the run folder says what the load did:
its rows, or why there are none.
"""
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .. import log
from ..console import ConsoleFollower
from ..errors import PopartError
from ..fsutil import atomic_write_json, read_json
from ..machines import machine, timeouts
from ..partition import Plan
from ..provenance import facts
from ..hardware.bed import MachineBed, machine_bed
from ..netbed import GUEST_IP, GUEST_MAC, ROUTER_GUEST_IP, TAP, NetBed, NetBedError, testbed
from ..targets.hardware import HardwareTarget
from ..targets.qemu import Machine, QemuTarget, RunStatus, console_path

DONE_PORT = 7777
CONNECT = ("import socket, sys; "
           "socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()")
READY_POLL_S = 0.2
DONE_CONNECT_S = 10.0
SERVERS = 2  # iperf3 and nginx listen

Target = QemuTarget | HardwareTarget
Bed = NetBed | MachineBed
# The load: rows from the client namespace (or, on the hardware target, this host), each
# tool's output kept in the folder; it stops early once the event is set.
Load = Callable[[Bed, threading.Event, Path], list[dict]]


def bed_machine(config: dict, kernel: Path, initrd: Path, accel: str, bed: Bed,
                experiment: str, vcpus: int, mem_mib: int, params: dict,
                append: str = "", plan: Plan | None = None) -> Machine:
    """A guest on the test bed: wall time (a real client drives it), the NIC on tap0,
    QEMU in the link namespace; params become popcorn.<key>=<value> on its command line,
    after append (a multikernel's plan's parameters, with its plan)."""
    net = config["network"]
    extra = " ".join(f"popcorn.{key}={value}" for key, value in params.items())
    extra = f"{append} popcorn.ip={GUEST_IP} popcorn.gw={ROUTER_GUEST_IP} {extra}".strip()
    qemu = {**config["qemu"], "append": f"{config['qemu']['append']} {extra}"}
    m = machine(qemu, kernel, initrd, accel, experiment, vcpus, mem_mib, plan)
    return replace(m, icount=None, nic=net["nic"], tap=TAP, mac=GUEST_MAC,
                   launcher=tuple(bed.in_link([])))


def list_param(values: list[int]) -> str:
    """A list as one kernel command-line value: "1,4"."""
    return ",".join(str(v) for v in values)


def net_machine(config: dict, kernel: Path, initrd: Path, accel: str, bed: Bed, vcpus: int,
                workers: int, files: list[int], wait_s: float,
                fault: tuple[str, float] = ("none", 0), inner: tuple[float, list[int]] = (0, [1])
                ) -> Machine:
    """SMP Linux on the test bed (guest/exp/net.sh): W nginx workers, an iperf3 server;
    inner = (seconds, streams) also measures veth between namespaces first."""
    return bed_machine(config, kernel, initrd, accel, bed, "net", vcpus,
                       config["network"]["mem_mib"],
                       {"workers": workers, "files": list_param(files) or "1",
                        "wait_s": int(wait_s), "fault": fault[0],
                        "fault_after_s": f"{fault[1]:g}", "inner_s": int(inner[0]),
                        "streams": list_param(inner[1])})


def target_facts(target: Target) -> dict:
    """The provenance of a run on this target that never booted."""
    if isinstance(target, HardwareTarget):
        return target.provenance(None)
    return facts(target.binary, None)


def record_unbooted(run_dir: Path, accel: str, status: str, reason: str,
                    target: Target) -> None:
    """status.json (and an empty load.json) for a run that never booted: no test bed,
    no link rate. Its rows then carry this status and reason."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in ("console.log", "qemu.log"):
        (run_dir / name).write_text(f"not booted: {reason}\n")
    atomic_write_json(run_dir / "load.json", {"rows": [], "error": reason})
    atomic_write_json(run_dir / "status.json", {
        "status": status, "reason": reason, "stage": "start", "accel": accel,
        "timebase": "wall", "host_cores": os.cpu_count() or 0, "values": {},
        **target_facts(target), "kernel_build": "not booted"})
    log.error(f"net: not booted: {reason}")


def read_load(run_dir: Path) -> dict:
    """load.json of a run: {"rows": [...], "error": "..."}; empty if it never ran."""
    path = run_dir / "load.json"
    return read_json(path) if path.exists() else {}


def _wait_ready(console: ConsoleFollower, finished: threading.Event) -> str | None:
    """The guest's net_ready value, or None if the run ended first."""
    while not finished.is_set():
        value = console.poll().values.get("net_ready")
        if value is not None:
            return value
        time.sleep(READY_POLL_S)
    return None


def _tell_guest_done(bed: Bed) -> None:
    deadline = time.monotonic() + DONE_CONNECT_S
    argv = bed.in_client([sys.executable, "-c", CONNECT, bed.guest_ip, str(DONE_PORT)])
    while time.monotonic() < deadline:
        if subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          check=False).returncode == 0:
            return
        time.sleep(0.5)
    log.warn("net: the guest did not take the end signal; its own wait_s ends it")


def _drive(bed: Bed, load: Load, run_dir: Path, finished: threading.Event,
           servers: int) -> None:
    outcome: dict = {"rows": [], "error": ""}
    try:
        ready = _wait_ready(ConsoleFollower(console_path(run_dir, 0)), finished)
        if ready is None:
            outcome["error"] = "the guest ended before its servers were ready"
        elif ready != str(servers):
            outcome["error"] = f"{ready} of the guest's {servers} servers listened"
        else:
            log.info("net: guest servers ready, load starts")
            outcome["rows"] = load(bed, finished, run_dir / "load")
    except PopartError as e:
        outcome["error"] = str(e)
    finally:
        atomic_write_json(run_dir / "load.json", outcome)
        if not finished.is_set():
            _tell_guest_done(bed)


def run_with_load(config: dict, target: Target, m: Machine, run_dir: Path, bed: Bed,
                  load: Load, load_s: float, servers: int = SERVERS) -> RunStatus:
    """Boots m, runs load once the guest reports its servers listen (net_ready=servers),
    and ends the guest after it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    # An earlier run's console says net_ready too: the load would start against a guest
    # still booting. Its load outputs would mix with this run's.
    (run_dir / "load.json").unlink(missing_ok=True)
    for stale in run_dir.glob("console*.log"):
        stale.unlink()
    shutil.rmtree(run_dir / "load", ignore_errors=True)
    limits = timeouts(config["qemu"])
    limits = replace(limits, run_s=max(limits.run_s, load_s + 120))
    finished = threading.Event()
    driver = threading.Thread(target=_drive, args=(bed, load, run_dir, finished, servers),
                              daemon=True)
    driver.start()
    try:
        status = target.run(m, limits, run_dir)
    finally:
        finished.set()
        driver.join()  # each load step has its own time limit
    return status


def client_bed(target: Target, multikernel: bool):
    """Where the load runs: a fresh test bed under QEMU; this host on the hardware target,
    routed to the multikernel's secondaries through the machine when they serve."""
    if isinstance(target, HardwareTarget):
        return machine_bed(target.image_ip(), route=multikernel)
    return testbed()


def run_on_testbed(config: dict, target: Target, run_dir: Path, accel: str,
                   link: dict | None, guest: Callable[[Bed], Machine], load: Load,
                   load_s: float, servers: int = SERVERS, multikernel: bool = False
                   ) -> RunStatus | None:
    """A run on a fresh test bed, with the link rate (None: the calibration itself).
    Without a link rate or a test bed it records why, and boots nothing."""
    if link is not None and link["link_mbit"] is None:
        record_unbooted(run_dir, accel, link["status"], f"no link rate: {link['reason']}",
                        target)
        return None
    try:
        with client_bed(target, multikernel) as bed:
            return run_with_load(config, target, guest(bed), run_dir, bed, load, load_s,
                                 servers)
    except NetBedError as e:
        record_unbooted(run_dir, accel, "error", str(e), target)
        return None
