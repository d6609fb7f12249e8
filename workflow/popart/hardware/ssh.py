"""The host's one way to a machine: OpenSSH's client, as root, with the configured key and
a known-hosts file of its own (never the user's), never asking anything (BatchMode)."""
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from threading import Event

from ..errors import TargetError
from ..hosttools import require

# Commands run under the machine's login shell; the image's dropbear sets a short PATH.
PATH = "PATH=/bin:/sbin:/usr/bin:/usr/sbin; export PATH; "


@dataclass(frozen=True)
class Endpoint:
    address: str
    user: str
    key: Path
    known_hosts: Path
    port: int = 22


class Ssh:
    def __init__(self, endpoint: Endpoint, connect_timeout_s: int = 10) -> None:
        self.endpoint = endpoint
        self.connect_timeout_s = connect_timeout_s

    def argv(self, command: str) -> list[str]:
        e = self.endpoint
        return [require("ssh"), "-T", "-i", str(e.key), "-p", str(e.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={e.known_hosts}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", f"ConnectTimeout={self.connect_timeout_s}",
                "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                f"{e.user}@{e.address}", PATH + command]

    def run(self, command: str, stdin: bytes | None = None, timeout_s: float = 60,
            check: bool = True) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(self.argv(command), input=stdin, capture_output=True,
                                    timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise TargetError(f"ssh {self.endpoint.address}: {command.split()[0]!r} did not "
                              f"finish within {timeout_s:g} s") from None
        if check and result.returncode != 0:
            why = result.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
            raise TargetError(f"ssh {self.endpoint.address}: {command[:60]!r} exited "
                              f"{result.returncode}: {why[-1][:200]}")
        return result

    def text(self, command: str, timeout_s: float = 60) -> str:
        return self.run(command, timeout_s=timeout_s).stdout.decode(errors="replace")

    def put(self, local: Path, remote: str, timeout_s: float) -> None:
        """The file's bytes through the session (no scp or sftp needed on the machine)."""
        self.run(f"cat > {shlex.quote(remote)}", stdin=local.read_bytes(), timeout_s=timeout_s)

    def stream(self, command: str, out: Path) -> subprocess.Popen:
        """A long command whose output lands in `out` as it comes (the console log)."""
        with open(out, "ab") as sink:
            return subprocess.Popen(self.argv(command), stdin=subprocess.DEVNULL, stdout=sink,
                                    stderr=subprocess.DEVNULL, start_new_session=True)

    def wait_until(self, probe: str, limit_s: float, stop: Event) -> str | None:
        """Polls until `probe` runs and exits 0; its output, or None after limit_s."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and not stop.is_set():
            try:
                result = self.run(probe, timeout_s=self.connect_timeout_s + 10, check=False)
                if result.returncode == 0:
                    return result.stdout.decode(errors="replace")
            except TargetError:
                pass
            stop.wait(1.0)
        return None
