"""Run folders to tidy CSVs (and the summaries of stress and soak)."""
import argparse
import json
from pathlib import Path

import pandas as pd

from .. import log
from ..fsutil import atomic_write_json, atomic_write_text, read_json



def msg_csv(a: argparse.Namespace) -> None:
    from ..experiments.msg import (LATENCY_COLUMNS, SAMPLE_COLUMNS, THROUGHPUT_COLUMNS,
                                  fanin_rows, latency_rows, stream_rows)
    msg = json.loads(a.msg)
    latency, samples, throughput = [], [], []
    for r in range(1, msg["rounds"] + 1):  # kmsg and smp of one round side by side
        runs = {side: Path(a.rounds_root) / f"round{r}" / side for side in ("kmsg", "smp")}
        rows, raw = latency_rows(runs, msg["payloads"], msg["pings"], msg["modes"],
                                 msg["baselines"])
        latency += [{**row, "round": r} for row in rows]
        samples += [{**row, "round": r} for row in raw]
        throughput += [{**row, "round": r} for row in stream_rows(
            runs["kmsg"], msg["payloads"], msg["stream_repetitions"], msg["modes"])]
    # all-to-one comes from the stress boot, outside the rounds (no baseline to pair)
    throughput += fanin_rows(Path(a.stress_run), msg["stream_repetitions"],
                             msg["fanin_payload"])
    atomic_write_text(a.samples, pd.DataFrame(samples, columns=SAMPLE_COLUMNS).to_csv(index=False))
    atomic_write_text(a.throughput, pd.DataFrame(throughput, columns=THROUGHPUT_COLUMNS)
                      .astype({"round": "Int64"}).to_csv(index=False))  # fan-in: no round
    atomic_write_text(a.latency, pd.DataFrame(latency, columns=LATENCY_COLUMNS).to_csv(index=False))


def msg_stress(a: argparse.Namespace) -> None:
    from ..experiments.msg import STRESS_CSV_COLUMNS, stress_summary
    msg = json.loads(a.msg)
    summary = stress_summary(Path(a.run_dir), msg["stress_messages"], msg["stress_malformed"])
    atomic_write_json(a.json, summary)
    atomic_write_text(a.csv, pd.DataFrame([summary], columns=STRESS_CSV_COLUMNS)
                      .to_csv(index=False))


def net_csv(a: argparse.Namespace) -> None:
    from ..experiments.net import LINKS_COLUMNS, NET_COLUMNS, link_rows, net_rows
    from ..rounds import round_of
    net, link = json.loads(a.net), read_json(a.link)
    runs = [pair.split("=", 1) for pair in a.runs]  # side=run folder
    rows = [{**row, "round": round_of(Path(run_dir))} for side, run_dir in runs
            for row in net_rows(Path(run_dir), side, net, link)]
    atomic_write_text(a.out, pd.DataFrame(rows, columns=NET_COLUMNS).to_csv(index=False))
    links = [{**row, "round": round_of(Path(run_dir))} for side, run_dir in runs
             for row in link_rows(Path(run_dir), side, net)]
    atomic_write_text(a.links, pd.DataFrame(links, columns=LINKS_COLUMNS).to_csv(index=False))


def web_csv(a: argparse.Namespace) -> None:
    from ..experiments.web import WEB_COLUMNS, web_rows
    from ..rounds import round_of
    web, link = json.loads(a.web), read_json(a.link)
    rows = [{**row, "round": round_of(Path(p))} for p in a.runs
            for row in web_rows([Path(p)], web, link)]
    atomic_write_text(a.out, pd.DataFrame(rows, columns=WEB_COLUMNS).to_csv(index=False))


def migrate_csv(a: argparse.Namespace) -> None:
    from ..experiments.migrate import migrate_rows, migrate_samples
    from ..tables import check_common_columns
    run_dir = Path(a.run_dir)
    samples = migrate_samples(run_dir, json.loads(a.migrate))
    rows = migrate_rows(samples, read_json(run_dir / "status.json"))
    check_common_columns(rows, a.csv)
    atomic_write_text(Path(a.samples), samples.to_csv(index=False))
    atomic_write_text(Path(a.csv), rows.to_csv(index=False))
    log.info(f"migrate: {len(rows)} rows, {int((rows['status'] == 'ok').sum())} ok")


def soak_summary(a: argparse.Namespace) -> None:
    from ..experiments.soak import SOAK_COLUMNS, soak_summary
    summary = soak_summary(Path(a.run_dir), json.loads(a.soak))
    atomic_write_json(a.json, summary)
    atomic_write_text(a.csv, pd.DataFrame([summary], columns=SOAK_COLUMNS).to_csv(index=False))


def multikernel_csv(a: argparse.Namespace) -> None:
    from ..experiments.multikernel import (COLUMNS, PARTITION_COLUMNS, all_up_s,
                                           multikernel_rows, partition_check, partition_row)
    secondaries = json.loads(a.multikernel)["secondaries"]
    rows = multikernel_rows(Path(a.run_dir), secondaries)
    partition = partition_check(rows, secondaries + 1)
    status = read_json(Path(a.run_dir) / "status.json")
    atomic_write_json(a.partition, {**partition, "all_up_s": all_up_s(status.get("values", {})),
                                    "accel": rows[0]["accel"], "timebase": rows[0]["timebase"]})
    check = pd.DataFrame([partition_row(partition, status)], columns=PARTITION_COLUMNS)
    atomic_write_text(a.partition_csv, check.to_csv(index=False))
    atomic_write_text(a.out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))


def boot_csv(a: argparse.Namespace) -> None:
    from ..experiments.boot import COLUMNS, boot_row
    boot = json.loads(a.boot)
    kernel_info = read_json(a.kernel_info)
    rows = [boot_row(Path(s), run, boot, kernel_info) for run, s in enumerate(a.status, 1)]
    atomic_write_text(a.out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))
