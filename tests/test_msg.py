"""Messaging benchmark rows, from run outputs: every case a row, failed runs included."""
import json

import pandas as pd

from popart.experiments.msg import (copy_ratio_table, latency_cases, latency_rows, ratio_table,
                                    throughput_rows)

PAYLOADS = [8, 64]
PINGS = 3


def write_run(path, status="ok", values=None):
    path.mkdir(parents=True, exist_ok=True)
    (path / "status.json").write_text(json.dumps(
        {"status": status, "reason": "" if status == "ok" else "no end marker", "accel": "tcg",
         "timebase": "wall", "host_cores": 2, "values": values or {}}))
    return path


def figures(cases, system):
    values = {"mode_ipi_rc": "0", "mode_poll_rc": "0"} if system == "kmsg" else {}
    for mech, mode, payload, where in cases:
        if where == system:
            key = f"{mech}_{mode}_{payload}"
            # the baselines 4 times slower than kmsg: an inverted ratio shows
            scale = 1000 if system == "kmsg" else 4000
            values[f"lat_{key}"] = (f"p50_ns={scale * payload} p99_ns={3 * scale * payload} "
                                    f"samples={PINGS}")
            values[f"raw_{key}"] = "900;1000;3000"
    return values


def test_every_case_is_a_row_with_its_samples(tmp_path):
    cases = latency_cases(PAYLOADS)
    runs = {"kmsg": write_run(tmp_path / "kmsg", values=figures(cases, "kmsg")),
            "smp": write_run(tmp_path / "smp", values=figures(cases, "smp"))}
    rows, samples = latency_rows(runs, PAYLOADS, PINGS)
    assert len(rows) == len(cases) == 2 * 2 + 2 * 2 + 2
    assert {r["status"] for r in rows} == {"ok"}
    assert {(r["mechanism"], r["mode"]) for r in rows} == {
        ("kmsg", "ipi"), ("kmsg", "poll"), ("pipe", "blocking"), ("unix", "blocking"),
        ("eventfd", "blocking"), ("cacheline", "spin")}
    assert len(samples) == 3 * len(rows) and samples[0]["ns"] == 900


def test_a_failed_run_gives_its_rows_that_status_and_a_missing_figure_is_an_error(tmp_path):
    cases = latency_cases(PAYLOADS)
    partial = figures(cases, "kmsg")
    del partial["lat_kmsg_poll_64"]
    runs = {"kmsg": write_run(tmp_path / "kmsg", values=partial),
            "smp": write_run(tmp_path / "smp", status="timeout")}
    rows, _ = latency_rows(runs, PAYLOADS, PINGS)
    by_case = {(r["mechanism"], r["mode"], r["payload_bytes"]): r for r in rows}
    assert by_case[("kmsg", "poll", 64)]["status"] == "error"
    assert "lat_kmsg_poll_64" in by_case[("kmsg", "poll", 64)]["reason"]
    assert by_case[("pipe", "blocking", 8)]["status"] == "timeout"
    assert by_case[("pipe", "blocking", 8)]["p50_ns"] is None
    assert by_case[("kmsg", "ipi", 8)]["status"] == "ok"


def test_a_mode_switch_that_failed_makes_that_modes_rows_errors(tmp_path):
    cases = latency_cases(PAYLOADS)
    values = {**figures(cases, "kmsg"), "mode_poll_rc": "1"}
    runs = {"kmsg": write_run(tmp_path / "kmsg", values=values),
            "smp": write_run(tmp_path / "smp", values=figures(cases, "smp"))}
    rows, _ = latency_rows(runs, PAYLOADS, PINGS)
    poll = [r for r in rows if r["mode"] == "poll"]
    assert {r["status"] for r in poll} == {"error"}
    assert "mode_poll_rc=1" in poll[0]["reason"]
    assert {r["status"] for r in rows if r["mode"] != "poll"} == {"ok"}
    values.update({"tput_kmsg_poll_8_1": "msgs_per_s=5 mb_per_s=0.1",
                   "tput_kmsg_ipi_8_1": "msgs_per_s=5 mb_per_s=0.1"})
    rows = throughput_rows(write_run(tmp_path / "k2", values=values), [8], 1,
                           write_run(tmp_path / "stress"), 256)
    rows = [r for r in rows if r["mechanism"] == "kmsg"]
    assert [(r["mode"], r["pattern"], r["status"]) for r in rows[:2]] == [
        ("ipi", "one_to_one", "ok"), ("poll", "one_to_one", "error")]


def test_throughput_rows_and_ratios(tmp_path):
    values = {"tput_kmsg_ipi_8_1": "elapsed_ns=10 msgs_per_s=2000 mb_per_s=0.016",
              "tput_kmsg_ipi_8_2": "elapsed_ns=10 msgs_per_s=1000 mb_per_s=0.008",
              "tput_kmsg_ipi_8_3": "elapsed_ns=10 msgs_per_s=9000 mb_per_s=0.072",
              "tput_kmsg_poll_8_1": "elapsed_ns=10 msgs_per_s=5 mb_per_s=0.1",
              "mode_ipi_rc": "0", "mode_poll_rc": "0"}
    fanin = {f"fanin_{n}_{r}": f"senders={n} span_ns=5 msgs_per_s={100 * n + r} mb_per_s=0.1"
             for n in (1, 2) for r in (1, 2, 3)}
    rows = throughput_rows(write_run(tmp_path / "kmsg", values=values), [8], 3,
                           write_run(tmp_path / "stress", values=fanin), 256)
    assert [r["mechanism"] for r in rows[:4]] == ["kmsg", "memcpy", "kmsg", "memcpy"]
    rows = [r for r in rows if r["mechanism"] == "kmsg"]
    assert rows[0]["msgs_per_s"] == 2000 and rows[0]["senders"] == 1  # the median of 3
    assert (rows[0]["samples"], rows[0]["msgs_per_s_min"], rows[0]["msgs_per_s_max"]) == (
        3, 1000, 9000)
    assert rows[1]["mode"] == "poll" and rows[1]["status"] == "error"
    assert "1 of 3 runs" in rows[1]["reason"]
    assert [(r["pattern"], r["senders"], r["payload_bytes"], r["status"]) for r in rows[2:]] == [
        ("all_to_one", 1, 256, "ok"), ("all_to_one", 2, 256, "ok"),
        ("all_to_one", 3, 256, "error")]
    assert (rows[3]["msgs_per_s"], rows[3]["samples"]) == (202, 3)  # the median of 3
    assert rows[0]["pattern"] == "one_to_one"
    cases = latency_cases(PAYLOADS)
    runs = {s: write_run(tmp_path / f"r{s}", values=figures(cases, s)) for s in ("kmsg", "smp")}
    ratios = ratio_table(pd.DataFrame(latency_rows(runs, PAYLOADS, PINGS)[0]))
    # pipe and unix at both payloads, eventfd and cacheline at 8 bytes, for both modes.
    assert len(ratios) == 2 * (2 * 2 + 2)
    assert (ratios["ratio_p50"] == 0.25).all() and (ratios["status"] == "ok").all()


def test_a_failed_comparison_stays_a_row_and_only_one_runs_rows_pair(tmp_path):
    cases = latency_cases(PAYLOADS)
    kmsg = figures(cases, "kmsg")
    kmsg["lat_kmsg_poll_64"] = "p50_ns=1 p99_ns=2 samples=2"  # 2 samples of 3 pings
    runs = {"kmsg": write_run(tmp_path / "kmsg", values=kmsg),
            "smp": write_run(tmp_path / "smp", status="timeout")}
    latency = pd.DataFrame(latency_rows(runs, PAYLOADS, PINGS)[0])
    short = latency[(latency["mode"] == "poll") & (latency["payload_bytes"] == 64)]
    assert list(short["status"]) == ["error"] and "2 samples of 3" in short["reason"].iloc[0]
    ratios = ratio_table(latency)
    assert len(ratios) == 2 * (2 * 2 + 2) and set(ratios["status"]) == {"timeout", "error"}
    assert ratios["ratio_p50"].isna().all()
    # Rows of another invocation are never paired with this one's.
    ok = {s: write_run(tmp_path / f"ok{s}", values=figures(cases, s)) for s in ("kmsg", "smp")}
    latency = pd.DataFrame(latency_rows(ok, PAYLOADS, PINGS)[0])
    latency["run_id"] = latency["mechanism"].map(lambda m: "a" if m == "kmsg" else "b")
    assert ratio_table(latency).empty


def test_copy_ratios_pair_each_stream_with_memcpy_and_keep_failed_cases(tmp_path):
    values = {"mode_ipi_rc": "0", "mode_poll_rc": "0"}
    for r in (1, 2):
        values[f"tput_kmsg_ipi_4096_{r}"] = "msgs_per_s=10 mb_per_s=40.0"
        values[f"tput_memcpy_ipi_4096_{r}"] = "msgs_per_s=50 mb_per_s=200.0"
        values[f"tput_kmsg_poll_4096_{r}"] = "msgs_per_s=30 mb_per_s=120.0"
    rows = throughput_rows(write_run(tmp_path / "kmsg", values=values), [4096], 2,
                           write_run(tmp_path / "stress"), 256)
    table = copy_ratio_table(pd.DataFrame(rows)).set_index("mode")
    # kmsg over memcpy, not the other way round: 40 / 200.
    assert table.loc["ipi", "ratio"] == 0.2 and table.loc["ipi", "status"] == "ok"
    assert table.loc["ipi", "goal"] == 0.5
    # poll's memcpy runs are missing: the case stays, as an error, with no ratio.
    assert table.loc["poll", "status"] == "error" and pd.isna(table.loc["poll", "ratio"])


def stress_line(kernel, sent, received, injected, rejected, **extra):
    """One kernel's stress-stats line: the same counts with every other kernel, except
    extra={count name: (peer, value)}."""
    per_peer = {name: ["0"] * 8 for name in ("sent", "send_errors", "injected", "received",
                                             "lost", "duplicated", "corrupted", "rejected")}
    for peer in range(4):
        if peer != kernel:
            per_peer["sent"][peer], per_peer["received"][peer] = str(sent), str(received)
            per_peer["injected"][peer], per_peer["rejected"][peer] = str(injected), str(rejected)
    for name, (peer, value) in extra.items():
        per_peer[name.removesuffix("_")][peer] = str(value)
    return f"kernel={kernel} running=0 " + " ".join(f"{k}={';'.join(v)}"
                                                    for k, v in per_peer.items())


def test_a_clean_stress_run_passes_and_sums_every_pair(tmp_path):
    from popart.experiments.msg import stress_summary
    values = {f"stress_k{k}": stress_line(k, 100, 100, 5, 5) for k in range(4)}
    summary = stress_summary(write_run(tmp_path, values=values), 100, 5)
    assert summary["status"] == "ok", summary["reason"]
    assert len(summary["pairs"]) == 12 and summary["sent"] == summary["received"] == 1200
    assert (summary["lost"], summary["duplicated"], summary["corrupted"]) == (0, 0, 0)
    assert summary["malformed_injected"] == summary["malformed_rejected"] == 60


def test_stress_problems_fail_the_run_with_the_reason(tmp_path):
    from popart.experiments.msg import stress_summary
    values = {f"stress_k{k}": stress_line(k, 100, 100, 5, 5) for k in range(4)}
    values["stress_k2"] = stress_line(2, 100, 100, 5, 5, received_=(1, 97), corrupted=(3, 2),
                                      rejected_=(0, 4))
    summary = stress_summary(write_run(tmp_path, values=values), 100, 5)
    assert summary["status"] == "error"
    assert summary["lost"] == 3 and summary["corrupted"] == 2
    assert "3 lost" in summary["reason"] and "59 malformed rejected of 60" in summary["reason"]
    del values["stress_k3"]
    missing = stress_summary(write_run(tmp_path / "m", values=values), 100, 5)
    assert missing["status"] == "error" and "kernels [3]" in missing["reason"]


def test_more_received_than_sent_is_an_error_not_a_clamped_zero(tmp_path):
    from popart.experiments.msg import stress_summary
    values = {f"stress_k{k}": stress_line(k, 100, 100, 5, 5) for k in range(4)}
    values["stress_k2"] = stress_line(2, 100, 97, 5, 5, received_=(1, 103))
    summary = stress_summary(write_run(tmp_path, values=values), 100, 5)
    pair = next(p for p in summary["pairs"] if (p["from"], p["to"]) == (1, 2))
    assert (pair["lost"], pair["excess"]) == (0, 3)
    assert (summary["lost"], summary["excess"]) == (6, 3)  # never offset against each other
    assert summary["status"] == "error"
    assert "6 lost" in summary["reason"]
    assert "kernel 2 received 103 distinct messages from kernel 1, which sent 100" in (
        summary["reason"])


def test_a_subset_of_modes_and_baselines_under_icount(tmp_path):
    from pathlib import Path

    from popart.experiments.msg import msg_machine
    assert latency_cases([8, 1024], ["ipi"], ["pipe", "eventfd"]) == [
        ("kmsg", "ipi", 8, "kmsg"), ("kmsg", "ipi", 1024, "kmsg"),
        ("pipe", "blocking", 8, "smp"), ("pipe", "blocking", 1024, "smp"),
        ("eventfd", "blocking", 8, "smp")]
    qemu = {"accel": "tcg", "append": "quiet", "cpu": "max", "icount": 3, "machine": "pc"}
    msg = {"pings": 5, "stream_messages": 5, "stream_repetitions": 1, "payloads": [8],
           "modes": ["ipi"], "baselines": ["pipe"], "timebase": "icount",
           "stress_messages": 5, "stress_malformed": 1, "fanin_messages": 5,
           "fanin_payload": 8}
    config = {"qemu": qemu, "experiments": {"msg": msg}}
    kmsg = msg_machine(config, Path("k"), Path("i"), "tcg", "kmsg")
    assert kmsg.icount == 3 and "popcorn.modes=ipi popcorn.baselines=pipe" in kmsg.cmdline
    assert msg_machine(config, Path("k"), Path("i"), "tcg", "stress").icount is None
    msg["timebase"] = "wall"
    assert msg_machine(config, Path("k"), Path("i"), "tcg", "smp").icount is None
