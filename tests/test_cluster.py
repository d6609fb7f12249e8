"""profiles/slurm's status command (popart.cluster) against a stand-in scontrol; the real
one is tests/test_cluster_e2e.py's."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from popart.cluster import job_state, job_status, status_word

LINE = ("JobId=7 JobName=popcorn-boot_run UserId=root(0) JobState={state} Reason=None "
        "ExitCode=0:0 OverSubscribe=NO")


def fake_scontrol(tmp_path: Path, stdout: str, stderr: str = "", rc: int = 0) -> str:
    """A scontrol that answers every question the same way and records the job asked for."""
    script = tmp_path / "scontrol"
    script.write_text(f"""#!{sys.executable}
import sys
open({str(tmp_path / 'asked')!r}, "w").write(" ".join(sys.argv[1:]))
sys.stdout.write({stdout!r})
sys.stderr.write({stderr!r})
sys.exit({rc})
""")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("state, word", [
    ("PENDING", "running"), ("RUNNING", "running"), ("COMPLETING", "running"),
    ("REQUEUED", "running"), ("SUSPENDED", "running"), ("COMPLETED", "success"),
    ("FAILED", "failed"), ("CANCELLED", "failed"), ("TIMEOUT", "failed"),
    ("NODE_FAIL", "failed"), ("OUT_OF_MEMORY", "failed"), ("PREEMPTED", "failed"),
])
def test_each_slurm_state_is_one_executor_word(state, word):
    assert status_word(job_state(LINE.format(state=state))) == word


def test_a_state_with_flags_is_the_state_before_them():
    assert job_state(LINE.format(state="CANCELLED+")) == "CANCELLED"
    assert job_state("JobId=7 JobName=x") is None


def test_the_cluster_part_of_a_parsable_job_id_is_not_sent(tmp_path):
    scontrol = fake_scontrol(tmp_path, LINE.format(state="COMPLETED") + "\n")
    assert job_status("41;popcorn-test", scontrol) == ("success", "")
    assert (tmp_path / "asked").read_text() == "show job -o 41"


def test_a_job_slurm_forgot_is_failed_and_a_busy_controller_is_asked_again(tmp_path):
    gone = fake_scontrol(tmp_path, "", "slurm_load_jobs error: Invalid job id specified\n", 1)
    word, note = job_status("9", gone)
    assert word == "failed" and "Slurm job 9 is unknown" in note
    busy = fake_scontrol(tmp_path, "", "slurm_load_jobs error: Socket timed out\n", 1)
    word, note = job_status("9", busy)
    assert word == "running" and "Socket timed out" in note


def test_the_profile_script_prints_one_word_and_its_note_on_stderr(tmp_path):
    fake_scontrol(tmp_path, "", "slurm_load_jobs error: Invalid job id specified\n", 1)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    result = subprocess.run([str(REPO / "profiles/slurm/slurm-status.py"), "12"], env=env,
                            capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "failed\n")
    assert result.stderr.startswith("W: Slurm job 12 is unknown to slurmctld")
    usage = subprocess.run([str(REPO / "profiles/slurm/slurm-status.py")], env=env,
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and usage.stdout == ""


def test_a_controller_that_hangs_is_asked_again_at_the_next_poll(tmp_path, monkeypatch):
    hung = tmp_path / "scontrol-hung"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    monkeypatch.setattr("popart.cluster.SCONTROL_TIMEOUT_S", 0.3)
    word, note = job_status("5", str(hung))
    assert word == "running" and "did not answer in 0.3 s" in note


def test_no_scontrol_is_one_error_line(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "profiles/slurm/slurm-status.py"), "3"],
                            env={"PATH": str(tmp_path)}, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "E: scontrol not found: install Slurm's client commands (Debian: slurm-client)"]
