"""The hardware target: a real x86-64 machine (or anything that boots like one) reached over
SSH. Per run: read the machine's facts and refuse by name what it cannot do, plan the
partition from them, copy the kernel and image, kexec into them, follow the console
log the image keeps over SSH, collect, and reboot the machine into its own kernel,
power-cycling it with hardware.power_cycle when it stops answering.

It leaves what the QEMU target leaves: console.log (and console-k<id>.log),
status.json (ok, timeout, panic or error, with the reason), plus machine-facts.json
and kernel.log (the experiment kernel's dmesg, when it answered).
"""
import os
import shlex
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict
from functools import cache
from pathlib import Path

from .. import log, partition
from ..console import ConsoleFollower
from ..errors import ConfigError, TargetError
from ..fsutil import atomic_write_json, read_json
from ..hardware import image
from ..hardware.drivers import builtin_net_drivers
from ..hardware.facts import SCRIPT, MachineFacts, accel_of, parse, refusals
from ..hardware.ssh import Endpoint, Ssh
from ..hostload import HostLoad
from ..paths import cache_root
from ..provenance import facts as host_facts
from .qemu import STOP, Machine, RunStatus, Timeouts, write_secondary_consoles

NOT_QEMU = "none (hardware target)"
REMOTE_KERNEL, REMOTE_INITRD = "/tmp/popcorn-bzImage", "/tmp/popcorn-initrd"
POLL_S = 0.5
PROGRESS_S = 30.0


class HardwareTarget:
    def __init__(self, hw: dict) -> None:
        self.hw = hw
        self.limits = hw["timeouts"]
        self.own = Ssh(Endpoint(hw["address"], hw["user"], Path(hw["ssh_key"]),
                                Path(hw["known_hosts"]), hw["port"]))
        self.state = cache_root() / "hardware" / hw["address"]

    # Before any change to the machine.

    def read_facts(self) -> MachineFacts:
        if self.own.wait_until("true", self.limits["connect_s"], STOP) is None:
            raise TargetError(f"hardware.address: {self.hw['address']} did not answer over "
                              f"SSH as {self.hw['user']} within {self.limits['connect_s']} s")
        return parse(self.own.run("sh -s", stdin=SCRIPT.read_bytes()).stdout.decode(
            errors="replace"))

    def check(self, f: MachineFacts, kernel: Path) -> str:
        """The accel label; TargetError naming everything the machine cannot do."""
        problems = refusals(f, self.hw["address"], kernel_drivers(kernel))
        if problems:
            raise TargetError(f"machine {self.hw['address']}: " + "; ".join(problems))
        return accel_of(f, self.hw["accel"])

    def plan(self, request: partition.Request, f: MachineFacts) -> partition.Plan:
        lend = self.hw["cpus"]
        mib = self.hw["mem_mib"]
        return partition.plan(
            partition.Request(request.secondaries, request.mib, request.cpus,
                              lend_cpus=None if lend == "auto" else tuple(lend),
                              lend_mib=None if mib == "auto" else mib),
            f.cpus, f.memmap)

    def cmdline(self, m: Machine, f: MachineFacts, nonce: str) -> str:
        """The experiment's command line with the partition planned on this machine, the
        image's network (the address the host reaches the machine at, on the same NIC)."""
        cmdline = m.cmdline
        if m.plan is not None:
            qemu_params = m.plan.kernel_params()
            if qemu_params not in cmdline:
                raise TargetError("the machine's command line lacks its plan's parameters")
            cmdline = cmdline.replace(qemu_params, self.plan(m.plan.request, f).kernel_params())
        elif "popcorn.k=" in cmdline:
            raise TargetError("the machine's command line has a partition but no plan to "
                              "plan it again on this machine")
        elif m.vcpus > len(f.cpus):
            raise TargetError(f"the SMP side needs {m.vcpus} CPUs and the machine has "
                              f"{len(f.cpus)}")
        else:
            # SMP Linux on as many CPUs as the QEMU target gives it, so that its rows'
            # vcpus say what ran (maxcpus takes the first ones the firmware lists).
            cmdline = f"{cmdline} maxcpus={m.vcpus}"
        nic = f.nic_for(self.hw["address"])
        assert nic is not None  # refusals() said so otherwise
        cidr = self.hw["image_address"] or next(
            a for a in nic.addresses if a.split("/")[0] == self.hw["address"])
        gateway = self.hw["gateway"]
        if gateway is None and cidr != "dhcp":   # a lease brings its own router
            gateway = f.gateway
        expect = f" popcorn.hw_expect={self.image_ip()}" if cidr == "dhcp" else ""
        return (f"{cmdline} popcorn.hw=1 popcorn.hw_run={nonce} popcorn.hw_mac={nic.mac} "
                f"popcorn.hw_addr={cidr}{expect}"
                + (f" popcorn.hw_gw={gateway}" if gateway else ""))

    def image_ip(self) -> str:
        """Where the experiment's image answers: hardware.image_address, else (also
        with a DHCP lease) the machine's own address."""
        if self.hw["image_address"] in ("", "dhcp"):
            return self.hw["address"]
        return self.hw["image_address"].split("/")[0]

    # One run.

    def run(self, m: Machine, timeouts: Timeouts, run_dir: Path) -> RunStatus:
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in [*run_dir.glob("console*.log"), run_dir / "kernel.log"]:
            stale.unlink(missing_ok=True)
        console_log = run_dir / "console.log"
        console_log.touch()
        status = self._new_status(m.kernel)
        atomic_write_json(run_dir / "status.json", asdict(status))
        load = HostLoad()
        load.start()
        started = time.monotonic()
        nonce = uuid.uuid4().hex[:12]
        image_ssh = None
        try:
            f = self.read_facts()
            atomic_write_json(run_dir / "machine-facts.json", f.as_json())
            status.host_cpu, status.host_cores = f.model or "unknown", len(f.cpus)
            status.accel = self.check(f, m.kernel)
            cmdline = self.cmdline(m, f, nonce)
            (run_dir / "kexec-cmdline.txt").write_text(cmdline + "\n")
            image_ssh = self._load(m, cmdline)
            log.info(f"hardware: kexec -e on {self.hw['address']} ({status.accel})")
            self.own.run("setsid sh -c 'sleep 1; kexec -e' </dev/null >/dev/null 2>&1 &", check=False,
                         timeout_s=30)
            status.stage = "boot"
            kexec_at = time.monotonic()
            if image_ssh.wait_until(f"grep -q popcorn.hw_run={nonce} /proc/cmdline",
                                    self.limits["boot_s"], STOP) is None:
                status.status = "timeout"
                status.reason = (f"the experiment kernel did not answer over SSH within "
                                 f"{self.limits['boot_s']} s of kexec -e (boot stage)")
                return status
            self._follow(ConsoleFollower(console_log), image_ssh, timeouts, status, kexec_at,
                         console_log)
            self._collect(image_ssh, run_dir)
        except (TargetError, ConfigError) as e:
            status.status, status.reason = "error", e.args[0]
        finally:
            if image_ssh is not None:
                self._restore(image_ssh, status, run_dir)
            status.wall_s = round(time.monotonic() - started, 3)
            status.values = ConsoleFollower(console_log).poll(final=True).values
            status.host_load = load.finish()
            write_secondary_consoles(run_dir)
            if status.status == "running":
                status.status, status.reason = "error", "the runner stopped unexpectedly"
            atomic_write_json(run_dir / "status.json", asdict(status))
        log.info(f"hardware: {status.status} after {status.wall_s:.1f} s"
                 + (f": {status.reason}" if status.reason else ""))
        return status

    def provenance(self, kernel: Path | None) -> dict:
        """The provenance columns of a run on this machine."""
        return {**host_facts(None, kernel), "target": "hardware", "host": self.hw["address"],
                "qemu_version": NOT_QEMU}

    def _new_status(self, kernel: Path) -> RunStatus:
        return RunStatus("running", "", "start", "unknown", "wall", os.cpu_count() or 0,
                         **self.provenance(kernel))

    def facts_only(self, kernel: Path, run_dir: Path) -> RunStatus:
        """A run that only reads the machine's facts and boots nothing (the network
        calibration, which the machine's own link makes moot): status.json ok, stage
        facts, with machine-facts.json; error with the reason if it cannot."""
        run_dir.mkdir(parents=True, exist_ok=True)
        status = self._new_status(kernel)
        status.stage = "facts"
        started = time.monotonic()
        try:
            f = self.read_facts()
            atomic_write_json(run_dir / "machine-facts.json", f.as_json())
            status.host_cpu, status.host_cores = f.model or "unknown", len(f.cpus)
            status.accel = self.check(f, kernel)
            status.status = "ok"
        except (TargetError, ConfigError) as e:
            status.status, status.reason = "error", e.args[0]
        status.wall_s = round(time.monotonic() - started, 3)
        atomic_write_json(run_dir / "status.json", asdict(status))
        return status

    def _load(self, m: Machine, cmdline: str) -> Ssh:
        """Copies the kernel and the image (with the SSH overlay) and kexec -l's them.
        Returns how to reach the image once it runs."""
        host_key, public = image.image_host_key(self.state)
        known = image.known_hosts(self.state / "image_known_hosts", self.image_ip(), public)
        with tempfile.TemporaryDirectory(prefix="popcorn-hw-") as work:
            overlay = image.overlay(Path(work), host_key,
                                    image.public_key(Path(self.hw["ssh_key"])))
            initrd = Path(work) / "initrd.cpio.gz"
            initrd.write_bytes(m.initrd.read_bytes() + overlay.read_bytes())
            copy_s = self.limits["copy_s"]
            log.info(f"hardware: copying the kernel and a {initrd.stat().st_size >> 20} MiB "
                     f"image to {self.hw['address']}")
            self.own.put(m.kernel, REMOTE_KERNEL, copy_s)
            self.own.put(initrd, REMOTE_INITRD, copy_s)
        self.own.run(f"kexec -l {REMOTE_KERNEL} --initrd={REMOTE_INITRD} "
                     f"--command-line={shlex.quote(cmdline)}", timeout_s=120)
        e = self.own.endpoint
        return Ssh(Endpoint(self.image_ip(), "root", e.key, known, e.port))

    def _follow(self, console: ConsoleFollower, image_ssh: Ssh, timeouts: Timeouts,
                status: RunStatus, kexec_at: float, console_log: Path) -> None:
        """Boot (until BEGIN), run (until END) and their limits, from the console log the
        image keeps, streamed over SSH; a stream that breaks is taken up again where it
        stopped, while the stage's limit lasts."""
        deadline = kexec_at + self.limits["boot_s"]
        next_progress = time.monotonic() + PROGRESS_S
        stream = None
        lost_at = None
        try:
            while True:
                if stream is None or stream.poll() is not None:
                    if stream is not None and lost_at is None:
                        lost_at = time.monotonic() - kexec_at
                        log.warn(f"hardware: the console stream broke {lost_at:.0f} s after "
                                 "kexec; taking it up again while the stage's limit lasts")
                    offset = console_log.stat().st_size
                    stream = image_ssh.stream(f"tail -c +{offset + 1} -f /tmp/console.log",
                                              console_log)
                report = console.poll()
                now = time.monotonic()
                if STOP.is_set():
                    status.status = "error"
                    status.reason = f"stopped by the host (SIGTERM) in the {status.stage} stage"
                    return
                if status.stage == "boot" and report.begun:
                    status.boot_wall_s = round(now - kexec_at, 3)
                    status.stage, deadline = "run", now + timeouts.run_s
                if status.stage == "run" and report.ended:
                    status.stage = "shutdown"
                    status.status = "ok" if report.rc == 0 else "error"
                    if report.rc != 0:
                        status.reason = (f"experiment {report.experiment} exited with "
                                         f"rc={report.rc}")
                    return
                if now > deadline:
                    limit = self.limits["boot_s"] if status.stage == "boot" else timeouts.run_s
                    marker = "init start" if status.stage == "boot" else "experiment end"
                    status.status = "timeout"
                    status.reason = (f"no {marker} marker within {limit:g} s ({status.stage} "
                                     "stage" + (f"; the machine stopped answering over SSH "
                                                f"{lost_at:.0f} s after kexec" if lost_at
                                                else "") + ")")
                    return
                if now >= next_progress:
                    log.info(f"hardware: {status.stage} stage, {now - kexec_at:.0f} s since "
                             f"kexec, last marker: {report.last_marker or 'none yet'}")
                    next_progress += PROGRESS_S
                time.sleep(POLL_S if stream.poll() is None else 2.0)
        finally:
            if stream is not None and stream.poll() is None:
                stream.kill()
                stream.wait()

    def _collect(self, image_ssh: Ssh, run_dir: Path) -> None:
        try:
            (run_dir / "kernel.log").write_bytes(image_ssh.run("dmesg", timeout_s=60).stdout)
        except TargetError as e:
            log.warn(f"hardware: no kernel log: {e.args[0]}")

    def _restore(self, image_ssh: Ssh, status: RunStatus, run_dir: Path) -> None:
        """Back into the machine's own kernel: a reboot through the image's SSH if it still
        answers, else (or if the machine does not come back) hardware.power_cycle."""
        back = "! grep -q popcorn.hw_run= /proc/cmdline && uname -r"
        rebooted = self._answers(image_ssh) and image_ssh.run(
            "setsid sh -c 'sleep 1; reboot -f' </dev/null >/dev/null 2>&1 &", check=False,
            timeout_s=20).returncode == 0
        how = "reboot through the image's SSH" if rebooted else "no answer from the image"
        if not rebooted and self.own.wait_until(back, 1, STOP):
            how = ("it had rebooted itself (panic=-1 reboots a panicked kernel; an image "
                   "that could not bring up its network or SSH server reboots too)")
            _fail(status, "the experiment kernel rebooted the machine by itself")
        elif not (rebooted and self.own.wait_until(back, self.limits["return_s"], STOP)):
            how = self._power_cycle(status, how)
            if how and self.own.wait_until(back, self.limits["return_s"], STOP) is None:
                how = None
                _fail(status, f"the machine did not come back into its own kernel within "
                              f"{self.limits['return_s']} s of the power cycle")
        if how:
            log.info(f"hardware: {self.hw['address']} is back in its own kernel ({how})")
            if status.status == "ok":
                status.stage = "done"
        (run_dir / "restore.txt").write_text(f"{how or 'not restored'}\n")

    def _answers(self, s: Ssh) -> bool:
        try:
            return s.run("true", timeout_s=25, check=False).returncode == 0
        except TargetError:
            return False

    def _power_cycle(self, status: RunStatus, why: str) -> str | None:
        command = self.hw["power_cycle"]
        if not command:
            _fail(status, f"the machine did not come back ({why}) and hardware.power_cycle "
                          "is empty: bring it back by hand (README 'A real machine')")
            return None
        log.warn(f"hardware: power-cycling {self.hw['address']} ({why}): {command}")
        result = subprocess.run(command, shell=True, capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode != 0:
            _fail(status, f"hardware.power_cycle exited {result.returncode}: "
                          f"{(result.stderr or result.stdout).strip()[:200]}")
            return None
        status.reason = "; ".join(filter(None, [status.reason, "the machine was power-cycled"]))
        return "power cycle"


def _fail(status: RunStatus, reason: str) -> None:
    """A problem on the way back: the run keeps its own status (a timeout stays one)."""
    status.reason = "; ".join(filter(None, [status.reason, reason]))
    if status.status in ("ok", "running"):
        status.status = "error"


@cache  # one walk of the tree's Makefiles per kernel, not one per run
def kernel_drivers(kernel: Path) -> set[str]:
    """The NIC drivers the experiment kernel has built in (kernel.json beside it names
    its tree, and config is its .config)."""
    info = read_json(kernel.parent / "kernel.json")
    return builtin_net_drivers(Path(info["tree_dir"]), (kernel.parent / "config").read_text())
