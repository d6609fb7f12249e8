"""What the hardware target adds to an experiment's boot image: Debian's dropbear with
the libraries ldd resolves on the host, the image's own SSH host key (made once per
results directory; the host trusts it through a known-hosts file of its own), root's
authorized key (the public half of hardware.ssh_key), and the account files dropbear
looks up. The kernel unpacks concatenated cpio archives in order, so the image is the
experiment's followed by this overlay."""
import gzip
import subprocess
from pathlib import Path

from ..errors import BuildError
from ..hosttools import require
from ..netimage import shared_libraries

DROPBEAR = "/usr/sbin/dropbear"


def image_host_key(directory: Path) -> tuple[Path, str]:
    """The image's host key (dropbear format) and its public line."""
    key = directory / "image_host_key"
    if not key.exists():
        directory.mkdir(parents=True, exist_ok=True)
        _run([require("dropbearkey"), "-t", "ed25519", "-f", str(key)])
    out = _run([require("dropbearkey"), "-y", "-f", str(key)])
    line = next((ln for ln in out.splitlines() if ln.startswith("ssh-")), None)
    if line is None:
        raise BuildError(f"dropbearkey -y -f {key}: no public key in its output")
    return key, " ".join(line.split()[:2])


def public_key(private: Path) -> str:
    return " ".join(_run([require("ssh-keygen"), "-y", "-f", str(private)]).split()[:2])


def known_hosts(path: Path, address: str, public_line: str) -> Path:
    path.write_text(f"{address} {public_line}\n")
    return path


def overlay(work: Path, host_key: Path, authorized: str) -> Path:
    """The overlay cpio (gzip), built in work/overlay."""
    root = work / "overlay"
    subprocess.run(["rm", "-rf", str(root)], check=True)
    copy_programs(root, {DROPBEAR: Path(require(DROPBEAR))})
    ssh_server_files(root, host_key, authorized)
    return pack_dir(root, work / "hw-overlay.cpio.gz")


def copy_programs(root: Path, programs: dict[str, Path]) -> None:
    """Each program at its guest path under root, with the libraries ldd resolves."""
    files = dict(programs)
    for host in programs.values():
        for lib in shared_libraries(host):
            files.setdefault(lib, Path(lib).resolve())
    for guest, host in files.items():
        dest = root / guest.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(host.read_bytes())
        dest.chmod(0o755)


def ssh_server_files(root: Path, host_key: Path, authorized: str) -> None:
    """What dropbear reads: its host key, root's account and root's authorized key."""
    etc = root / "etc"
    (etc / "dropbear").mkdir(parents=True, exist_ok=True)
    (etc / "dropbear" / "host_key").write_bytes(host_key.read_bytes())
    (etc / "dropbear" / "host_key").chmod(0o600)
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\n")
    (etc / "shells").write_text("/bin/sh\n")
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(parents=True)
    ssh_dir.parent.chmod(0o700)
    ssh_dir.chmod(0o700)
    (ssh_dir / "authorized_keys").write_text(authorized + "\n")
    (ssh_dir / "authorized_keys").chmod(0o600)


def pack_dir(root: Path, out: Path) -> Path:
    """A newc cpio of the directory, every file owned by root, gzipped."""
    names = subprocess.run(["find", ".", "-mindepth", "1"], cwd=root, capture_output=True,
                           text=True, check=True).stdout
    result = subprocess.run([require("cpio"), "-o", "-H", "newc", "-R", "0:0", "--quiet"],
                            cwd=root, input=names.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"cpio of {root}: {result.stderr.decode(errors='replace')[:200]}")
    out.write_bytes(gzip.compress(result.stdout, mtime=0))
    return out


def _run(argv: list[str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"{' '.join(argv[:2])}: {(result.stderr or result.stdout).strip()[:200]}")
    return result.stdout
