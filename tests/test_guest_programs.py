"""The guest programs, compiled and run on the host where they need no guest kernel."""
import subprocess

import pytest

from conftest import REPO
from popart.initramfs import CFLAGS, compile_program


@pytest.fixture(scope="module")
def popcornctl(tmp_path_factory):
    out = tmp_path_factory.mktemp("guest") / "popcornctl"
    flags = [*CFLAGS, f"-I{REPO / 'kernel/src/include/uapi'}"]
    return str(compile_program(REPO / "guest/popcornctl.c", out, flags))


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def test_usage_errors_exit_2(popcornctl):
    assert run(popcornctl).returncode == 2
    result = run(popcornctl, "boot", "--apic", "1")
    assert result.returncode == 2 and "needs --apic --mem" in result.stderr


def test_bad_arguments_are_named_on_one_line(popcornctl, tmp_path):
    result = run(popcornctl, "boot", "--apic", "one")
    assert result.returncode == 1 and result.stderr == "popcornctl: --apic: not a number\n"
    result = run(popcornctl, "boot", "--mem", "0x40000000")
    assert result.stderr == "popcornctl: --mem: expected START:SIZE\n"
    missing = tmp_path / "bzImage"
    result = run(popcornctl, "boot", "--apic", "1", "--mem", "0x40000000:0x8000000",
                 "--low", "0x20000", "--kernel", str(missing), "--initrd", str(missing),
                 "--cmdline", "quiet")
    assert result.returncode == 1
    assert result.stderr == f"popcornctl: {missing}: No such file or directory\n"


def test_without_the_popcorn_kernel_the_device_is_named(popcornctl, tmp_path):
    image = tmp_path / "img"
    image.write_bytes(b"\0" * 2048)
    result = run(popcornctl, "boot", "--apic", "1", "--mem", "0x40000000:0x8000000",
                 "--low", "0x20000", "--kernel", str(image), "--initrd", str(image),
                 "--cmdline", "quiet")
    assert result.returncode == 1 and result.stderr.startswith("popcornctl: /dev/popcorn:")


@pytest.fixture(scope="module")
def guest_program(tmp_path_factory):
    def build(name: str) -> str:
        out = tmp_path_factory.mktemp("guest") / name
        flags = [*CFLAGS, f"-I{REPO / 'kernel/src/include/uapi'}"]
        return str(compile_program(REPO / f"guest/{name}.c", out, flags))
    return build


@pytest.mark.parametrize("argv", [["pipe", "64"], ["unix", "8"], ["eventfd"], ["cacheline"]])
def test_smp_baselines_measure_round_trips(guest_program, argv):
    result = run(guest_program("pingpong"), *argv, "200")
    assert result.returncode == 0, result.stderr
    fields = dict(f.split("=") for f in result.stdout.split())
    assert fields["samples"] == "200" and 0 < int(fields["p50_ns"]) <= int(fields["p99_ns"])


def test_baseline_and_kmsg_tools_name_bad_usage(guest_program):
    pingpong, kmsgbench = guest_program("pingpong"), guest_program("kmsgbench")
    assert run(pingpong, "carrier-pigeon", "3").returncode == 2
    assert run(pingpong, "pipe", "x", "3").stderr == "pingpong: x: not a number\n"
    assert run(kmsgbench, "mode", "fast").stderr == "kmsgbench: fast: not a mode (ipi or poll)\n"
    assert run(kmsgbench, "mode", "poll").stderr.startswith("kmsgbench: /dev/popcorn_kmsg:")
    assert run(kmsgbench, "ping", "1", "many", "3").stderr == "kmsgbench: LEN: not a number\n"
