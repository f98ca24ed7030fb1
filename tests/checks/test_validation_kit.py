"""The validator kit shared by the config file, check specs and the API: one row per case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from checks.errors import ConfigError
from checks.validation import (
    ErrorCollector,
    Fields,
    as_bool,
    as_choice,
    as_email,
    as_int,
    as_number,
    as_slug,
    as_text,
    as_timestamp,
    as_url,
)

ACCEPTED = [
    (as_text, ("  x ",), {"trim": True}, "x"),
    (as_text, (2024,), {"trim": True}, "2024"),
    (as_int, ("42",), {"lo": 1, "hi": 100, "text_ok": True}, 42),
    (as_int, (" 7 ",), {"lo": 1, "hi": 100, "text_ok": True}, 7),
    (as_number, ("1,000.5",), {}, Decimal("1000.5")),
    (as_email, (" Ops@Globex.Example ",), {}, "ops@globex.example"),
    (as_timestamp, ("2030-01-01T10:00:00+02:00",), {}, dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC)),
    (as_url, ("https://x.example/a?b=c",), {}, "https://x.example/a?b=c"),
    (as_slug, ("api-eu_1",), {}, "api-eu_1"),
]

REFUSED = [
    (as_text, (1,), {}, "must be a string, not a number"),
    (as_text, (True,), {"trim": True}, "must be a string, not a boolean"),
    (as_text, ("",), {"allow_empty": False}, "must not be empty"),
    (as_text, ("abcd",), {"max_len": 3}, "at most 3 characters"),
    (as_bool, ("yes",), {}, "must be true or false"),
    (as_bool, (1,), {}, "must be true or false"),
    (as_int, (True,), {"lo": 0, "hi": 9}, "whole number"),
    (as_int, ("5",), {"lo": 0, "hi": 9}, "whole number"),  # text only where text is expected
    (as_int, ("²",), {"lo": 0, "hi": 9, "text_ok": True}, "whole number"),
    (as_int, ("٣",), {"lo": 0, "hi": 9, "text_ok": True}, "whole number"),
    (as_int, ("1_000",), {"lo": 0, "hi": 9999, "text_ok": True}, "whole number"),
    (as_int, ("9" * 5000,), {"lo": 0, "hi": 9, "text_ok": True}, "between 0 and 9"),
    (as_int, (10,), {"lo": 0, "hi": 9}, "between 0 and 9, not 10"),
    (as_number, ("lots",), {}, "expected a number, got 'lots'"),
    (as_number, ("nan",), {}, "finite"),
    (as_number, (0,), {"minimum": 0, "exclusive_min": True}, "must be > 0"),
    (as_choice, ("exploded",), {"choices": ("investigating", "resolved")}, "must be one of investigating, resolved"),
    (as_choice, (["x"],), {"choices": ("x",)}, "must be one of"),
    (as_email, ("not-an-email",), {}, "not an email address"),
    (as_timestamp, ("2030-01-01T10:00:00",), {}, "needs a UTC offset"),
    (as_timestamp, ("soon",), {}, "ISO 8601"),
    (as_timestamp, ("0001-01-01T00:00:00Z",), {}, "out of range"),
    (as_url, ("ftp://x",), {}, "must start with http:// or https://"),
    (as_url, ("https://",), {}, "must include a host name"),
    (as_url, ("http://x:99999/",), {}, "invalid URL"),
    (as_slug, ("Bad Slug",), {}, "must be a slug"),
]


@pytest.mark.parametrize(("validator", "args", "kwargs", "expected"), ACCEPTED,
                         ids=[f"{v.__name__}-{a[0]!r}" for v, a, _, _ in ACCEPTED])
def test_it_accepts_and_cleans(validator, args, kwargs, expected):
    assert validator(*args, **kwargs) == expected


@pytest.mark.parametrize(("validator", "args", "kwargs", "message"), REFUSED,
                         ids=[f"{v.__name__}-{str(a[0])[:12]!r}" for v, a, _, _ in REFUSED])
def test_it_refuses_with_a_message_that_says_what_is_wrong(validator, args, kwargs, message):
    with pytest.raises(ConfigError) as info:
        validator(*args, **kwargs)
    assert message in str(info.value)


def test_fields_collect_every_problem_under_its_path():
    errors = ErrorCollector()
    f = Fields({"name": "", "public": "yes", "size": 0, "colour": "blue", "checks": {}}, "components[2]", errors)
    f.known({"name", "public", "size", "checks"})
    assert f.text("name", required=True) is None
    assert f.boolean("public", True) is True  # the default stands in, the problem is recorded
    assert f.integer("size", 1, 10, default=5) == 5
    assert f.listing("checks") == []
    assert f.text("missing", required=True) is None
    assert [path for path, _ in errors.problems] == [
        "components[2].colour", "components[2].name", "components[2].public", "components[2].size",
        "components[2].checks", "components[2].missing"]
    assert errors.errors[0].startswith("components[2].colour: unknown key")
    assert "components[2].missing: required" in errors.errors
