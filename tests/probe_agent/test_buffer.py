"""The agent's on-disk buffer: order, acks, the bound (oldest dropped, counted), and surviving kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from statuspage.probe_agent.buffer import ResultBuffer

ROOT = Path(__file__).resolve().parents[2]


def rows(start: int, count: int, check_id: int = 1) -> list[dict]:
    return [{"check_id": check_id, "slot": f"2026-01-01T00:00:{i:02d}.000+00:00", "n": i}
            for i in range(start, start + count)]


def test_rows_come_back_oldest_first_until_acked(tmp_path: Path) -> None:
    buffer = ResultBuffer(tmp_path / "b.sqlite")
    assert buffer.depth() == 0 and buffer.oldest() is None and buffer.peek(10) == []
    buffer.put_many(rows(0, 3))
    buffer.put_many(rows(3, 2))
    peeked = buffer.peek(4)
    assert [r.row["n"] for r in peeked] == [0, 1, 2, 3]
    assert [r.seq for r in peeked] == sorted(r.seq for r in peeked)
    assert buffer.depth() == 5 and buffer.oldest() is not None
    assert buffer.ack(peeked[1].seq) == 2
    assert [r.row["n"] for r in buffer.peek(10)] == [2, 3, 4]
    assert buffer.depth() == 3
    buffer.ack(buffer.peek(10)[-1].seq)
    assert buffer.depth() == 0 and buffer.oldest() is None


def test_a_full_buffer_drops_the_oldest_rows_and_counts_them(tmp_path: Path) -> None:
    buffer = ResultBuffer(tmp_path / "b.sqlite", max_rows=5)
    buffer.put_many(rows(0, 4))
    buffer.put_many(rows(4, 3))
    assert buffer.depth() == 5
    assert [r.row["n"] for r in buffer.peek(10)] == [2, 3, 4, 5, 6]
    assert buffer.dropped == 2
    buffer.put_many(rows(7, 8))  # one put larger than the bound keeps its newest rows
    assert [r.row["n"] for r in buffer.peek(10)] == [10, 11, 12, 13, 14]
    assert buffer.dropped == 10
    buffer.close()
    reopened = ResultBuffer(tmp_path / "b.sqlite", max_rows=5)
    assert reopened.dropped == 10 and reopened.depth() == 5


def test_reopening_with_a_smaller_bound_drops_the_oldest(tmp_path: Path) -> None:
    ResultBuffer(tmp_path / "b.sqlite").put_many(rows(0, 6))
    buffer = ResultBuffer(tmp_path / "b.sqlite", max_rows=4)
    assert [r.row["n"] for r in buffer.peek(10)] == [2, 3, 4, 5]
    assert buffer.dropped == 2


def test_sequence_numbers_never_go_back_after_everything_is_acked(tmp_path: Path) -> None:
    buffer = ResultBuffer(tmp_path / "b.sqlite")
    buffer.put_many(rows(0, 2))
    last = buffer.peek(2)[-1].seq
    buffer.ack(last)
    buffer.close()
    buffer = ResultBuffer(tmp_path / "b.sqlite")
    buffer.put_many(rows(2, 1))
    assert buffer.peek(1)[0].seq > last


def test_last_slots_and_the_checks_list_are_remembered(tmp_path: Path) -> None:
    buffer = ResultBuffer(tmp_path / "b.sqlite")
    assert buffer.last_slots() == {} and buffer.cached_checks() is None
    buffer.put_many(rows(0, 3, check_id=7) + rows(10, 1, check_id=8))
    buffer.ack(buffer.peek(10)[-1].seq)  # acking does not forget what was produced
    buffer.save_checks({"location": "eu-west", "checks": [{"id": 7}]})
    buffer.close()
    buffer = ResultBuffer(tmp_path / "b.sqlite")
    slots = buffer.last_slots()
    assert {k: v.isoformat() for k, v in slots.items()} == {
        7: "2026-01-01T00:00:02+00:00", 8: "2026-01-01T00:00:10+00:00"}
    assert buffer.cached_checks() == {"location": "eu-west", "checks": [{"id": 7}]}


def test_a_bound_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ResultBuffer(tmp_path / "b.sqlite", max_rows=0)


def test_what_was_put_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    code = (
        "import sys, time\n"
        "from statuspage.probe_agent.buffer import ResultBuffer\n"
        "b = ResultBuffer(sys.argv[1])\n"
        "for i in range(50):\n"
        "    b.put_many([{'check_id': 1, 'slot': f'2026-01-01T00:{i:02d}:00.000+00:00', 'n': i}])\n"
        "print('put', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "put"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    buffer = ResultBuffer(path)
    assert [r.row["n"] for r in buffer.peek(100)] == list(range(50))
    assert buffer.last_slots()[1].minute == 49
