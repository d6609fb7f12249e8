"""``python -m popart <command>``: what the Snakemake rules call. One command per step;
user errors print one ``E:`` line and exit 1, our own bugs keep their traceback.

This module only parses arguments and dispatches: each command's code is a function in
``popart.commands.<stage>``, imported when it runs. The Snakefile makes each rule depend on
the modules its command imports (``popart.deps``), so this file holds no logic of its own.
"""
import argparse
import importlib
import signal
import sys

from . import log
from .errors import PopartError

TARGET_COMMANDS = {"accel", "plan", "boot-run", "multikernel-run", "msg-run", "msg-rounds", "net-link",
                   "net-rounds", "web-rounds", "soak-run", "migrate-run"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="popart", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, func: str, *args: tuple[str, dict]) -> None:
        s = sub.add_parser(name)
        for flag, kw in args:
            s.add_argument(flag, **kw)
        s.set_defaults(func=func)

    req = {"required": True}
    qemu_binary = ("--qemu-binary", {"default": "qemu-system-x86_64"})
    command("kernel-source", "build.kernel_source", ("--source", req), ("--out", req))
    command("kernel-build", "build.kernel_build", ("--kernel", req), ("--source", req),
            ("--out-dir", req), ("--jobs", {"type": int, "default": 2}))
    command("initramfs", "build.initramfs", ("--kernel-info", req), ("--kernel", req),
            ("--guest", req), ("--out", req))
    command("accel", "run.accel", ("--qemu", req), ("--kernel", req), ("--initrd", req),
            ("--probe-dir", req), ("--out", req), ("--hardware", {"default": ""}), qemu_binary)
    command("plan", "run.plan", ("--config", req), ("--kernel", req))
    command("boot-run", "run.boot_run", ("--config", req), ("--kernel", req), ("--initrd", req),
            ("--accel", req), ("--run-dir", req), qemu_binary)
    command("multikernel-run", "run.multikernel_run", ("--config", req), ("--kernel", req),
            ("--initrd", req), ("--accel", req), ("--run-dir", req), qemu_binary)
    command("interactive-command", "run.interactive_command", ("--config", req),
            ("--kernel", req), ("--initrd", req), ("--accel", req), ("--out", req))
    command("msg-run", "run.msg_run",
            ("--system", {"required": True, "choices": ["kmsg", "smp", "stress"]}),
            ("--config", req), ("--kernel", req), ("--initrd", req), ("--accel", req),
            ("--run-dir", req), qemu_binary)
    command("msg-csv", "tidy.msg_csv", ("--msg", req), ("--rounds-root", req),
            ("--stress-run", req),
            ("--latency", req), ("--throughput", req), ("--samples", req))
    command("msg-stress", "tidy.msg_stress", ("--msg", req), ("--run-dir", req), ("--json", req),
            ("--csv", req))
    command("msg-report", "report.msg_report", ("--latency", req), ("--throughput", req),
            ("--tables", req), ("--latency-plot", req), ("--throughput-plot", req))
    command("ring-host-run", "run.ring_host_run",
            ("--round-trips", {"type": int, "required": True}),
            ("--rounds", {"type": int, "required": True}), ("--work", req), ("--csv", req))
    command("ring-host-report", "report.ring_host_report", ("--csv", req), ("--table", req))
    on_target = (("--config", req), ("--kernel", req), ("--initrd", req), ("--accel", req),
                 ("--run-dir", req), qemu_binary)
    command("net-image", "build.net_image", ("--kernel-info", req), ("--base", req),
            ("--secondary", req), ("--out", req))
    command("net-link", "run.net_link", *on_target, ("--out", req))
    rounds = (("--rounds", {"type": int, "required": True}),
              ("--run-root", {"required": True, "help": "round<r>/<side> run folders below"}))
    on_rounds = (("--config", req), ("--kernel", req), ("--initrd", req), ("--accel", req),
                 *rounds, qemu_binary)
    command("msg-rounds", "run.msg_rounds", *on_rounds)
    command("net-rounds", "run.net_rounds", *on_rounds, ("--link", req))
    command("web-rounds", "run.web_rounds", *on_rounds, ("--link", req),
            ("--vcpus", {"type": int, "required": True}))
    command("net-csv", "tidy.net_csv", ("--net", req), ("--link", req), ("--out", req),
            ("--links", req), ("runs", {"nargs": "+", "help": "side=run folder"}))
    command("web-csv", "tidy.web_csv", ("--web", req), ("--link", req), ("--out", req),
            ("runs", {"nargs": "+", "help": "run folders, named <system>-v<vcpus>"}))
    command("migrate-run", "run.migrate_run", *on_target)
    command("migrate-csv", "tidy.migrate_csv", ("--migrate", req), ("--run-dir", req),
            ("--csv", req), ("--samples", req))
    command("migrate-report", "report.migrate_report", ("--csv", req), ("--tables", req),
            ("--plot", req))
    command("soak-run", "run.soak_run", *on_target)
    command("soak-summary", "tidy.soak_summary", ("--soak", req), ("--run-dir", req),
            ("--json", req), ("--csv", req))
    command("net-report", "report.net_report", ("--net", {}), ("--web", {}), ("--tables", req),
            ("--net-plot", {}), ("--web-plot", {}))
    command("multikernel-csv", "tidy.multikernel_csv", ("--multikernel", req),
            ("--run-dir", req), ("--out", req), ("--partition", req),
            ("--partition-csv", req))
    command("multikernel-report", "report.multikernel_report", ("--csv", req), ("--table", req),
            ("--plot", req))
    command("boot-csv", "tidy.boot_csv", ("--boot", req), ("--kernel-info", req), ("--out", req),
            ("status", {"nargs": "+"}))
    command("boot-report", "report.boot_report", ("--csv", req), ("--table", req), ("--plot", req))
    command("failures", "report.failures", ("--table", req), ("csv", {"nargs": "*"}))
    command("facts-table", "facts.facts_table", ("--json", req), ("--table", req), ("--title", {}))
    command("check-results", "report.check_results", ("failures", {}),
            ("--out", {"help": "written only when every row is ok"}))
    command("regress-figures", "regress.regress_figures", ("--results", req), ("--qemu", req),
            ("--experiments", req), ("--repo", req), ("--out", req), qemu_binary)
    command("regress-baseline", "regress.regress_baseline", ("--out", req),
            ("runs", {"nargs": "+", "help": "each run's regress/figures.json"}))
    command("regress-compare", "regress.regress_compare", ("--baseline", req),
            ("--figures", req), ("--table", req))
    command("regress-check", "regress.regress_check", ("--table", req), ("--out", req))
    command("reference-save", "reference.reference_save", ("--results", req),
            ("--repo", req), ("--out", req), qemu_binary)
    command("reference-beside", "reference.reference_beside", ("--reference", req),
            ("--out", req), ("csv", {"nargs": "*", "help": "this run's tables"}))
    command("check-config", "build.check_config", ("config", {}))
    command("results-dir", "build.results_dir", ("configfiles", {"nargs": "*"}))
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
    stage, function = args.func.split(".")
    run = getattr(importlib.import_module(f".commands.{stage}", __package__), function)
    try:
        run(args)
    except PopartError as e:
        log.error(str(e))
        return 1
    return 128 + signal.SIGTERM if STOP.is_set() else 0


if __name__ == "__main__":
    sys.exit(main())
