"""The boot image of the network and migration experiments: the common boot image with
an overlay that adds Debian's iperf3, nginx and criu and the shared libraries they load.

iperf3 is the host's own (it is also the host's load generator). nginx and criu come
from their Debian packages, fetched with apt-get download and unpacked with dpkg-deb into the cache,
so that installing them never starts a web server on the host. The libraries are the
ones ldd resolves on the host; the guest's dynamic loader finds them in Debian's
multiarch directories without a cache. The kernel unpacks concatenated cpio archives
in order, so the image is the common one followed by the overlay (and the secondaries'
image with the same overlay, for servers on secondaries).
"""
import re
import subprocess
from pathlib import Path

from . import log
from .errors import BuildError
from .fsutil import atomic_write_json, sha256_file
from .hosttools import require
from .initramfs import compile_program, pack

LDD_LINE = re.compile(r"^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$")


def deb_version(package: str) -> str:
    """The version apt-get download would fetch (the candidate)."""
    out = subprocess.run([require("apt-cache"), "policy", package], capture_output=True,
                         text=True, check=False).stdout
    m = re.search(r"Candidate:\s*(\S+)", out)
    if not m or m.group(1) == "(none)":
        raise BuildError(f"Debian package {package}: apt knows no candidate; run "
                         "apt-get update as root")
    return m.group(1)


def installed_version(package: str) -> str:
    result = subprocess.run([require("dpkg-query"), "-W", "-f", "${Version}", package],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or "not installed"


def unpacked_deb(package: str, cache: Path) -> Path:
    """The package's files, unpacked once per version under cache/<package>_<version>."""
    version = deb_version(package)
    root = cache / f"{package}_{version.replace(':', '%3a')}"
    if (root / ".complete").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    log.info(f"netimage: fetching {package} {version} (apt-get download)")
    result = subprocess.run([require("apt-get"), "download", f"{package}={version}"],
                            cwd=cache, capture_output=True, text=True, check=False)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not debs:
        why = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BuildError(f"apt-get download {package}: {why}")
    deb = [d for d in debs if version.split(":")[-1] in d.name] or debs
    result = subprocess.run([require("dpkg-deb"), "-x", str(deb[-1]), str(root)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"dpkg-deb -x {deb[-1]}: {result.stderr.strip()[:200]}")
    (root / ".complete").touch()
    return root


def shared_libraries(binary: Path) -> list[str]:
    """The absolute paths ldd resolves for the binary, its loader included."""
    result = subprocess.run([require("ldd"), str(binary)], capture_output=True, text=True,
                            check=False)
    missing = [line.split()[0] for line in result.stdout.splitlines() if "not found" in line]
    if result.returncode != 0 or missing:
        raise BuildError(f"{binary}: shared libraries not found on this host: "
                         f"{', '.join(missing) or result.stderr.strip()[:200]}")
    return [m.group(1) for line in result.stdout.splitlines() if (m := LDD_LINE.match(line))]


def overlay_listing(programs: dict[str, Path]) -> str:
    """gen_init_cpio lines: each program at its guest path, and every library at the
    path ldd named (its content from the resolved host file), with their directories."""
    files = dict(programs)
    for host in programs.values():
        for lib in shared_libraries(host):
            files.setdefault(lib, Path(lib).resolve())
    dirs = sorted({str(p) for guest in files for p in Path(guest).parents if str(p) != "/"})
    lines = [f"dir {d} 0755 0 0" for d in dirs]
    lines += [f"file {guest} {host} 0755 0 0" for guest, host in sorted(files.items())]
    return "\n".join(lines) + "\n"


def build_net_image(base: Path, secondary: Path, kernel_tree: Path, cache: Path, out: Path,
                    work: Path) -> dict:
    """The primary's image with the overlay, carrying /boot/secondary-net.cpio.gz: the
    secondaries' image with the same overlay (for servers on secondaries)."""
    work.mkdir(parents=True, exist_ok=True)
    nginx = unpacked_deb("nginx", cache) / "usr/sbin/nginx"
    if not nginx.is_file():
        raise BuildError(f"{nginx}: the nginx package has no usr/sbin/nginx")
    criu = unpacked_deb("criu", cache) / "usr/sbin/criu"
    if not criu.is_file():
        raise BuildError(f"{criu}: the criu package has no usr/sbin/criu")
    programs = {"/usr/bin/iperf3": Path(require("iperf3")), "/usr/sbin/nginx": nginx,
                "/usr/sbin/criu": criu}
    gen = compile_program(kernel_tree / "usr" / "gen_init_cpio.c", work / "gen_init_cpio", [])
    overlay = work / "net-overlay.cpio.gz"
    pack(gen, overlay_listing(programs), work, overlay)
    secondary_net = work / "secondary-net.cpio.gz"
    secondary_net.write_bytes(secondary.read_bytes() + overlay.read_bytes())
    boot = work / "net-boot.cpio.gz"
    pack(gen, f"dir /boot 0755 0 0\nfile /boot/secondary-net.cpio.gz {secondary_net} 0644 0 0\n",
         work, boot)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(base.read_bytes() + overlay.read_bytes() + boot.read_bytes())
    partial.replace(out)
    manifest = {"image": out.name, "sha256": sha256_file(out), "base_sha256": sha256_file(base),
                "programs": {guest: str(host) for guest, host in programs.items()},
                "packages": {"nginx": deb_version("nginx"), "criu": deb_version("criu"),
                             "iperf3": installed_version("iperf3")}}
    atomic_write_json(out.with_suffix("").with_suffix(".json"), manifest)
    log.info(f"netimage: {out} ({out.stat().st_size // 1024} KiB: the boot image, iperf3, "
             f"nginx {manifest['packages']['nginx']}, criu {manifest['packages']['criu']})")
    return manifest
