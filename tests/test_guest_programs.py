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


def test_migtest_gives_one_result_per_size_and_names_a_missing_device(guest_program):
    migtest = guest_program("migtest")
    first, again = run(migtest, "4096", "3"), run(migtest, "4096", "3")
    assert first.returncode == 7 and first.stdout == again.stdout
    assert first.stdout.splitlines()[-1].startswith("result size=4096 rounds=3 checksum=")
    assert "tls=6 alarms=3" in first.stdout
    other = run(migtest, "4097", "3")
    assert other.stdout.splitlines()[-1] != first.stdout.splitlines()[-1]
    # Without a Popcorn kernel the ask to move fails, and the run goes on unchanged.
    asked = run(migtest, "4096", "3", "1")
    assert asked.stderr.startswith("migtest: /dev/popcorn_kmsg:")
    assert asked.returncode == 7 and asked.stdout == first.stdout


@pytest.fixture(scope="module")
def udpsoak(tmp_path_factory):
    return str(compile_program(REPO / "guest/udpsoak.c",
                               tmp_path_factory.mktemp("guest") / "udpsoak"))


def soak_payload(seq: int, n: int) -> bytes:
    """udpsoak's payload of datagram seq (xorshift32 seeded from it), in Python."""
    x, out = (seq * 2654435761 + 1) & 0xFFFFFFFF, bytearray()
    for _ in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out.append(x & 0xFF)
    return bytes(out)


def soak_summary(proc) -> dict[str, float]:
    line = proc.communicate(timeout=30)[0].strip().splitlines()[-1]
    return {k: float(v) for k, v in (f.split("=") for f in line.split())}


def free_udp_port() -> int:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_udpsoak_carries_a_transfer_intact(udpsoak):
    port = free_udp_port()
    recv = subprocess.Popen([udpsoak, "recv", str(port), "2000000", "1000", "20"],
                            stdout=subprocess.PIPE, text=True)
    assert recv.stdout.readline().startswith("listening=")
    sent = run(udpsoak, "send", "127.0.0.1", str(port), "2000000", "1000", "100")
    assert sent.returncode == 0 and sent.stdout == "sent=2017\n"  # 2 MB / 992 B payloads
    got = soak_summary(recv)
    assert (got["datagrams"], got["corrupted"], got["duplicated"]) == (2017, 0, 0)
    assert got["received"] + got["lost"] == 2017


def test_udpsoak_finds_every_corrupted_byte_duplicate_and_loss(udpsoak):
    import socket
    import struct
    port = free_udp_port()
    recv = subprocess.Popen([udpsoak, "recv", str(port), str(3 * 92), "100", "10"],
                            stdout=subprocess.PIPE, text=True)
    assert recv.stdout.readline().startswith("listening=")
    good = struct.pack("!II", 0x534F414B, 0) + soak_payload(0, 92)
    bad = bytearray(struct.pack("!II", 0x534F414B, 1) + soak_payload(1, 92))
    bad[20] ^= 0xFF
    bad[50] ^= 0x01
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for datagram in (good, good, bytes(bad), b"short"):  # datagram 2 never comes
            s.sendto(datagram, ("127.0.0.1", port))
    got = soak_summary(recv)
    assert got["received"] == 4 and got["duplicated"] == 1
    assert got["corrupted"] == 2 and got["corrupted_bytes"] == 2 + 5
    assert got["lost"] == 2  # datagram 1 arrived corrupted, datagram 2 never
