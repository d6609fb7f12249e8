"""Web-server experiment on the test bed: nginx (event-based, Debian's) serving static
files of each configured size; wrk in the client namespace sweeps the number of
connections through the shaped link. On V vCPUs, SMP Linux runs nginx with V workers;
the multikernel (mknet.py) runs V - 1 secondaries with one worker each, the primary
only forwarding, and wrk spreads its threads over the secondaries.

A row is ok only if wrk got answers and no error of any kind, one more request right
after the run was answered (wrk does not count requests still waiting when it stops),
and nginx was still alive when the host was done: a server that crashed or hung shows
as errors and a status.
"""
import re
import threading
from pathlib import Path

from .. import log
from . import PROVENANCE, run_columns
from ..cpumarks import CPU_COLUMNS, console_values, cpu_columns, marked
from ..fsutil import read_json
from ..loadgen import LoadError, parse_wrk, probe_argv, run_tool, wrk_argv, wrk_spread_script
from ..targets.qemu import RunStatus
from .mknet import SYSTEM, mk_machine, secondary_ips, servers
from .netrun import Bed, Target, net_machine, read_load, run_on_testbed

PROBE_TIMEOUT_S = 5
WEB_COLUMNS = ["system", "vcpus", "workers", "connections", "file_bytes", "rps", "p50_ms",
               "p99_ms", "errors", "requests", *CPU_COLUMNS, "link_mbit", "accel", "timebase",
               "status", "reason", "round", "host_cores", *PROVENANCE]


def web_load(web: dict, link_mbit: int, servers: list[str] | None):
    """The wrk sweep against nginx on the servers: the guest (None), or several (the
    multikernel's secondaries) that one wrk run spreads its threads over, so that its
    requests/s and latency percentiles are over all of them."""
    def load(bed: Bed, stop: threading.Event, raw: Path) -> list[dict]:
        hosts = servers or [bed.guest_ip]
        kernels = [bed.guest_ip, *(servers or [])]  # each one's CPU time, per step
        bed.shape(link_mbit)
        script = None
        threads = web["wrk_threads"]
        if len(hosts) > 1:
            script = raw / "spread.lua"
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(wrk_spread_script(hosts))
            threads = -(-threads // len(hosts)) * len(hosts)  # every host as many threads
        rows = []
        for size in web["file_bytes"]:
            for connections in web["connections"]:
                if stop.is_set():
                    return rows
                row = {"file_bytes": size, "connections": connections, "status": "ok",
                       "reason": ""}
                argv = bed.in_client(wrk_argv(f"http://{hosts[0]}/{size}", threads,
                                              connections, web["duration_s"], script))
                try:
                    with marked(bed.in_client, step_label(size, connections), kernels):
                        out = run_tool(argv, web["duration_s"] + 30,
                                       raw / f"wrk-{size}-{connections}.txt")
                    result = parse_wrk(out)
                    row.update(rps=result.rps, p50_ms=result.p50_ms, p99_ms=result.p99_ms,
                               errors=result.errors, requests=result.requests)
                    if not result.requests:
                        row["status"], row["reason"] = "error", "no request was answered"
                    elif result.errors:
                        row["status"] = "error"
                        row["reason"] = f"{result.errors} failed requests (wrk)"
                    for host in hosts:
                        run_tool(bed.in_client(probe_argv(f"http://{host}/{size}",
                                                          PROBE_TIMEOUT_S)),
                                 PROBE_TIMEOUT_S + 10, raw / f"probe-{host}-{size}-{connections}.txt")
                except LoadError as e:
                    row["status"] = "error"
                    row["reason"] = row["reason"] or f"the server stopped answering: {e}"
                log.info(f"web: {size} B x{connections} connections: {row.get('rps')} req/s"
                         + (f" ({row['reason']})" if row["reason"] else ""))
                rows.append(row)
        return rows
    return load


def step_label(size: int, connections: int) -> str:
    """The label of one wrk run's CPU marks."""
    return f"wrk.{size}.{connections}"


def load_seconds(web: dict) -> float:
    return len(web["file_bytes"]) * len(web["connections"]) * (web["duration_s"] + 5) + 60


def run_web(config: dict, kernel: Path, initrd: Path, accel: str, run_dir: Path,
            target: Target, link: dict, vcpus: int, system: str = "smp"
            ) -> RunStatus | None:
    """smp: nginx with V workers on V vCPUs. multikernel: the same V vCPUs as a primary
    that only forwards and V - 1 secondaries with one worker each."""
    web = config["experiments"]["web"]
    wait_s = load_seconds(web)
    if system == SYSTEM:
        k = secondaries(vcpus)
        return run_on_testbed(
            config, target, run_dir, accel, link,
            lambda bed: mk_machine(config, kernel, initrd, accel, bed, k, web["file_bytes"],
                                   wait_s),
            web_load(web, link["link_mbit"], secondary_ips(k)), wait_s, servers(k),
            multikernel=True)
    return run_on_testbed(
        config, target, run_dir, accel, link,
        lambda bed: net_machine(config, kernel, initrd, accel, bed, vcpus, vcpus,
                                web["file_bytes"], wait_s,
                                (web["fault"], web["fault_after_s"])),
        web_load(web, link["link_mbit"], None), wait_s)


def secondaries(vcpus: int) -> int:
    """The multikernel on V vCPUs: one for the primary, one secondary on each other (the
    config check refuses V < 2)."""
    return vcpus - 1


def workers(system: str, vcpus: int) -> int:
    return secondaries(vcpus) if system == SYSTEM else vcpus


def _server_failure(values: dict) -> str:
    if values.get("nginx_alive") == "0":
        return "nginx died during the run (its log is in console.log)"
    return ""


def parse_run_name(name: str) -> tuple[str, int]:
    match = re.fullmatch(r"(smp|multikernel)-v(\d+)", name)
    if not match:
        raise ValueError(f"{name}: not a web run's folder (<system>-v<vcpus>)")
    return match.group(1), int(match.group(2))


def web_rows(run_dirs: list[Path], web: dict, link: dict) -> list[dict]:
    """Every (system, vcpus, file, connections) case a row: measured, or with why it was
    not. Each run's system and vCPUs come from its folder's name."""
    rows = []
    for run_dir in run_dirs:
        system, vcpus = parse_run_name(run_dir.name)
        status = read_json(run_dir / "status.json")
        load = read_load(run_dir)
        measured = {(r["file_bytes"], r["connections"]): r for r in load.get("rows", [])}
        server = _server_failure(status.get("values", {}))
        kernels = console_values(run_dir, secondaries(vcpus) + 1 if system == SYSTEM else 1)
        for size in web["file_bytes"]:
            for connections in web["connections"]:
                got = measured.get((size, connections), {})
                row = {"system": system, "vcpus": vcpus, "workers": workers(system, vcpus),
                       "connections": connections, "file_bytes": size,
                       **{k: got.get(k) for k in ("rps", "p50_ms", "p99_ms", "errors",
                                                  "requests")},
                       "link_mbit": link["link_mbit"], **run_columns(status),
                       "status": status["status"],
                       "reason": status.get("reason", ""),
                       "host_cores": status.get("host_cores"),
                       **cpu_columns(kernels, step_label(size, connections))}
                why = ("" if got else f"not measured: {load.get('error') or 'the load stopped'}")
                why = why or (got["reason"] if got["status"] != "ok" else "") or server
                if row["status"] == "ok" and why:
                    row["status"], row["reason"] = "error", why
                rows.append(row)
    return rows
