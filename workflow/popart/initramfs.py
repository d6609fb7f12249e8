"""Builds the boot image: Debian's busybox-static, the project's static C guest programs,
and the experiment scripts, packed with the kernel's own usr/gen_init_cpio.

guest/init.c becomes /init, every other guest/*.c becomes /bin/<name>, and guest/exp/*
goes to /exp/. Device nodes come from the cpio list, so no root is needed.

The image also carries what a primary needs to boot secondaries: the same bzImage as
/boot/bzImage and the image without /boot as /boot/secondary.cpio.gz.
"""
import gzip
import subprocess
from pathlib import Path

from . import log
from .errors import BuildError
from .fsutil import atomic_write_json, sha256_file
from .hosttools import require

BUSYBOX = "/bin/busybox"
DIRS = ["/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/dev", "/proc", "/sys", "/tmp",
        "/root", "/exp", "/etc"]
CFLAGS = ["-static", "-O2", "-Wall", "-Wextra", "-Werror"]


def compile_program(source: Path, out: Path, flags: list[str] = CFLAGS) -> Path:
    """Guest programs are static; gen_init_cpio (a host tool) is built with flags=[]."""
    if not source.is_file():
        raise BuildError(f"{source}: missing")
    argv = [require("gcc"), *flags, "-o", str(out), str(source)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["no output"])[0]
        raise BuildError(f"{source}: does not compile: {first}")
    return out


def busybox_applets(busybox: str) -> list[str]:
    """Applet paths as busybox itself lists them (e.g. bin/sh, sbin/poweroff)."""
    result = subprocess.run([busybox, "--list-full"], capture_output=True, text=True, check=True)
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


def cpio_list(init: Path, programs: list[Path], scripts: list[Path], busybox: str,
              applets: list[str]) -> str:
    """The gen_init_cpio input: one line per directory, node, file and link."""
    lines = [f"dir {d} 0755 0 0" for d in DIRS]
    lines.append("nod /dev/console 0600 0 0 c 5 1")
    lines.append("nod /dev/null 0666 0 0 c 1 3")
    lines.append(f"file /bin/busybox {busybox} 0755 0 0")
    lines.append(f"file /init {init} 0755 0 0")
    own = {f"bin/{p.name}" for p in programs}
    for applet in applets:
        if applet != "bin/busybox" and applet not in own and "/" in applet:
            depth = applet.count("/")
            lines.append(f"slink /{applet} {'../' * depth}bin/busybox 0777 0 0")
    lines += [f"file /bin/{p.name} {p} 0755 0 0" for p in programs]
    lines += [f"file /exp/{s.name} {s} {script_mode(s)} 0 0" for s in scripts]
    return "\n".join(lines) + "\n"


def script_mode(script: Path) -> str:
    """A script that another program runs by itself (a #! line: udhcpc's) is executable;
    the rest are read by sh."""
    with script.open("rb") as f:
        return "0755" if f.read(2) == b"#!" else "0644"


def pack(gen: Path, listing: str, work: Path, out: Path) -> None:
    """gen_init_cpio, then gzip; a fixed timestamp keeps identical inputs identical."""
    (work / f"{out.name}.list").write_text(listing)
    result = subprocess.run([str(gen), "-t", "0", str(work / f"{out.name}.list")],
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"gen_init_cpio failed: {result.stderr.decode(errors='replace')[:200]}")
    partial = out.with_name(f".{out.name}.partial")
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(result.stdout)
    partial.replace(out)


def build_initramfs(guest_dir: Path, kernel_tree: Path, bzimage: Path, uapi: Path, out: Path,
                    work: Path) -> dict:
    busybox = require(BUSYBOX)
    work.mkdir(parents=True, exist_ok=True)
    gen = compile_program(kernel_tree / "usr" / "gen_init_cpio.c", work / "gen_init_cpio", [])
    flags = [*CFLAGS, f"-I{uapi}"]
    init = compile_program(guest_dir / "init.c", work / "init", flags)
    programs = [compile_program(c, work / c.stem, flags)
                for c in sorted(guest_dir.glob("*.c")) if c.name != "init.c"]
    scripts = sorted(p for p in (guest_dir / "exp").iterdir() if p.is_file())
    listing = cpio_list(init, programs, scripts, busybox, busybox_applets(busybox))
    secondary = work / "secondary.cpio.gz"
    pack(gen, listing, work, secondary)
    pack(gen, listing + "dir /boot 0755 0 0\n"
         f"file /boot/bzImage {bzimage} 0644 0 0\n"
         f"file /boot/secondary.cpio.gz {secondary} 0644 0 0\n", work, out)
    manifest = {
        "initramfs": out.name,
        "sha256": sha256_file(out),
        "busybox_sha256": sha256_file(busybox),
        "programs": ["init", *(p.name for p in programs)],
        "scripts": [s.name for s in scripts],
    }
    atomic_write_json(out.with_suffix("").with_suffix(".json"), manifest)
    log.info(f"initramfs: {out} ({out.stat().st_size // 1024} KiB, "
             f"{len(programs) + 1} programs, {len(scripts)} scripts)")
    return manifest
