"""A one-node Slurm cluster for the cluster test (tests/test_cluster_e2e.py): Debian's
munged, slurmctld and slurmd, started as root with a slurm.conf written here, on ports
free on this machine, everything (key, sockets, state, logs) in one directory. No
accounting: the profile's status command asks slurmctld itself (popart.cluster)."""
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from popart.hosttools import require

PARTITION = "popcorn"
# Finished jobs stay known to slurmctld this long (seconds): the test reads them back.
MIN_JOB_AGE_S = 3600


def free_ports(count: int) -> list[int]:
    """Ports free on loopback, all different: each socket stays bound until all are."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def usable_cpus() -> int:
    """What slurmd and `snakemake --cores all` count: the CPUs this process may run on."""
    return len(os.sched_getaffinity(0))


def slurm_conf(d: Path, host: str, cpus: int, ctld_port: int, slurmd_port: int) -> str:
    # Loopback addresses: the host name need not resolve (in a container it may not).
    return f"""\
ClusterName=popcorn-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={d}/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge={MIN_JOB_AGE_S}
StateSaveLocation={d}/ctld-state
SlurmdSpoolDir={d}/slurmd-spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


def _stop(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _wait_idle(env: dict[str, str], d: Path, limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    state = ""
    while time.monotonic() < end:
        result = subprocess.run([require("sinfo"), "-h", "-o", "%T"], env=env,
                                capture_output=True, text=True, check=False)
        state = (result.stdout + result.stderr).strip()
        if state == "idle":
            return
        time.sleep(0.5)
    logs = "\n".join(p.read_text()[-1500:] for p in (d / "slurmctld.log", d / "slurmd.log")
                     if p.exists())
    raise RuntimeError(f"one-node Slurm not idle after {limit_s:.0f} s (sinfo: {state!r})\n"
                       f"{logs}")


def _cancel_all(env: dict[str, str], limit_s: float = 30) -> None:
    """No job of a failed or interrupted test outlives the cluster (its QEMU with it)."""
    subprocess.run([require("scancel"), f"--partition={PARTITION}"], env=env,
                   capture_output=True, check=False)
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        queue = subprocess.run([require("squeue"), "-h", "-o", "%i"], env=env,
                               capture_output=True, text=True, check=False)
        if queue.returncode != 0 or not queue.stdout.strip():
            return
        time.sleep(0.5)


@contextmanager
def one_node_cluster(d: Path) -> Iterator[dict[str, str]]:
    """Starts the cluster in directory d; yields the environment its commands (sbatch,
    scontrol, snakemake with profiles/slurm) need; stops every daemon after."""
    if os.geteuid() != 0:
        raise RuntimeError("the one-node Slurm cluster runs its daemons as root")
    for sub in ("ctld-state", "slurmd-spool"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    d.chmod(0o700)  # munged refuses a key or socket directory others could write
    host = socket.gethostname().split(".")[0]
    conf = d / "slurm.conf"
    conf.write_text(slurm_conf(d, host, usable_cpus(), *free_ports(2)))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run([require("mungekey"), "--create", "--force", "--keyfile", str(d / "munge.key")],
                   check=True, capture_output=True)
    daemons = [d / "slurmd.pid", d / "slurmctld.pid", d / "munged.pid"]
    try:
        subprocess.run([require("munged"), "--force", "--key-file", str(d / "munge.key"),
                        "--socket", str(d / "munge.sock"), "--pid-file", str(d / "munged.pid"),
                        "--log-file", str(d / "munged.log"), "--seed-file", str(d / "munge.seed")],
                       check=True, capture_output=True)
        subprocess.run([require("slurmctld")], env=env, check=True, capture_output=True)
        subprocess.run([require("slurmd")], env=env, check=True, capture_output=True)
        _wait_idle(env, d)
        yield env
    finally:
        if (d / "slurmctld.pid").exists():
            _cancel_all(env)
        for pid_file in daemons:
            _stop(pid_file)

