"""The load generators the network experiments run in the client namespace (iperf3,
wrk, ping): their command lines, and parsers for what they print.

A parser raises LoadError with one line when the tool's output says it failed or says
nothing usable; the experiment turns that into a row with status error, not a gap."""
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import PopartError


class LoadError(PopartError):
    kind = "load generator"


def run_tool(argv: list[str], timeout_s: float, raw: Path, check: bool = True) -> str:
    """The tool's output (stdout, or stderr if it printed nothing else). The output is
    kept in the file raw and the command and exit status beside it (raw.cmd). A tool
    that hangs past timeout_s is killed and reported: a hung guest cannot hang the run."""
    raw.parent.mkdir(parents=True, exist_ok=True)
    cmd = raw.with_name(raw.name + ".cmd")
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                check=False)
    except subprocess.TimeoutExpired as e:
        cmd.write_text(f"{shlex.join(argv)}\n# killed after {timeout_s:.0f} s\n")
        raw.write_bytes(e.stdout or b"")
        raise LoadError(f"{raw.stem}: no end within {timeout_s:.0f} s") from None
    cmd.write_text(f"{shlex.join(argv)}\n# exit {result.returncode}\n")
    raw.write_text(result.stdout + result.stderr)
    out = result.stdout if result.stdout.strip() else result.stderr
    if check and result.returncode != 0 and not result.stdout.strip():
        raise LoadError(f"{raw.stem}: exit {result.returncode}: "
                        f"{(out.strip().splitlines() or ['no output'])[-1]}")
    return out


def iperf3_argv(server: str, seconds: float, streams: int, reverse: bool,
                port: int = 5201) -> list[str]:
    """TCP, the client here; reverse: the server (the guest) sends."""
    argv = ["iperf3", "--client", server, "--port", str(port), "--json", "--time",
            f"{seconds:g}", "--parallel", str(streams), "--connect-timeout", "5000"]
    return argv + (["--reverse"] if reverse else [])


def parse_iperf3(text: str) -> float:
    """Throughput in Mbit/s as the receiving end counted it."""
    try:
        report = json.loads(text)
    except json.JSONDecodeError as e:
        raise LoadError(f"iperf3 printed no JSON report ({e.msg} at {e.pos})") from None
    if report.get("error"):
        raise LoadError(f"iperf3: {report['error']}")
    try:
        bits = float(report["end"]["sum_received"]["bits_per_second"])
    except (KeyError, TypeError, ValueError):
        raise LoadError("iperf3's report has no end.sum_received.bits_per_second") from None
    return bits / 1e6


def parse_iperf3_text(text: str) -> float:
    """Throughput in Mbit/s as the receiving end counted it, from iperf3's plain output
    in megabits (--format m: what a guest prints on its console); with several streams
    the [SUM] line, which comes last."""
    error = re.search(r"iperf3: error - .*", text)
    if error:
        raise LoadError(error.group(0).strip())
    received = re.findall(r"([\d.]+) Mbits/sec.*\breceiver\s*$", text, re.M)
    if not received:
        last = (text.strip().splitlines() or ["no output"])[-1]
        raise LoadError(f"iperf3 printed no receiver summary: {last}")
    return float(received[-1])


def wrk_argv(url: str, threads: int, connections: int, seconds: float,
             script: Path | None = None) -> list[str]:
    # wrk needs at least one connection per thread
    return ["wrk", "--threads", str(min(threads, connections)), "--connections",
            str(connections), "--duration", f"{seconds:g}s", "--timeout", "5s", "--latency",
            *(["--script", str(script)] if script else []), url]


def wrk_spread_script(servers: list[str], port: int = 80) -> str:
    """wrk's Lua setup that points thread i at servers[i mod n]: one wrk run, one
    latency distribution, over several servers (wrk threads get whole connections)."""
    names = ", ".join(f'"{s}"' for s in servers)
    return (f"local servers = {{{names}}}\n"
            "local n = 0\n"
            "function setup(thread)\n"
            f'  thread.addr = wrk.lookup(servers[n % #servers + 1], "{port}")[1]\n'
            "  n = n + 1\n"
            "end\n")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int     # socket errors of every kind, and answers other than 2xx/3xx


UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(value: str, unit: str) -> float:
    return float(value) * UNIT_MS[unit]


def parse_wrk(text: str) -> WrkResult:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    done = re.search(r"^\s*(\d+) requests in ", text, re.M)
    if not rps or not done:
        first = (text.strip().splitlines() or ["no output"])[-1]
        raise LoadError(f"wrk printed no summary: {first}")
    percentiles = {int(p): _ms(v, u) for p, v, u in
                   re.findall(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)}
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = (sum(int(n) for n in sockets.groups()) if sockets else 0) + \
        (int(non_2xx.group(1)) if non_2xx else 0)
    requests = int(done.group(1))
    # With no request answered, wrk still prints 0.00us percentiles: they mean nothing.
    return WrkResult(requests=requests, rps=float(rps.group(1)), errors=errors,
                     p50_ms=percentiles.get(50) if requests else None,
                     p99_ms=percentiles.get(99) if requests else None)


PROBE = ("import sys, urllib.request; "
         "urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()")


def probe_argv(url: str, timeout_s: int) -> list[str]:
    """One GET that must be answered within timeout_s: is the server still serving?
    (wrk does not count requests still waiting when its run ends.)"""
    return [sys.executable, "-c", PROBE, url, str(timeout_s)]


def ping_argv(host: str, count: int, interval_s: float) -> list[str]:
    return ["ping", "-n", "-c", str(count), "-i", f"{interval_s:g}", "-W", "2", host]


def parse_ping(text: str) -> list[float]:
    """Each answered echo's round trip, in microseconds."""
    times = [float(t) * 1e3 for t in re.findall(r" time=([\d.]+) ms", text)]
    if not times:
        summary = re.search(r"\d+ packets transmitted.*", text)
        last = (text.strip().splitlines() or ["no output"])[-1]
        raise LoadError(f"ping got no answer ({summary.group(0) if summary else last})")
    return times
