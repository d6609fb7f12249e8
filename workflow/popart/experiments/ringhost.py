"""The message ring compiled for the host and timed on the host's own cores: its round
trip beside a raw shared cache line's, alternating in one run (kernel/ring-host/).

These are real-core figures (accel ``hw``: the machine the pipeline runs on, which may
itself be a virtual machine), unlike everything measured inside an emulated guest.
"""
import os
import subprocess
from pathlib import Path

import pandas as pd

from .. import log
from ..fsutil import atomic_write_text
from ..hostload import HostLoad, summary
from ..hosttools import require
from ..provenance import COLUMNS as PROVENANCE, facts, host_cpu

HARNESS = Path("kernel/ring-host")
RING_SOURCE = Path("kernel/src/arch/x86/kernel/popcorn/ring.c")
ROUND_TRIP_GOAL = 1.3  # the ring's round trip over the raw cache line's
COLUMNS = ["accel", "timebase", "status", "reason", "mechanism", "round", "round_trip_ns",
           "round_trips", "host_cores", *PROVENANCE, "host_load"]


def build(repo: Path, out: Path) -> subprocess.CompletedProcess:
    """The user-space harness around the kernel's own ring.c, optimised as the kernel is."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run([require("gcc"), "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
                           f"-I{repo / HARNESS}", f"-I{(repo / RING_SOURCE).parent}",
                           str(repo / HARNESS / "ring_test.c"), str(repo / RING_SOURCE),
                           "-o", str(out)], capture_output=True, text=True, check=False)


def parse_rounds(text: str) -> list[dict]:
    """`ring_test pingpong` lines: round=R ring_round_trip_ns=X line_round_trip_ns=Y."""
    rounds = []
    for line in text.splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if {"round", "ring_round_trip_ns", "line_round_trip_ns"} <= fields.keys():
            rounds.append({"round": int(fields["round"]),
                           "ring": float(fields["ring_round_trip_ns"]),
                           "cacheline": float(fields["line_round_trip_ns"])})
    return rounds


def rows(rounds: list[dict], expected: int, round_trips: int, output: str,
         host: dict | None = None) -> list[dict]:
    """Two rows per round (ring, cacheline); a run that gave fewer rounds than asked has
    an error row for each missing one."""
    common = {"accel": "hw", "timebase": "wall", "round_trips": round_trips,
              "host_cores": os.cpu_count(), **facts(None, None), "host_load": summary(host)}
    out = []
    for r in range(expected):
        got = next((x for x in rounds if x["round"] == r), None)
        for mech in ("ring", "cacheline"):
            out.append({**common, "status": "ok" if got else "error",
                        "reason": "" if got else f"round {r} missing from: {output[-200:]!r}",
                        "mechanism": mech, "round": r,
                        "round_trip_ns": got[mech] if got else None})
    return out


def _pingpong(binary: Path, round_trips: int, rounds: int) -> str:
    """The harness's output; a hung one is stopped, and says so in what it gave."""
    try:
        result = subprocess.run([str(binary), "pingpong", str(round_trips), str(rounds)],
                                capture_output=True, text=True, check=False,
                                timeout=60 + round_trips * rounds / 1000)
        return result.stdout + result.stderr
    except subprocess.TimeoutExpired as e:
        return f"{e.stdout or ''}timed out after {e.timeout:.0f} s"


def run(repo: Path, round_trips: int, rounds: int, work: Path, csv: Path) -> None:
    """Every round is a row: one that a failed build or run did not give is an error."""
    built = build(repo, work / "ring_test")
    atomic_write_text(work / "build.log", built.stdout + built.stderr)
    host = None
    if built.returncode:
        log.error(f"ring on the host: the harness did not build: see {work / 'build.log'}")
        # The headline last: the rows' reason keeps the output's tail.
        output = f"{built.stderr.strip()}\ngcc failed ({built.returncode}): see build.log"
    else:
        log.info(f"ring on the host: {rounds} rounds of {round_trips} round trips, ring and "
                 f"cache line alternating, on {os.cpu_count()} cores ({host_cpu()})")
        load = HostLoad()
        load.start()
        output = _pingpong(work / "ring_test", round_trips, rounds)
        host = load.finish()
    atomic_write_text(work / "pingpong.out", output)
    df = pd.DataFrame(rows(parse_rounds(output), rounds, round_trips, output, host), columns=COLUMNS)
    atomic_write_text(csv, df.to_csv(index=False))


def ratio_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per round, the ring's round trip over the cache line's (a failed round stays, with
    its status), then the median, min and max over the ok rounds, against the goal."""
    out = []
    for r, group in df.groupby("round"):
        by = {row.mechanism: row for row in group.itertuples(index=False)}
        ok = set(by) == {"ring", "cacheline"} and all(x.status == "ok" for x in by.values())
        ns = {m: by[m].round_trip_ns if m in by else None for m in ("ring", "cacheline")}
        out.append({"round": str(r), "status": "ok" if ok else "error",
                    "ring_ns": ns["ring"], "cacheline_ns": ns["cacheline"],
                    "ratio": ns["ring"] / ns["cacheline"] if ok else None})
    good = pd.Series([x["ratio"] for x in out if x["status"] == "ok"], dtype=float)
    for name in ("median", "min", "max"):
        out.append({"round": name, "status": "ok" if len(good) else "error",
                    "ratio": getattr(good, name)() if len(good) else None})
    table = pd.DataFrame(out, columns=["round", "status", "ring_ns", "cacheline_ns", "ratio"])
    return table.assign(goal=ROUND_TRIP_GOAL, accel="hw", timebase="wall")
