"""CPU marks: the host's side of each kernel's CPU time per load step (cpumarks.py)."""
import socket
import threading

import pytest

from popart.cpumarks import busy_ticks, console_values, cpu_columns, kernel_seconds, mark
from popart.experiments.net import mark_label, per_gbit

START = "cpu  100 5 40 1000 7 3 2 1 0 0"
END = "cpu  250 5 90 1900 9 13 12 1 0 0"  # busy +50+150+10+10 = 220 ticks


def test_busy_ticks_are_user_nice_system_irq_softirq_steal_not_idle_or_iowait():
    assert busy_ticks(START) == 100 + 5 + 40 + 3 + 2 + 1
    with pytest.raises(ValueError):
        busy_ticks("cpu0 1 2 3 4 5 6 7 8")


def test_a_kernels_seconds_are_the_difference_of_its_two_marks():
    values = {"cpu_x.start": START, "cpu_x.end": END}
    assert kernel_seconds(values, "x") == 2.2
    assert kernel_seconds({"cpu_x.start": START}, "x") is None
    assert kernel_seconds({"cpu_x.start": END, "cpu_x.end": START}, "x") is None  # restarted
    assert kernel_seconds({"cpu_x.start": START, "cpu_x.end": "garbage"}, "x") is None


def test_a_row_names_every_kernel_and_leaves_sums_empty_when_one_is_missing():
    both = {"cpu_s.start": START, "cpu_s.end": END}
    cols = cpu_columns([both, both], "s")
    assert cols == {"cpu_s": 4.4, "cpu_s_k0": 2.2, "cpu_s_secondaries": 2.2,
                    "cpu_s_kernels": "k0=2.20 k1=2.20"}
    cols = cpu_columns([both, {}], "s")
    assert cols["cpu_s"] is None and cols["cpu_s_secondaries"] is None
    assert cols["cpu_s_k0"] == 2.2 and cols["cpu_s_kernels"] == "k0=2.20 k1=?"
    smp = cpu_columns([both], "s")
    assert smp["cpu_s"] == 2.2 and smp["cpu_s_secondaries"] is None


def test_console_values_come_from_each_kernels_own_console(tmp_path):
    (tmp_path / "console.log").write_text(f"@@POPCORN:KV cpu_a.start={START}\n"
                                          f"@@K1| @@POPCORN:KV cpu_a.start=relayed\n")
    (tmp_path / "console-k1.log").write_text(f"@@POPCORN:KV cpu_a.start={END}\n")
    values = console_values(tmp_path, 3)
    assert values[0]["cpu_a.start"] == START and values[1]["cpu_a.start"] == END
    assert values[2] == {}


def test_the_guests_own_steps_use_its_iperf3_names_and_the_hosts_their_case():
    assert mark_label("ns-ns", "client_to_server", 2) == "veth-2"
    assert mark_label("secondary-secondary", "client_to_server", 1) == "secondary-secondary-1"
    assert mark_label("outside-secondaries", "to_guest", 2) == "outside-secondaries.to_guest.2"


def test_cpu_per_gbit_only_with_both_figures():
    assert per_gbit(2.0, 1000.0, 2) == 1.0
    assert per_gbit(None, 1000.0, 2) is None and per_gbit(2.0, None, 2) is None


def test_a_mark_reaches_each_listener_and_a_missing_one_is_reported():
    """Listeners as the guest's marks loop is: read the label to the end, then close."""
    got: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                data = b""
                while chunk := conn.recv(64):
                    data += chunk
                got.append(data)
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert mark(list, "step.start", ["127.0.0.1"], port)
    assert mark(list, "step.end", ["127.0.0.1"], port)
    thread.join(5)
    assert got == [b"step.start\n", b"step.end\n"]
    server.close()
    assert not mark(list, "step.start", ["127.0.0.1"], port)  # nobody listens: said, not raised


def links(stops: int, ipis: int) -> str:
    """A links_<label> value as guest/exp/lib.sh's mark prints it: a link per ';'."""
    peer1 = f"1 1 100 200 {stops} {stops} 0 50 100 200 0 {3 * stops} {stops} 40 0 45"
    return f"{peer1};7 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0;ipis_received={ipis}"


def test_link_counters_per_kernel_and_peer_are_the_steps_differences():
    from popart.cpumarks import link_deltas, parse_links
    parsed, ipis = parse_links(links(3, 17))
    assert ipis == 17 and set(parsed) == {1, 7} and parsed[1]["full"] == 9
    assert parse_links("garbage;1 2;ipis_received=x") == ({}, 0)
    values = [{"links_s.start": links(3, 17), "links_s.end": links(10, 60)}, {}]
    rows = link_deltas(values, "s")
    assert len(rows) == 1  # kernel 1 missed its marks; peer 7 was never booted
    row = rows[0]
    assert (row["kernel"], row["peer"], row["stops"], row["full"], row["ipis_received"]) == (
        0, 1, 7, 21, 43)
    assert row["tx_packets"] == 0  # the same before and after
