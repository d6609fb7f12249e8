"""The soak result from a run folder: the receiver's own counts decide."""
import json

from popart.experiments.soak import soak_summary

SOAK = {"mib": 1, "mbit": 100}
DATAGRAMS = -(-(1 << 20) // 1392)


def run_dir(path, received_line: str, sent: int = DATAGRAMS, status: str = "ok"):
    path.mkdir(parents=True, exist_ok=True)
    (path / "status.json").write_text(json.dumps(
        {"status": status, "reason": "", "accel": "tcg", "timebase": "wall", "host_cores": 2,
         "values": {"soak_sent": f"sent={sent} tx_dropped=0"}}))
    (path / "console-k1.log").write_text(f"@@POPCORN:KV soak={received_line}\n")
    return path


def line(**counts) -> str:
    base = {"datagrams": DATAGRAMS, "received": DATAGRAMS, "lost": 0, "duplicated": 0,
            "corrupted": 0, "corrupted_bytes": 0, "bytes": 1 << 20, "elapsed_s": 0.1,
            "mbit": 90.0, "rx_dropped": 0, **counts}
    return " ".join(f"{k}={v}" for k, v in base.items())


def test_a_clean_soak_is_ok_and_losses_are_reported_not_failed(tmp_path):
    assert soak_summary(run_dir(tmp_path / "a", line()), SOAK)["status"] == "ok"
    lossy = soak_summary(run_dir(tmp_path / "b", line(received=DATAGRAMS - 5, lost=5)), SOAK)
    assert lossy["status"] == "ok" and lossy["lost"] == 5


def test_corruption_duplicates_or_a_short_count_are_errors(tmp_path):
    bad = soak_summary(run_dir(tmp_path / "a", line(corrupted=1, corrupted_bytes=3)), SOAK)
    assert bad["status"] == "error" and "1 corrupted (3 bytes)" in bad["reason"]
    short = soak_summary(run_dir(tmp_path / "b", line(), sent=DATAGRAMS - 1), SOAK)
    assert short["status"] == "error" and "expected" in short["reason"]
    silent = soak_summary(run_dir(tmp_path / "c", "nothing"), SOAK)
    assert silent["status"] == "error" and "reported nothing" in silent["reason"]


def test_counts_that_do_not_add_up_are_errors(tmp_path):
    gap = soak_summary(run_dir(tmp_path / "a", line(received=DATAGRAMS - 5, lost=2)), SOAK)
    assert gap["status"] == "error" and "is not the" in gap["reason"]
    more = soak_summary(run_dir(tmp_path / "b", line(), sent=DATAGRAMS - 1), SOAK)
    assert more["status"] == "error" and "more than was sent" in more["reason"]
    assert more["sent"] == DATAGRAMS - 1
