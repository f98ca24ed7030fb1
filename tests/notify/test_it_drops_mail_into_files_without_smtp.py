"""No SMTP host (the embedded default): mail lands as .eml files in the mail folder."""

import email
import email.policy

from statuspage import create_app
from statuspage.extensions import db
from statuspage.services.notifications.outbox.deliver import deliver_outbox
from tests.conftest import make_env
from tests.support import factories as f


def test_without_smtp_messages_are_written_as_eml_files(tmp_path, database_url):
    app = create_app({"TESTING": True}, env=make_env(tmp_path, database_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        f.page(name="Acme Cloud", public_id="acmepage")
        api = f.component("API", "api")
        f.subscriber("ops@customer.test")
        f.announced_incident("Outage", [api])
        assert deliver_outbox("w").sent == 1
        db.session.remove()
        db.engine.dispose()
    files = list((tmp_path / "instance" / "mail").glob("*.eml"))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "ops@customer.test" and msg["Subject"] == "[Acme Cloud] Investigating: Outage"
    assert msg["X-Envelope-To"] == "ops@customer.test"
