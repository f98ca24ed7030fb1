"""TCP probe against real sockets on 127.0.0.1."""

from __future__ import annotations

from checks.probes import run_probe
from tests.support.target import TcpTarget, free_port


def test_an_open_port_is_up(make_spec):
    with TcpTarget() as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port))
    assert result.outcome == "up", result.message
    assert result.conditions[0]["resolved"] == "[CONNECTED] (true) == true"
    assert result.observed["ip"] == "127.0.0.1"


def test_a_closed_port_is_down_with_refused(make_spec):
    result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=free_port()))
    assert result.outcome == "down"
    assert result.error_class == "refused"
    assert "connection refused" in result.message
    assert result.conditions[0]["resolved"] == "[CONNECTED] (false) == true"


def test_a_port_that_must_stay_closed_can_be_checked(make_spec):
    result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=free_port(), conditions=["[CONNECTED] == false"]))
    assert result.outcome == "up"
    assert result.error_class is None


def test_send_and_expect(make_spec):
    with TcpTarget(reply=b"+PONG\r\n") as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port, send="PING\r\n", expect="+PONG"))
        assert server.received == [b"PING\r\n"]
    assert result.outcome == "up", result.message
    assert result.conditions[-1]["resolved"] == '[BODY] (+PONG\\r\\n) contains "+PONG"'


def test_an_unexpected_answer_is_down(make_spec):
    with TcpTarget(reply=b"-ERR unknown\r\n") as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port, send="PING\r\n", expect="+PONG",
                                     timeout="1s", interval="10s"))
    assert result.outcome == "down"
    assert "-ERR unknown" in result.message


def test_a_banner_is_read_without_sending(make_spec):
    with TcpTarget(banner=b"220 mail.example ESMTP\r\n") as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port, expect="220 "))
    assert result.outcome == "up", result.message


def test_a_silent_server_is_cut_at_the_timeout(make_spec):
    with TcpTarget(silent=True) as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port, expect="+PONG",
                                     timeout="1s", interval="10s"))
    assert result.outcome == "down"
    assert result.error_class == "timeout"


def test_a_dripping_answer_is_cut_at_the_total_deadline(make_spec):
    with TcpTarget(reply=b"x" * 100 + b"+PONG", drip=0.1) as server:
        result = run_probe(make_spec(kind="tcp", host="127.0.0.1", port=server.port, send="PING", expect="+PONG",
                                     timeout="1s", interval="10s"))
    assert result.outcome == "down" and result.error_class == "timeout"


def test_an_unresolvable_host(make_spec):
    result = run_probe(make_spec(kind="tcp", host="nonexistent.invalid", port=80, timeout="3s"))
    assert result.outcome == "down"
    assert result.error_class == "dns"
