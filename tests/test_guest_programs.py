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
