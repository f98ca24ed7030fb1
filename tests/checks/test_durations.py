"""Durations and sizes: parsing, formatting and clear errors."""

from __future__ import annotations

import pytest

from checks.durations import format_duration, format_size, parse_duration, parse_size
from checks.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("24h", 86400.0),
        ("7d", 604800.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        (" 10s ", 10.0),
        ("10S", 10.0),
        ("30", 30.0),
        (30, 30.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
    ids=str,
)
def test_it_parses_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "abc", "10x", "-5s", "5 minutes", "s", "1h30", True, None, [], float("inf"), -1, "1e3s"],
    ids=repr,
)
def test_it_rejects_bad_durations_with_a_config_error(text):
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.25, "250ms"), (90, "1m30s"), (86400 * 3, "3d"), (5400, "1h30m"), (-7200, "-2h")],
    ids=str,
)
def test_it_formats_durations(seconds, text):
    assert format_duration(seconds) == text


def test_format_duration_round_trips_and_can_be_coarse():
    for seconds in (0.001, 1, 59.5, 3601, 86400 * 10 + 61):
        assert parse_duration(format_duration(seconds).lstrip("-")) == pytest.approx(seconds)
    assert format_duration(29 * 86400 + 3 * 3600 + 125, max_units=2) == "29d3h"


@pytest.mark.parametrize(
    ("text", "size"),
    [("10KB", 10_000), ("1MiB", 1_048_576), ("1mb", 1_000_000), ("512B", 512), ("2GiB", 2 * 1024**3),
     ("0.5KiB", 512), ("100", 100), (4096, 4096)],
    ids=str,
)
def test_it_parses_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "10XB", "-1KB", "KB", True, -5, 1.5, None], ids=repr)
def test_it_rejects_bad_sizes(text):
    with pytest.raises(ConfigError, match="size"):
        parse_size(text)


def test_format_size_uses_the_largest_exact_binary_unit():
    assert format_size(1024 * 1024) == "1MiB"
    assert format_size(1000) == "1000B"
