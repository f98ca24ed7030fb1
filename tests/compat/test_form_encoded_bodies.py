"""Form-encoded bodies become the same nested objects as JSON (Rails-style bracketed names)."""

import pytest
from werkzeug.datastructures import MultiDict

from statuspage.web.statuspage_api.core import StatuspageError
from statuspage.web.statuspage_api.forms import Fields, parse_form, parse_time

CASES = [
    ("flat", [("incident[name]", "API down")], {"incident": {"name": "API down"}}),
    ("status map", [("incident[components][abc]", "major_outage"), ("incident[components][def]", "")],
     {"incident": {"components": {"abc": "major_outage", "def": ""}}}),
    ("id list", [("incident[component_ids][]", "a"), ("incident[component_ids][]", "b")],
     {"incident": {"component_ids": ["a", "b"]}}),
    ("top-level list", [("subscribers[]", "1"), ("subscribers[]", "2")], {"subscribers": ["1", "2"]}),
    ("unicode", [("incident[name]", "Störung 💳")], {"incident": {"name": "Störung 💳"}}),
    ("deep", [("a[b][c][d]", "x")], {"a": {"b": {"c": {"d": "x"}}}}),
]


@pytest.mark.parametrize("pairs, expected", [(p, e) for _, p, e in CASES], ids=[c[0] for c in CASES])
def test_bracketed_names_nest(pairs, expected):
    assert parse_form(MultiDict(pairs)) == expected


BAD = [
    ("empty key part", [("incident[][name]", "x")]),
    ("value and object", [("incident", "x"), ("incident[name]", "y")]),
    ("object then value", [("incident[name]", "y"), ("incident", "x")]),
    ("list of objects", [("incident[updates][][body]", "x")]),
    ("unbalanced", [("incident[name", "x")]),
    ("list and value", [("a[b]", "x"), ("a[b][]", "y")]),
]


@pytest.mark.parametrize("pairs", [p for _, p in BAD], ids=[c[0] for c in BAD])
def test_malformed_names_are_a_400(pairs):
    with pytest.raises(StatuspageError) as err:
        parse_form(MultiDict(pairs))
    assert err.value.status == 400


TYPED = [
    ("true text", "boolean", "true", True), ("false text", "boolean", "0", False), ("json bool", "boolean", True, True),
    ("null", "boolean", "null", None), ("int text", "integer", "42", 42), ("json int", "integer", 7, 7),
]


@pytest.mark.parametrize("getter, raw, expected", [(g, r, e) for _, g, r, e in TYPED], ids=[c[0] for c in TYPED])
def test_form_text_reads_as_the_json_type(getter, raw, expected):
    f = Fields({"x": raw}, "thing", known=("x",))
    value = f.boolean("x") if getter == "boolean" else f.integer("x", 0, 100)
    assert value == expected


@pytest.mark.parametrize("raw", ["maybe", 3, [True]])
def test_a_boolean_that_is_not_one_is_a_422(raw):
    with pytest.raises(StatuspageError) as err:
        Fields({"x": raw}, "thing", known=("x",)).boolean("x")
    assert err.value.status == 422 and "thing[x]" in err.value.message


def test_unknown_fields_are_refused_and_documented_unused_ones_accepted():
    with pytest.raises(StatuspageError) as err:
        Fields({"nmae": "x"}, "incident", known=("name",), ignored=("metadata",))
    assert err.value.status == 400 and "incident[nmae]" in err.value.message
    Fields({"name": "x", "metadata": {"jira": {}}}, "incident", known=("name",), ignored=("metadata",))


@pytest.mark.parametrize("text, iso", [
    ("2013-04-21T13:07:16-06:00", "2013-04-21T19:07:16+00:00"),
    ("2013-05-07T03:00:00.007Z", "2013-05-07T03:00:00.007000+00:00"),
    ("2000-01-23T04:56:07.000+00:00", "2000-01-23T04:56:07+00:00"),
])
def test_statuspage_timestamps_parse_to_utc(text, iso):
    assert parse_time(text).isoformat() == iso


@pytest.mark.parametrize("text", ["2013-04-21T13:07:16", "yesterday", "", "9999-99-99T00:00:00Z", 12])
def test_a_time_without_offset_or_garbage_is_not_a_time(text):
    assert parse_time(text) is None
