"""The QEMU target: boots a kernel and initramfs, watches the console for the init's
markers with a timeout per stage (boot, run, shutdown), controls the VM over QMP, and
always leaves console.log, qemu.log and status.json, whatever the guest did.

status.json says ok, timeout, panic or error, with the reason; it is written as
"running" before QEMU starts and replaced atomically at the end.
"""
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qemu.qmp import QMPError
from qemu.qmp.legacy import QEMUMonitorProtocol

from .. import log
from ..console import ConsoleFollower, ConsoleReport, split_secondaries
from ..errors import TargetError
from ..fsutil import atomic_write_json
from ..hostload import HostLoad
from ..hosttools import require
from ..partition import Plan
from ..provenance import facts
from .trace import TraceWindows

# Set by the CLI's SIGTERM handler: the run stops at its next poll, tears QEMU down and
# records why. A flag, not an exception: a signal may arrive inside a QMP call.
STOP = threading.Event()

POLL_S = 0.05
QMP_CONNECT_S = 15.0
TEARDOWN_S = 5.0
PANIC_EXIT_S = 5.0


@dataclass(frozen=True)
class Machine:
    """What to boot and on what virtual hardware."""
    kernel: Path
    initrd: Path
    cmdline: str
    vcpus: int
    mem_mib: int
    accel: str                  # kvm | tcg
    icount: int | None = None   # -icount shift=N,sleep=off (tcg only)
    machine: str = "pc"
    cpu: str = "max"
    serial_ports: int = 1
    trace_events: tuple[str, ...] = ()  # QEMU trace events for the guest's trace windows
    nic: str | None = None      # a NIC model (virtio-net-pci, e1000) on tap device `tap`
    tap: str = "tap0"
    mac: str = "52:54:00:12:34:56"
    launcher: tuple[str, ...] = ()  # runs QEMU, e.g. in the test bed's network namespace
    plan: Plan | None = None    # the partition whose kernel parameters are in cmdline

    @property
    def timebase(self) -> str:
        return "icount" if self.icount is not None else "wall"


@dataclass(frozen=True)
class Timeouts:
    boot_s: float
    run_s: float
    shutdown_s: float


@dataclass
class RunStatus:
    status: str                         # running | ok | timeout | panic | error
    reason: str
    stage: str                          # where it ended: start | boot | run | shutdown | done
    accel: str
    timebase: str
    host_cores: int
    wall_s: float = 0.0                 # QEMU start to QEMU exit, host clock
    boot_wall_s: float | None = None    # QEMU start to the init's BEGIN marker, host clock
    qemu_exit: int | None = None
    shutdown_reason: str | None = None  # from QMP's SHUTDOWN event
    values: dict[str, str] = field(default_factory=dict)
    traces: dict[str, dict[str, int]] = field(default_factory=dict)  # window -> event counts
    argv: list[str] = field(default_factory=list)
    # What produced it (provenance.COLUMNS) and what else the host did meanwhile (hostload).
    target: str = ""
    run_id: str = ""
    host: str = ""
    host_cpu: str = ""
    qemu_version: str = ""
    kernel_build: str = ""
    host_load: dict = field(default_factory=dict)


def console_path(run_dir: Path, port: int) -> Path:
    return run_dir / ("console.log" if port == 0 else f"console-ttyS{port}.log")


def machine_argv(binary: str, m: Machine) -> list[str]:
    """The virtual machine itself, without its consoles or monitor."""
    argv = [binary, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", m.machine, "-smp", str(m.vcpus), "-m", f"{m.mem_mib}M",
            "-kernel", str(m.kernel), "-initrd", str(m.initrd), "-append", m.cmdline]
    if m.accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    elif m.icount is not None:
        argv += ["-accel", "tcg", "-cpu", m.cpu, "-icount", f"shift={m.icount},sleep=off"]
    else:
        argv += ["-accel", "tcg,thread=multi", "-cpu", m.cpu]
    if m.nic:
        argv += ["-netdev", f"tap,id=net0,ifname={m.tap},script=no,downscript=no",
                 "-device", f"{m.nic},netdev=net0,mac={m.mac}"]
    return argv


def interactive_argv(binary: str, m: Machine) -> list[str]:
    """The console on this terminal (Ctrl-a x quits QEMU, Ctrl-a c its monitor)."""
    return [*machine_argv(binary, m), "-serial", "mon:stdio"]


def qemu_argv(binary: str, m: Machine, run_dir: Path, qmp_socket: Path) -> list[str]:
    """A measured run: QMP, a debug log (and trace windows), a log file per serial port."""
    argv = [*m.launcher, *machine_argv(binary, m),
            "-qmp", f"unix:{qmp_socket},server=on,wait=off",
            "-D", str(run_dir / "qemu-debug.log")]
    for port in range(m.serial_ports):
        argv += ["-chardev", f"file,id=ser{port},path={console_path(run_dir, port)}",
                 "-serial", f"chardev:ser{port}"]
    return argv


class QemuTarget:
    def __init__(self, binary: str = "qemu-system-x86_64") -> None:
        self.binary = binary

    def run(self, m: Machine, timeouts: Timeouts, run_dir: Path) -> RunStatus:
        binary = require(self.binary) if "/" not in self.binary else self.binary
        run_dir.mkdir(parents=True, exist_ok=True)
        for pattern in ("console*.log", "trace-*.log"):
            for stale in run_dir.glob(pattern):
                stale.unlink()
        for port in range(m.serial_ports):  # exists even if QEMU never starts
            console_path(run_dir, port).touch()
        sockdir = Path(tempfile.mkdtemp(prefix="popcorn-qmp-"))
        argv = qemu_argv(binary, m, run_dir, sockdir / "qmp.sock")
        status = RunStatus("running", "", "start", m.accel, m.timebase, os.cpu_count() or 0,
                           argv=argv, **facts(binary, m.kernel))
        (run_dir / "qemu-cmdline.sh").write_text(shlex.join(argv) + "\n")
        atomic_write_json(run_dir / "status.json", asdict(status))
        log.info(f"qemu: {m.vcpus} vCPUs, {m.mem_mib} MiB, {m.accel}/{m.timebase}, "
                 f"command in {run_dir / 'qemu-cmdline.sh'}")
        load = HostLoad()
        load.start()
        started = time.monotonic()
        with open(run_dir / "qemu.log", "wb") as qemu_log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=qemu_log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        qmp = None
        console = ConsoleFollower(console_path(run_dir, 0))
        traces = TraceWindows(m.trace_events, run_dir / "qemu-debug.log", run_dir)
        try:
            qmp = _connect_qmp(sockdir / "qmp.sock", proc)
            if qmp is None:
                status.status, status.reason = "error", _early_exit_reason(proc, run_dir)
            else:
                _watch(proc, qmp, console, traces, timeouts, status, started)
        except TargetError as e:
            status.status, status.reason = "error", e.args[0]
        finally:
            traces.close(qmp if proc.poll() is None else None)
            status.traces = traces.counts
            status.shutdown_reason = _teardown(proc, qmp) or status.shutdown_reason
            status.qemu_exit = proc.returncode
            status.wall_s = round(time.monotonic() - started, 3)
            status.values = console.poll(final=True).values
            status.host_load = load.finish()
            write_secondary_consoles(run_dir)
            if status.status == "running":  # interrupted by an exception of ours
                status.status, status.reason = "error", "the runner stopped unexpectedly"
            atomic_write_json(run_dir / "status.json", asdict(status))
            shutil.rmtree(sockdir, ignore_errors=True)
        log.info(f"qemu: {status.status} after {status.wall_s:.1f} s"
                 + (f": {status.reason}" if status.reason else ""))
        return status


def write_secondary_consoles(run_dir: Path) -> None:
    """console-k<N>.log for each secondary whose output the primary relayed."""
    text = console_path(run_dir, 0).read_text(errors="replace")
    for kernel_id, stream in split_secondaries(text).items():
        (run_dir / f"console-k{kernel_id}.log").write_text(stream)


def _connect_qmp(socket: Path, proc: subprocess.Popen) -> QEMUMonitorProtocol | None:
    """Connects once QEMU has made its socket; None if QEMU exited first."""
    deadline = time.monotonic() + QMP_CONNECT_S
    while time.monotonic() < deadline and not STOP.is_set():
        if proc.poll() is not None:
            return None
        if socket.exists():
            qmp = QEMUMonitorProtocol(str(socket))
            try:
                qmp.connect(negotiate=True)
                return qmp
            except (QMPError, OSError, EOFError):
                qmp.close()
        time.sleep(POLL_S)
    if STOP.is_set():
        raise TargetError("stopped by the host (SIGTERM) while QEMU was starting")
    raise TargetError(f"QEMU made no QMP socket within {QMP_CONNECT_S:.0f} s")


def _early_exit_reason(proc: subprocess.Popen, run_dir: Path) -> str:
    proc.wait()
    text = (run_dir / "qemu.log").read_text(errors="replace").strip().splitlines()
    return f"QEMU exited with {proc.returncode} at start: {text[-1] if text else 'no output'}"


STAGE_MARKER = {"boot": "init start marker", "run": "experiment end marker",
                "shutdown": "guest restart or power-off"}


def _watch(proc: subprocess.Popen, qmp: QEMUMonitorProtocol, console: ConsoleFollower,
           traces: TraceWindows, timeouts: Timeouts, status: RunStatus,
           started: float) -> None:
    """Follows the guest through its stages until it ends, panics, or a stage times out."""
    limits = {"boot": timeouts.boot_s, "run": timeouts.run_s, "shutdown": timeouts.shutdown_s}
    status.stage = "boot"
    deadline = started + limits["boot"]
    panic_seen: float | None = None
    next_progress = started + PROGRESS_S
    while True:
        if STOP.is_set():
            status.status = "error"
            status.reason = f"stopped by the host (SIGTERM) in the {status.stage} stage"
            return
        exited = proc.poll() is not None  # before reading: the last lines are then in
        report = console.poll(final=exited)
        now = time.monotonic()
        if not exited:
            traces.follow(qmp, report.values.get("trace"))
        if report.panic and panic_seen is None:
            status.status, status.reason = "panic", report.panic
            panic_seen = now
        if status.stage == "boot" and report.begun:
            status.boot_wall_s = round(now - started, 3)
            status.stage, deadline = "run", now + limits["run"]
            log.info(f"qemu: init started after {status.boot_wall_s:.1f} s")
        if status.stage == "run" and report.ended:
            status.stage, deadline = "shutdown", now + limits["shutdown"]
        if exited:
            _drain_events(qmp, status)  # the SHUTDOWN event says how the guest ended
            if panic_seen is None:
                _judge_exit(proc, report, status)
            return
        if panic_seen is not None and now - panic_seen > PANIC_EXIT_S:
            return  # the guest panicked and did not reset itself; teardown stops it
        if panic_seen is None and now > deadline:
            status.status = "timeout"
            status.reason = (f"no {STAGE_MARKER[status.stage]} within "
                             f"{limits[status.stage]:g} s ({status.stage} stage; "
                             f"VM {_vm_state(qmp)})")
            return
        if now >= next_progress:
            log.info(progress_line(status.stage, now - started, report.last_marker))
            while next_progress <= now:  # on the PROGRESS_S grid, even after a stall
                next_progress += PROGRESS_S
        _drain_events(qmp, status)
        time.sleep(POLL_S)


PROGRESS_S = 30.0  # a progress line this often during a run (tests shorten it)


def progress_line(stage: str, elapsed: float, last_marker: str | None) -> str:
    return f"qemu: {stage} stage, {elapsed:.0f} s, last marker: {last_marker or 'none yet'}"


def _judge_exit(proc: subprocess.Popen, report: ConsoleReport, status: RunStatus) -> None:
    if status.stage != "shutdown":
        status.status = "error"
        status.reason = f"QEMU exited ({proc.returncode}) in the {status.stage} stage"
    elif report.rc != 0:
        status.status = "error"
        status.reason = f"experiment {report.experiment} exited with rc={report.rc}"
    else:
        status.status, status.reason = "ok", ""
    status.stage = "done" if status.status == "ok" else status.stage


def _vm_state(qmp: QEMUMonitorProtocol) -> str:
    try:
        return str(qmp.cmd("query-status").get("status", "unknown"))  # type: ignore[union-attr]
    except (QMPError, OSError, EOFError, RuntimeError) as e:
        return f"state unknown ({e.__class__.__name__})"


def _drain_events(qmp: QEMUMonitorProtocol, status: RunStatus) -> None:
    try:
        events = qmp.get_events(wait=False)
    except (QMPError, OSError, EOFError, RuntimeError):
        return
    for event in events:
        if event.get("event") == "SHUTDOWN":
            status.shutdown_reason = event.get("data", {}).get("reason")


def _teardown(proc: subprocess.Popen, qmp: QEMUMonitorProtocol | None) -> str | None:
    """Stops QEMU if it still runs: QMP quit first, then SIGKILL. Returns how it ended."""
    how = None
    if proc.poll() is None and qmp is not None:
        try:
            qmp.cmd("quit")
            how = "host-qmp-quit"
        except (QMPError, OSError, EOFError, RuntimeError):
            pass
        try:
            proc.wait(TEARDOWN_S)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        how = "host-kill"
    if qmp is not None:
        try:
            qmp.close()
        except (QMPError, OSError, EOFError, RuntimeError):
            pass
    return how
