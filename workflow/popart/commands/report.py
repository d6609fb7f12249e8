"""Tidy CSVs to tables and plots, the failures table and the final check."""
import argparse
from pathlib import Path

import pandas as pd

from .. import log
from ..errors import PopartError



def msg_report(a: argparse.Namespace) -> None:
    from ..experiments.msg import copy_ratio_table, ratio_table
    from ..plots import msg_latency_plot, msg_throughput_plot
    from ..tables import check_common_columns, write_table
    latency, throughput = pd.read_csv(a.latency), pd.read_csv(a.throughput)
    check_common_columns(latency, a.latency)
    check_common_columns(throughput, a.throughput)
    tables = Path(a.tables)
    write_table(latency.drop(columns=["reason"]), tables / "msg_latency")
    write_table(ratio_table(latency), tables / "msg_ratio")
    write_table(throughput.drop(columns=["reason"]), tables / "msg_throughput")
    write_table(copy_ratio_table(throughput), tables / "msg_copy_ratio")
    msg_latency_plot(latency, Path(a.latency_plot))
    msg_throughput_plot(throughput, Path(a.throughput_plot))


def ring_host_report(a: argparse.Namespace) -> None:
    from ..experiments.ringhost import ratio_table
    from ..tables import check_common_columns, write_table
    df = pd.read_csv(a.csv)
    check_common_columns(df, a.csv)
    write_table(ratio_table(df), Path(a.table))


def net_report(a: argparse.Namespace) -> None:
    from ..plots import net_plot, web_plot
    from ..tables import check_common_columns, net_ratio, web_ratio, write_table
    frames = {"net": pd.read_csv(a.net)} if a.net else {}
    if a.web:
        frames["web"] = pd.read_csv(a.web)
    for name, df in frames.items():
        check_common_columns(df, name)
        write_table(df.drop(columns=["reason"]), Path(a.tables) / name)
    if "net" in frames:
        write_table(net_ratio(frames["net"]), Path(a.tables) / "net_ratio")
        net_plot(frames["net"], Path(a.net_plot))
    if "web" in frames:
        write_table(web_ratio(frames["web"]), Path(a.tables) / "web_ratio")
        web_plot(frames["web"], Path(a.web_plot))


def migrate_report(a: argparse.Namespace) -> None:
    from ..experiments.migrate import migrate_ratio
    from ..plots import migrate_plot
    from ..tables import write_table
    df = pd.read_csv(a.csv)
    write_table(df, Path(a.tables) / "migrate")
    write_table(migrate_ratio(df), Path(a.tables) / "migrate_ratio")
    migrate_plot(df, Path(a.plot))


def multikernel_report(a: argparse.Namespace) -> None:
    from ..plots import multikernel_plot
    from ..tables import check_common_columns, write_table
    mk = pd.read_csv(a.csv)
    check_common_columns(mk, a.csv)
    write_table(mk.drop(columns=["mem_ranges"]), Path(a.table))
    multikernel_plot(mk, Path(a.plot))


def boot_report(a: argparse.Namespace) -> None:
    from ..plots import boot_plot
    from ..tables import boot_summary, check_common_columns, write_table
    boot = pd.read_csv(a.csv)
    check_common_columns(boot, a.csv)
    write_table(boot_summary(boot), Path(a.table))
    boot_plot(boot, Path(a.plot))


def tidy_pairs(pairs: list[str]) -> dict[str, pd.DataFrame]:
    """experiment=path pairs -> frames."""
    return {name: pd.read_csv(path) for name, path in (p.split("=", 1) for p in pairs)}


def failures(a: argparse.Namespace) -> None:
    from ..tables import failures, write_table
    write_table(failures(tidy_pairs(a.csv)), Path(a.table))


def check_results(a: argparse.Namespace) -> None:
    """Fails when the failures table (written after every run) has rows."""
    try:
        bad = pd.read_csv(a.failures)
    except FileNotFoundError:
        raise PopartError(f"{a.failures}: missing; the pipeline did not finish") from None
    for row in bad.itertuples(index=False):
        log.error(f"{row.experiment}: {row.status}: {row.reason}")
    if len(bad):
        raise PopartError(f"{len(bad)} result rows are not ok: see {a.failures} and the report")
    log.info("every result row is ok")
    if a.out:
        from ..fsutil import atomic_write_text
        atomic_write_text(a.out, "every result row is ok\n")
