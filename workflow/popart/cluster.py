"""A Slurm job's state for Snakemake's generic cluster executor (profiles/slurm): one
word, running, success or failed, from `scontrol show job`. slurmctld answers it from
memory, so neither accounting (sacct, slurmdbd) nor squeue is needed.

Standard library only: the profile runs it with the submitting host's python3."""
from __future__ import annotations

import subprocess
import sys

# Slurm's job states (squeue(1), JOB STATE CODES) that end well, and those that end at
# all; every other state is a job still on its way (pending, running, completing,
# requeued, suspended, ...).
SUCCEEDED = frozenset({"COMPLETED"})
ENDED_BADLY = frozenset({
    "BOOT_FAIL", "CANCELLED", "DEADLINE", "FAILED", "NODE_FAIL", "OUT_OF_MEMORY",
    "PREEMPTED", "REVOKED", "SPECIAL_EXIT", "TIMEOUT",
})


SCONTROL_TIMEOUT_S = 30


def job_state(scontrol_line: str) -> str | None:
    """JobState of `scontrol show job -o` output; None when it has none. A state may
    carry flags after '+' (CANCELLED+): the state is what comes before."""
    for field in scontrol_line.split():
        key, _, value = field.partition("=")
        if key == "JobState" and value:
            return value.split("+", 1)[0]
    return None


def status_word(state: str) -> str:
    if state in SUCCEEDED:
        return "success"
    if state in ENDED_BADLY:
        return "failed"
    return "running"


def job_status(job_id: str, scontrol: str = "scontrol") -> tuple[str, str]:
    """(word, note): the executor's word for the job and, when it is not simply the
    job's state, why. `sbatch --parsable` may print 'id;cluster'."""
    job = job_id.split(";", 1)[0].strip()
    try:
        result = subprocess.run([scontrol, "show", "job", "-o", job], capture_output=True,
                                text=True, check=False, timeout=SCONTROL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # The executor waits for this command: a hung slurmctld must not stall every poll.
        return "running", f"Slurm job {job}: slurmctld did not answer in {SCONTROL_TIMEOUT_S} s"
    if result.returncode != 0:
        error = result.stderr.strip() or f"{scontrol} exited {result.returncode}"
        if "Invalid job id" in error:
            # Forgotten after MinJobAge, or never known: its end cannot be told good.
            return "failed", f"Slurm job {job} is unknown to slurmctld ({error})"
        # slurmctld busy or restarting: ask again at the next poll.
        return "running", f"Slurm job {job}: no answer from slurmctld yet ({error})"
    state = job_state(result.stdout)
    if state is None:
        return "running", f"Slurm job {job}: no JobState in {result.stdout.strip()!r}"
    return status_word(state), ""


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("E: usage: slurm-status.py JOBID", file=sys.stderr)
        return 2
    try:
        word, note = job_status(argv[0])
    except FileNotFoundError:
        print("E: scontrol not found: install Slurm's client commands (Debian: slurm-client)",
              file=sys.stderr)
        return 1
    if note:
        print(f"W: {note}", file=sys.stderr)
    print(word)
    return 0
