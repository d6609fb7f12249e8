"""Parsers of the load generators, on outputs captured from real runs of the tools
(tests/data/net: against the guest through the test bed, and the failures on the host)."""
from pathlib import Path

import pytest

from conftest import REPO
from popart.loadgen import (LoadError, iperf3_argv, parse_iperf3, parse_iperf3_text,
                            parse_ping, parse_wrk, wrk_argv, wrk_spread_script)

DATA = REPO / "tests/data/net"


def sample(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize("name, mbit", [("iperf3-to-guest.json", 670.09),
                                        ("iperf3-from-guest.json", 650.08),
                                        ("iperf3-from-guest-2-streams.json", 674.96)])
def test_iperf3_throughput_is_what_the_receiver_counted(name, mbit):
    assert parse_iperf3(sample(name)) == pytest.approx(mbit, abs=0.01)


def test_iperf3_failures_are_one_line_errors():
    with pytest.raises(LoadError, match="iperf3: unable to connect to server: Connection refused"):
        parse_iperf3(sample("iperf3-refused.json"))
    with pytest.raises(LoadError, match="no JSON report"):
        parse_iperf3("iperf3: error - unable to connect")
    with pytest.raises(LoadError, match="sum_received"):
        parse_iperf3('{"end": {}}')


def test_iperf3_command_line():
    argv = iperf3_argv("10.77.1.2", 2, 4, reverse=True)
    assert argv[:3] == ["iperf3", "--client", "10.77.1.2"]
    assert "--reverse" in argv and argv[argv.index("--parallel") + 1] == "4"
    assert "--reverse" not in iperf3_argv("10.77.1.2", 2, 1, reverse=False)


def test_wrk_summary_and_percentiles():
    result = parse_wrk(sample("wrk-1024-8.txt"))
    assert (result.requests, result.rps, result.errors) == (9058, 4523.23, 0)
    assert (result.p50_ms, result.p99_ms) == (1.56, 5.90)


def test_wrk_units_and_errors_are_counted():
    text = sample("wrk-1024-8.txt").replace("50%    1.56ms", "50%  830.00us").replace(
        "99%    5.90ms", "99%    1.20s") + (
        "  Socket errors: connect 1, read 2, write 0, timeout 4\n"
        "  Non-2xx or 3xx responses: 5\n")
    result = parse_wrk(text)
    assert result.p50_ms == pytest.approx(0.83) and result.p99_ms == pytest.approx(1200)
    assert result.errors == 1 + 2 + 4 + 5


def test_wrk_that_could_not_connect_is_an_error():
    with pytest.raises(LoadError, match="unable to connect to 127.0.0.1:1 Connection refused"):
        parse_wrk(sample("wrk-refused.txt"))


def test_wrk_with_no_answer_has_no_percentiles():
    text = ("Running 2s test @ http://10.77.1.2/1\n  Latency Distribution\n"
            "     50%    0.00us\n     99%    0.00us\n"
            "  0 requests in 2.00s, 0.00B read\n"
            "  Socket errors: connect 0, read 0, write 0, timeout 8\n"
            "Requests/sec:      0.00\n")
    result = parse_wrk(text)
    assert result.requests == 0 and result.p50_ms is None and result.errors == 8


def test_wrk_never_has_more_threads_than_connections():
    argv = wrk_argv("http://x/1", threads=4, connections=2, seconds=3)
    assert argv[argv.index("--threads") + 1] == "2" and "3s" in argv


def test_ping_round_trips_in_microseconds():
    rtt = parse_ping(sample("ping.txt"))
    assert len(rtt) == 20 and all(t > 0 for t in rtt)


def test_ping_without_answer_is_an_error():
    with pytest.raises(LoadError, match="Network is unreachable"):
        parse_ping(sample("ping-unreachable.txt"))


def test_iperf3s_plain_output_gives_the_receivers_sum_or_its_error():
    assert parse_iperf3_text((DATA / "iperf3-text-2-streams.txt").read_text()) == 8933.0
    one = ("[  5]   0.00-2.00   sec   113 MBytes   474 Mbits/sec    0             sender\n"
           "[  5]   0.00-2.04   sec   112 MBytes   462 Mbits/sec                  receiver\n")
    assert parse_iperf3_text(one) == 462.0
    with pytest.raises(LoadError, match="iperf3: error - unable to connect to server"):
        parse_iperf3_text("iperf3: error - unable to connect to server: Connection refused\n")
    with pytest.raises(LoadError, match="no receiver summary: Connecting to host"):
        parse_iperf3_text("Connecting to host 10.78.0.2, port 5201\n")


def test_wrk_spreads_its_threads_over_several_servers_with_a_lua_setup():
    script = wrk_spread_script(["10.78.0.2", "10.78.0.3"])
    assert 'local servers = {"10.78.0.2", "10.78.0.3"}' in script
    assert 'thread.addr = wrk.lookup(servers[n % #servers + 1], "80")[1]' in script
    assert wrk_argv("http://10.78.0.2/1024", 2, 8, 5, Path("s.lua"))[-3:] == [
        "--script", "s.lua", "http://10.78.0.2/1024"]
