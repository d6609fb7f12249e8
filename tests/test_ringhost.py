"""The ring on the host's own cores: rounds parsed, missing ones kept as error rows, and
the ratio of ring to cache line per round and over the rounds."""
import pandas as pd

from popart.experiments import ringhost
from popart.experiments.ringhost import parse_rounds, ratio_table, rows

OUTPUT = ("round=0 ring_round_trip_ns=150.0 line_round_trip_ns=100.0\n"
          "round=1 ring_round_trip_ns=260.0 line_round_trip_ns=200.0\n")


def test_rounds_become_rows_and_a_missing_round_is_an_error():
    got = rows(parse_rounds(OUTPUT), 3, 1000, OUTPUT)
    assert [(r["mechanism"], r["round"], r["status"]) for r in got] == [
        ("ring", 0, "ok"), ("cacheline", 0, "ok"), ("ring", 1, "ok"), ("cacheline", 1, "ok"),
        ("ring", 2, "error"), ("cacheline", 2, "error")]
    assert got[0]["round_trip_ns"] == 150.0 and got[1]["round_trip_ns"] == 100.0
    assert got[4]["round_trip_ns"] is None and "round 2 missing" in got[4]["reason"]
    assert {r["accel"] for r in got} == {"hw"} and {r["timebase"] for r in got} == {"wall"}


def test_ratio_is_ring_over_cache_line_per_round_with_median_and_range():
    table = ratio_table(pd.DataFrame(rows(parse_rounds(OUTPUT), 3, 1000, OUTPUT)))
    by = table.set_index("round")
    assert by.loc["0", "ratio"] == 1.5 and by.loc["1", "ratio"] == 1.3
    assert by.loc["2", "status"] == "error" and pd.isna(by.loc["2", "ratio"])
    assert (by.loc["median", "ratio"], by.loc["min", "ratio"], by.loc["max", "ratio"]) == (
        1.4, 1.3, 1.5)
    assert (table["goal"] == 1.3).all()


def test_a_harness_that_does_not_build_gives_error_rows_and_keeps_its_log(tmp_path):
    repo = tmp_path / "repo"
    harness = repo / ringhost.HARNESS
    harness.mkdir(parents=True)
    (harness / "ring_test.c").write_text("this is not C\n")
    (repo / ringhost.RING_SOURCE).parent.mkdir(parents=True)
    (repo / ringhost.RING_SOURCE).write_text("")
    csv = tmp_path / "ring_host.csv"
    ringhost.run(repo, 1000, 2, tmp_path / "work", csv)
    df = pd.read_csv(csv)
    assert len(df) == 4 and set(df["status"]) == {"error"}
    assert df["reason"].str.contains("gcc failed").all()
    assert "error" in (tmp_path / "work/build.log").read_text()
