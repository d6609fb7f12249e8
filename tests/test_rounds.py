"""Two sides of a comparison booted in turn by one job, each row with its round."""
from pathlib import Path

import pandas as pd
import pytest

from popart.rounds import alternate, round_dirs, round_of
from popart.tables import net_ratio, web_ratio


def test_sides_boot_in_turn_and_a_stop_ends_the_rounds(tmp_path):
    booted: list[tuple[str, Path]] = []
    alternate(tmp_path, 3, ["kmsg", "smp"], lambda side, d: booted.append((side, d)),
              lambda: False)
    assert [s for s, _ in booted] == ["kmsg", "smp"] * 3
    assert [round_of(d) for _, d in booted] == [1, 1, 2, 2, 3, 3]
    assert booted[3][1] == tmp_path / "round2" / "smp"
    assert [(r, s) for r, s, _ in round_dirs(tmp_path, 2, ["a", "b"])] == [
        (1, "a"), (1, "b"), (2, "a"), (2, "b")]
    stopped: list[str] = []
    alternate(tmp_path, 3, ["a", "b"], lambda side, d: stopped.append(side),
              lambda: len(stopped) == 3)
    assert stopped == ["a", "b", "a"]
    with pytest.raises(ValueError, match="not a round's run folder"):
        round_of(tmp_path / "smp")


def web_rows(rps_by_round: dict[tuple[str, int], float], run_id="r1"):
    return pd.DataFrame([{"system": system, "vcpus": 2, "file_bytes": 1024,
                          "connections": 4, "round": r, "run_id": run_id, "host": "h",
                          "rps": rps, "p99_ms": 1.0, "status": "ok" if rps else "timeout",
                          "accel": "tcg", "timebase": "wall"}
                         for (system, r), rps in rps_by_round.items()])


def test_web_ratios_pair_the_sides_of_one_round_and_keep_failed_rounds():
    web = web_rows({("smp", 1): 100.0, ("multikernel", 1): 50.0,
                    ("smp", 2): 200.0, ("multikernel", 2): None})
    table = web_ratio(web).set_index("round")
    assert table.loc[1, "rps_ratio"] == 0.5 and table.loc[1, "status"] == "ok"
    assert pd.isna(table.loc[2, "rps_ratio"]) and table.loc[2, "status"] == "timeout"
    # another invocation's SMP row never pairs with this one's multikernel row
    mixed = pd.concat([web_rows({("smp", 1): 100.0}, "a"),
                       web_rows({("multikernel", 1): 50.0}, "b")])
    assert web_ratio(mixed)["rps_ratio"].isna().all()


def test_net_ratios_pair_within_a_round():
    rows = []
    for r, (veth, pcn) in enumerate([(1000.0, 500.0), (2000.0, 4000.0)], 1):
        common = {"streams": 1, "round": r, "run_id": "x", "host": "h", "status": "ok",
                  "link_mbit": 100, "accel": "tcg", "timebase": "wall"}
        rows += [{**common, "system": "smp", "path": "ns-ns", "direction": "to_guest",
                  "throughput_mbit": veth},
                 {**common, "system": "multikernel", "path": "primary-secondary",
                  "direction": "to_guest", "throughput_mbit": pcn}]
    table = net_ratio(pd.DataFrame(rows))
    pcn = table[table["comparison"].str.startswith("pcn primary")].set_index("round")
    assert (pcn.loc[1, "ratio"], pcn.loc[2, "ratio"]) == (0.5, 2.0)


def test_a_failed_baseline_gives_its_status_to_the_comparison():
    common = {"streams": 1, "round": 1, "run_id": "x", "host": "h", "link_mbit": 100,
              "accel": "tcg", "timebase": "wall", "direction": "to_guest"}
    net = pd.DataFrame([{**common, "system": "smp", "path": "ns-ns", "status": "timeout",
                         "throughput_mbit": None},
                        {**common, "system": "multikernel", "path": "primary-secondary",
                         "status": "ok", "throughput_mbit": 500.0}])
    pcn = net_ratio(net).iloc[0]
    assert pcn["status"] == "timeout" and pd.isna(pcn["ratio"])
