"""A personalised message is a valid MIME message whose two parts decode to exactly the rendered bodies
with the recipient's address and links put in — whatever the bodies hold (non-ASCII, '=', trailing
white space, lines far over 76 characters) — and no encoded line is longer than RFC 2045's 76."""

import email
import email.policy
import html

from hypothesis import given, settings
from hypothesis import strategies as st

from statuspage.mail.message import PH_EMAIL, PH_MANAGE, PH_UNSUBSCRIBE, build_template

PIECES = st.sampled_from([PH_EMAIL, PH_UNSUBSCRIBE, PH_MANAGE, "\n", "\r\n", " ", "\t", "=", ".", "é", "€",
                          "<b>", "&", "x" * 80])
BODY = st.lists(st.one_of(PIECES, st.text(max_size=30)), max_size=40).map("".join)


def _render(text: str, html_body: str, to: str, unsubscribe: str, manage: str) -> email.message.EmailMessage:
    template = build_template(sender="status@acme.example", sender_name="Acme", subject="Elevated errors",
                              text=text, html=html_body, message_id="<m1@acme.example>",
                              list_id="<status.acme.example>")
    raw = template.personalise(to=to, unsubscribe_url=unsubscribe, manage_url=manage,
                               unsubscribe_mailto="mailto:unsubscribe@acme.example?subject=x")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 998, "no line of a message may exceed SMTP's limit"
    return raw, email.message_from_bytes(raw, policy=email.policy.default)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(text=BODY, html_body=BODY)
def test_parts_decode_to_the_substituted_bodies(text, html_body):
    to = "ana.lopez+status@example.test"
    unsubscribe = "https://status.acme.example/unsubscribe/" + "T" * 120 + "?a=1&b=2"
    manage = "https://status.acme.example/subscriptions/manage/" + "M" * 90
    raw, msg = _render(text, html_body, to, unsubscribe, manage)

    plain = msg.get_body(("plain",)).get_content()
    rich = msg.get_body(("html",)).get_content()
    expected_plain = _normalise(text).replace(PH_EMAIL, to).replace(PH_UNSUBSCRIBE, unsubscribe) \
        .replace(PH_MANAGE, manage)
    expected_html = _normalise(html_body).replace(PH_EMAIL, html.escape(to)) \
        .replace(PH_UNSUBSCRIBE, html.escape(unsubscribe)).replace(PH_MANAGE, html.escape(manage))
    assert _normalise(plain) == expected_plain
    assert _normalise(rich) == expected_html

    body = raw.split(b"\r\n\r\n", 1)[1]
    for line in body.split(b"\r\n"):
        assert len(line) <= 76, line


def test_the_recipient_headers_are_per_recipient():
    _, a = _render("Hi @@SP-EMAIL@@", "<p>Hi @@SP-EMAIL@@</p>", "a@example.test", "https://x/u/a", "https://x/m/a")
    _, b = _render("Hi @@SP-EMAIL@@", "<p>Hi @@SP-EMAIL@@</p>", "b@example.test", "https://x/u/b", "https://x/m/b")
    assert a["To"] == "a@example.test" and b["To"] == "b@example.test"
    assert "<https://x/u/a>" in a["List-Unsubscribe"] and "<https://x/u/b>" in b["List-Unsubscribe"]
    assert a.get_body(("plain",)).get_content().strip() == "Hi a@example.test"
    assert a["Date"] and a["Message-ID"] == "<m1@acme.example>"
