"""Titles and page names with CR/LF cannot add headers or recipients."""

from tests.support import factories as f


def test_a_title_with_line_breaks_cannot_inject_headers(app, smtp_server, deliver):
    f.page(name="Acme\r\nBcc: page@evil.test", public_id="acmepage")
    api = f.component("API", "api")
    f.subscriber("ops@customer.test")
    f.announced_incident("Outage\r\nBcc: attacker@evil.test\nX-Injected: yes", [api])
    deliver()
    (mail,) = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["ops@customer.test"]
    headers = mail.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "\nBcc:" not in headers and "\nX-Injected" not in headers
    assert mail.message["Bcc"] is None and mail.message["X-Injected"] is None
    # (folding may start the value on a continuation line; unfolded, it is one line of text)
    assert mail.message["Subject"].strip() == "[Acme Bcc: page@evil.test] Investigating: Outage Bcc: attacker@evil.test X-Injected: yes"
    assert mail.message["Thread-Topic"].strip() == "Outage Bcc: attacker@evil.test X-Injected: yes"
