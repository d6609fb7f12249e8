"""Console parsing: markers among kernel messages, experiment rc, panics."""
from popart.console import parse_console

LOG = """\
[    0.000000] Linux version 6.12.117 (popcorn@artifact)
@@POPCORN:BEGIN exp=boot
@@POPCORN:KV init_uptime_s=0.934991
[    1.100000] random: crng init done@@POPCORN:KV kernel_release=6.12.117
@@POPCORN:KV online_cpus=0-1\r
@@POPCORN:WARN mount tmpfs on /tmp: No such device
@@POPCORN:END exp=boot rc=0
"""


def test_markers_values_and_rc():
    r = parse_console(LOG)
    assert r.begun and r.ended and r.experiment == "boot" and r.rc == 0
    assert r.values == {"init_uptime_s": "0.934991", "kernel_release": "6.12.117",
                        "online_cpus": "0-1"}
    assert r.warnings == ["mount tmpfs on /tmp: No such device"]
    assert r.panic is None


def test_partial_log_has_not_ended():
    r = parse_console(LOG.split("@@POPCORN:END")[0])
    assert r.begun and not r.ended and r.rc is None


def test_first_panic_line_is_the_reason():
    r = parse_console("boot\n[ 2.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n"
                      "[ 2.1] Kernel panic - not syncing: again\n")
    assert r.panic == "Kernel panic - not syncing: VFS: Unable to mount root fs"
    assert not r.begun


def test_empty_console():
    r = parse_console("")
    assert not r.begun and r.values == {} and r.panic is None


def test_follower_reads_only_new_complete_lines(tmp_path):
    from popart.console import ConsoleFollower

    log = tmp_path / "console.log"
    follower = ConsoleFollower(log)
    assert not follower.poll().begun  # no file yet
    log.write_text("@@POPCORN:BEGIN exp=boot\n@@POPCORN:KV a=1")
    report = follower.poll()
    assert report.begun and report.values == {}  # "a=1" is not a whole line yet
    with open(log, "a") as f:
        f.write("23\n@@POPCORN:END exp=boot rc=0")
    assert follower.poll().values == {"a": "123"} and not follower.report.ended
    assert follower.poll(final=True).ended and follower.report.rc == 0


def test_relayed_secondary_lines_are_split_out_and_not_the_primarys():
    from popart.console import split_secondaries

    text = ("@@POPCORN:BEGIN exp=mk\n@@K1| Linux version 6.12\n@@POPCORN:KV boot_rc=0\n"
            "@@K2| @@POPCORN:KV init_uptime_s=0.4\n@@K1| @@POPCORN:END exp=boot rc=0\n")
    report = parse_console(text)
    assert report.values == {"boot_rc": "0"} and not report.ended
    assert split_secondaries(text) == {
        1: "Linux version 6.12\n@@POPCORN:END exp=boot rc=0\n",
        2: "@@POPCORN:KV init_uptime_s=0.4\n"}


def test_a_rebooted_kernels_log_splits_into_its_boots():
    from popart.console import boots

    text = ("Linux version 6.12 #1\nKernel panic - not syncing: sysrq\n"
            "Linux version 6.12 #1\n@@POPCORN:BEGIN exp=report\n")
    first, second = boots(text)
    assert parse_console(first).panic and not parse_console(first).begun
    assert parse_console(second).begun and not parse_console(second).panic
    assert boots("") == [""]


def test_a_tools_output_is_collected_by_name_among_kernel_messages():
    r = parse_console("@@POPCORN:OUT veth-1|Connecting to host 10.79.0.1, port 5201\n"
                      "[ 9.1] pcn1: link up@@POPCORN:OUT veth-1|[  5]   0.00-2.00   sec\n"
                      "@@POPCORN:OUT ps-1|iperf3: error - x\r\n@@POPCORN:KV veth-1_rc=0\n")
    assert r.outputs == {"veth-1": ["Connecting to host 10.79.0.1, port 5201",
                                    "[  5]   0.00-2.00   sec"],
                         "ps-1": ["iperf3: error - x"]}
    assert r.values == {"veth-1_rc": "0"}
