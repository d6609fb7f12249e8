"""``python -m popart <command>``: what the Snakemake rules call. One command per step;
user errors print one ``E:`` line and exit 1, our own bugs keep their traceback."""
import argparse
import json
import signal
import sys
from pathlib import Path

import pandas as pd

from . import log
from .errors import PopartError
from .fsutil import atomic_write_json, atomic_write_text, read_json
from .paths import REPO, cache_root


def cmd_kernel_source(a: argparse.Namespace) -> None:
    from .kernel.source import select_source
    info = select_source(json.loads(a.source), cache_root() / "downloads")
    atomic_write_json(a.out, info.to_dict())


def cmd_kernel_build(a: argparse.Namespace) -> None:
    from .kernel.build import build_kernel
    info = build_kernel(json.loads(a.kernel), Path(a.source), REPO, Path(a.out_dir), a.jobs)
    log.info(f"kernel: {info['kernel_release']} identity {info['identity']}")


def cmd_initramfs(a: argparse.Namespace) -> None:
    from .initramfs import build_initramfs
    tree = Path(read_json(a.kernel_info)["tree_dir"])
    out = Path(a.out)
    build_initramfs(Path(a.guest), tree, Path(a.kernel), REPO / "kernel/src/include/uapi", out,
                    out.parent / "work")


def cmd_accel(a: argparse.Namespace) -> None:
    from .accel import resolve_accel
    from .targets.qemu import QemuTarget
    choice = resolve_accel(json.loads(a.qemu), Path(a.kernel), Path(a.initrd),
                           Path(a.probe_dir), QemuTarget(a.qemu_binary))
    atomic_write_json(a.out, choice)


def _run_on_target(a: argparse.Namespace, run) -> None:
    """One experiment run: the accelerator chosen earlier, the target, the run folder."""
    from .targets.qemu import QemuTarget
    accel = read_json(a.accel)["accel"]
    run(json.loads(a.config), Path(a.kernel), Path(a.initrd), accel, Path(a.run_dir),
        QemuTarget(a.qemu_binary))


def cmd_boot_run(a: argparse.Namespace) -> None:
    from .experiments.boot import run_boot
    _run_on_target(a, run_boot)


def cmd_multikernel_run(a: argparse.Namespace) -> None:
    from .experiments.multikernel import run_multikernel
    _run_on_target(a, run_multikernel)


def cmd_interactive_command(a: argparse.Namespace) -> None:
    """A script that starts the multikernel machine with its console on the terminal."""
    import shlex
    from .experiments.multikernel import multikernel_machine
    from .hosttools import require
    from .targets.qemu import interactive_argv
    m = multikernel_machine(json.loads(a.config), Path(a.kernel).resolve(),
                            Path(a.initrd).resolve(), read_json(a.accel)["accel"], "shell")
    argv = interactive_argv(require("qemu-system-x86_64"), m)
    atomic_write_text(a.out, "#!/bin/sh\n"
                      f"# {m.vcpus} vCPUs, {m.mem_mib} MiB, {m.accel}. Ctrl-a x quits QEMU.\n"
                      f"exec {shlex.join(argv)}\n")


def cmd_msg_run(a: argparse.Namespace) -> None:
    from .experiments.msg import run_msg
    _run_on_target(a, lambda *args: run_msg(*args, system=a.system))


def cmd_msg_csv(a: argparse.Namespace) -> None:
    from .experiments.msg import (LATENCY_COLUMNS, SAMPLE_COLUMNS, THROUGHPUT_COLUMNS,
                                  latency_rows, throughput_rows)
    msg = json.loads(a.msg)
    runs = {"kmsg": Path(a.kmsg_run), "smp": Path(a.smp_run)}
    latency, samples = latency_rows(runs, msg["payloads"])
    throughput = throughput_rows(runs["kmsg"], msg["payloads"], msg["stream_repetitions"],
                                 Path(a.stress_run), msg["fanin_payload"])
    atomic_write_text(a.samples, pd.DataFrame(samples, columns=SAMPLE_COLUMNS).to_csv(index=False))
    atomic_write_text(a.throughput, pd.DataFrame(throughput, columns=THROUGHPUT_COLUMNS)
                      .to_csv(index=False))
    atomic_write_text(a.latency, pd.DataFrame(latency, columns=LATENCY_COLUMNS).to_csv(index=False))


def cmd_msg_stress(a: argparse.Namespace) -> None:
    from .experiments.msg import STRESS_CSV_COLUMNS, stress_summary
    msg = json.loads(a.msg)
    summary = stress_summary(Path(a.run_dir), msg["stress_messages"], msg["stress_malformed"])
    atomic_write_json(a.json, summary)
    atomic_write_text(a.csv, pd.DataFrame([summary], columns=STRESS_CSV_COLUMNS)
                      .to_csv(index=False))


def cmd_msg_report(a: argparse.Namespace) -> None:
    from .experiments.msg import copy_ratio_table, ratio_table
    from .plots import msg_latency_plot, msg_throughput_plot
    from .tables import check_common_columns, write_table
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


def cmd_ring_host_run(a: argparse.Namespace) -> None:
    from .experiments.ringhost import run
    run(REPO, a.round_trips, a.rounds, Path(a.work), Path(a.csv))


def cmd_ring_host_report(a: argparse.Namespace) -> None:
    from .experiments.ringhost import ratio_table
    from .tables import check_common_columns, write_table
    df = pd.read_csv(a.csv)
    check_common_columns(df, a.csv)
    write_table(ratio_table(df), Path(a.table))


def cmd_net_image(a: argparse.Namespace) -> None:
    from .netimage import build_net_image
    tree = Path(read_json(a.kernel_info)["tree_dir"])
    out = Path(a.out)
    build_net_image(Path(a.base), Path(a.secondary), tree, cache_root() / "debs", out,
                    out.parent / "net-work")


def cmd_net_link(a: argparse.Namespace) -> None:
    from .experiments.net import run_link, write_link
    config = json.loads(a.config)
    _run_on_target(a, run_link)
    write_link(Path(a.run_dir), config["network"], Path(a.out))


def cmd_net_run(a: argparse.Namespace) -> None:
    from .experiments.net import run_net
    _run_on_target(a, lambda *args: run_net(*args, link=read_json(a.link), system=a.system))


def cmd_web_run(a: argparse.Namespace) -> None:
    from .experiments.web import run_web
    _run_on_target(a, lambda *args: run_web(*args, link=read_json(a.link), vcpus=a.vcpus,
                                            system=a.system))


def cmd_net_csv(a: argparse.Namespace) -> None:
    from .experiments.net import NET_COLUMNS, net_rows
    net, link = json.loads(a.net), read_json(a.link)
    runs = (pair.split("=", 1) for pair in a.runs)  # system=run folder
    rows = [row for system, run_dir in runs for row in net_rows(Path(run_dir), system, net, link)]
    atomic_write_text(a.out, pd.DataFrame(rows, columns=NET_COLUMNS).to_csv(index=False))


def cmd_web_csv(a: argparse.Namespace) -> None:
    from .experiments.web import WEB_COLUMNS, web_rows
    rows = web_rows([Path(p) for p in a.runs], json.loads(a.web), read_json(a.link))
    atomic_write_text(a.out, pd.DataFrame(rows, columns=WEB_COLUMNS).to_csv(index=False))


def cmd_net_report(a: argparse.Namespace) -> None:
    from .plots import net_plot, web_plot
    from .tables import check_common_columns, net_ratio, web_ratio, write_table
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


def cmd_migrate_run(a: argparse.Namespace) -> None:
    from .experiments.migrate import run_migrate
    _run_on_target(a, run_migrate)


def cmd_migrate_csv(a: argparse.Namespace) -> None:
    from .experiments.migrate import migrate_rows, migrate_samples
    from .tables import check_common_columns
    run_dir = Path(a.run_dir)
    samples = migrate_samples(run_dir, json.loads(a.migrate))
    rows = migrate_rows(samples, read_json(run_dir / "status.json"))
    check_common_columns(rows, a.csv)
    atomic_write_text(Path(a.samples), samples.to_csv(index=False))
    atomic_write_text(Path(a.csv), rows.to_csv(index=False))
    log.info(f"migrate: {len(rows)} rows, {int((rows['status'] == 'ok').sum())} ok")


def cmd_migrate_report(a: argparse.Namespace) -> None:
    from .experiments.migrate import migrate_ratio
    from .plots import migrate_plot
    from .tables import write_table
    df = pd.read_csv(a.csv)
    write_table(df, Path(a.tables) / "migrate")
    write_table(migrate_ratio(df), Path(a.tables) / "migrate_ratio")
    migrate_plot(df, Path(a.plot))


def cmd_soak_run(a: argparse.Namespace) -> None:
    from .experiments.soak import run_soak
    _run_on_target(a, run_soak)


def cmd_soak_summary(a: argparse.Namespace) -> None:
    from .experiments.soak import SOAK_COLUMNS, soak_summary
    summary = soak_summary(Path(a.run_dir), json.loads(a.soak))
    atomic_write_json(a.json, summary)
    atomic_write_text(a.csv, pd.DataFrame([summary], columns=SOAK_COLUMNS).to_csv(index=False))


def cmd_multikernel_csv(a: argparse.Namespace) -> None:
    from .experiments.multikernel import COLUMNS, all_up_s, multikernel_rows, partition_check
    secondaries = json.loads(a.multikernel)["secondaries"]
    rows = multikernel_rows(Path(a.run_dir), secondaries)
    partition = partition_check(rows, secondaries + 1)
    primary = read_json(Path(a.run_dir) / "status.json").get("values", {})
    atomic_write_json(a.partition, {**partition, "all_up_s": all_up_s(primary),
                                    "accel": rows[0]["accel"], "timebase": rows[0]["timebase"]})
    atomic_write_text(a.out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))


def cmd_multikernel_report(a: argparse.Namespace) -> None:
    from .plots import multikernel_plot
    from .tables import check_common_columns, write_table
    mk = pd.read_csv(a.csv)
    check_common_columns(mk, a.csv)
    write_table(mk.drop(columns=["mem_ranges"]), Path(a.table))
    multikernel_plot(mk, Path(a.plot))


def cmd_boot_csv(a: argparse.Namespace) -> None:
    from .experiments.boot import COLUMNS, boot_row
    boot = json.loads(a.boot)
    kernel_info = read_json(a.kernel_info)
    rows = [boot_row(Path(s), run, boot, kernel_info) for run, s in enumerate(a.status, 1)]
    atomic_write_text(a.out, pd.DataFrame(rows, columns=COLUMNS).to_csv(index=False))


def cmd_boot_report(a: argparse.Namespace) -> None:
    from .plots import boot_plot
    from .tables import boot_summary, check_common_columns, write_table
    boot = pd.read_csv(a.csv)
    check_common_columns(boot, a.csv)
    write_table(boot_summary(boot), Path(a.table))
    boot_plot(boot, Path(a.plot))


def _tidy(pairs: list[str]) -> dict[str, pd.DataFrame]:
    """experiment=path pairs -> frames."""
    return {name: pd.read_csv(path) for name, path in (p.split("=", 1) for p in pairs)}


def cmd_failures(a: argparse.Namespace) -> None:
    from .tables import failures, write_table
    write_table(failures(_tidy(a.csv)), Path(a.table))


def cmd_check_results(a: argparse.Namespace) -> None:
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


def cmd_check_config(a: argparse.Namespace) -> None:
    from .config import load_config
    load_config(a.config, REPO / "workflow/schemas/config.schema.yaml")
    log.info(f"{a.config}: valid")


TARGET_COMMANDS = {"accel", "boot-run", "multikernel-run", "msg-run", "net-link", "net-run",
                   "web-run", "soak-run", "migrate-run"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="popart", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, func, *args: tuple[str, dict]) -> None:
        s = sub.add_parser(name)
        for flag, kw in args:
            s.add_argument(flag, **kw)
        s.set_defaults(func=func)

    req = {"required": True}
    qemu_binary = ("--qemu-binary", {"default": "qemu-system-x86_64"})
    command("kernel-source", cmd_kernel_source, ("--source", req), ("--out", req))
    command("kernel-build", cmd_kernel_build, ("--kernel", req), ("--source", req),
            ("--out-dir", req), ("--jobs", {"type": int, "default": 2}))
    command("initramfs", cmd_initramfs, ("--kernel-info", req), ("--kernel", req),
            ("--guest", req), ("--out", req))
    command("accel", cmd_accel, ("--qemu", req), ("--kernel", req), ("--initrd", req),
            ("--probe-dir", req), ("--out", req), qemu_binary)
    command("boot-run", cmd_boot_run, ("--config", req), ("--kernel", req), ("--initrd", req),
            ("--accel", req), ("--run-dir", req), qemu_binary)
    command("multikernel-run", cmd_multikernel_run, ("--config", req), ("--kernel", req),
            ("--initrd", req), ("--accel", req), ("--run-dir", req), qemu_binary)
    command("interactive-command", cmd_interactive_command, ("--config", req),
            ("--kernel", req), ("--initrd", req), ("--accel", req), ("--out", req))
    command("msg-run", cmd_msg_run, ("--system", {"required": True, "choices": ["kmsg", "smp", "stress"]}),
            ("--config", req), ("--kernel", req), ("--initrd", req), ("--accel", req),
            ("--run-dir", req), qemu_binary)
    command("msg-csv", cmd_msg_csv, ("--msg", req), ("--kmsg-run", req), ("--smp-run", req),
            ("--stress-run", req),
            ("--latency", req), ("--throughput", req), ("--samples", req))
    command("msg-stress", cmd_msg_stress, ("--msg", req), ("--run-dir", req), ("--json", req),
            ("--csv", req))
    command("msg-report", cmd_msg_report, ("--latency", req), ("--throughput", req),
            ("--tables", req), ("--latency-plot", req), ("--throughput-plot", req))
    command("ring-host-run", cmd_ring_host_run, ("--round-trips", {"type": int, "required": True}),
            ("--rounds", {"type": int, "required": True}), ("--work", req), ("--csv", req))
    command("ring-host-report", cmd_ring_host_report, ("--csv", req), ("--table", req))
    on_target = (("--config", req), ("--kernel", req), ("--initrd", req), ("--accel", req),
                 ("--run-dir", req), qemu_binary)
    command("net-image", cmd_net_image, ("--kernel-info", req), ("--base", req),
            ("--secondary", req), ("--out", req))
    command("net-link", cmd_net_link, *on_target, ("--out", req))
    system = ("--system", {"choices": ["smp", "multikernel"], "default": "smp"})
    command("net-run", cmd_net_run, *on_target, ("--link", req), system)
    command("web-run", cmd_web_run, *on_target, ("--link", req),
            ("--vcpus", {"type": int, "required": True}), system)
    command("net-csv", cmd_net_csv, ("--net", req), ("--link", req), ("--out", req),
            ("runs", {"nargs": "+", "help": "system=run folder"}))
    command("web-csv", cmd_web_csv, ("--web", req), ("--link", req), ("--out", req),
            ("runs", {"nargs": "+", "help": "run folders, named <system>-v<vcpus>"}))
    command("migrate-run", cmd_migrate_run, *on_target)
    command("migrate-csv", cmd_migrate_csv, ("--migrate", req), ("--run-dir", req),
            ("--csv", req), ("--samples", req))
    command("migrate-report", cmd_migrate_report, ("--csv", req), ("--tables", req),
            ("--plot", req))
    command("soak-run", cmd_soak_run, *on_target)
    command("soak-summary", cmd_soak_summary, ("--soak", req), ("--run-dir", req),
            ("--json", req), ("--csv", req))
    command("net-report", cmd_net_report, ("--net", {}), ("--web", {}), ("--tables", req),
            ("--net-plot", {}), ("--web-plot", {}))
    command("multikernel-csv", cmd_multikernel_csv, ("--multikernel", req),
            ("--run-dir", req), ("--out", req), ("--partition", req))
    command("multikernel-report", cmd_multikernel_report, ("--csv", req), ("--table", req),
            ("--plot", req))
    command("boot-csv", cmd_boot_csv, ("--boot", req), ("--kernel-info", req), ("--out", req),
            ("status", {"nargs": "+"}))
    command("boot-report", cmd_boot_report, ("--csv", req), ("--table", req), ("--plot", req))
    command("failures", cmd_failures, ("--table", req), ("csv", {"nargs": "+"}))
    command("check-results", cmd_check_results, ("failures", {}))
    command("check-config", cmd_check_config, ("config", {}))
    return p


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """Snakemake stops jobs with SIGTERM: a running VM is stopped at the target's next
    poll (and its status recorded); anything else exits at once."""
    from .targets.qemu import STOP
    STOP.set()
    if not _running_target:
        raise SystemExit(128 + signum)


_running_target = False


def main(argv: list[str] | None = None) -> int:
    global _running_target
    from .targets.qemu import STOP
    args = parser().parse_args(argv)
    _running_target = args.command in TARGET_COMMANDS
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        args.func(args)
    except PopartError as e:
        log.error(str(e))
        return 1
    return 128 + signal.SIGTERM if STOP.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
