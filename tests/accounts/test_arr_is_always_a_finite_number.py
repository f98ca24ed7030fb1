"""Issue 17, item 10: an ARR of 1e400 was stored as infinity and served as ``"arr": Infinity``
(invalid JSON). Every way in — console form, API, config file, CSV — now refuses what the column
cannot hold, and the API only ever serves finite numbers."""

import json
import math

import pytest

from statuspage.configfile import ConfigFileError, parse_config
from statuspage.extensions import db
from statuspage.models import Account
from statuspage.services.accounts.csv_import import import_accounts_csv
from statuspage.services.users import create_token
from tests.support import factories as f
from tests.support.console import csrf_token, login

HUGE = ["1e400", "1e13", "1000000000000", "9" * 30]


@pytest.mark.parametrize("arr", HUGE)
def test_the_console_form_refuses_it(app, client, arr):
    f.page()
    f.component("Public API", "api")
    login(client, f.user("account_manager", "amy@acme.test"))
    token = csrf_token(client, "/admin/accounts/new")
    resp = client.post("/admin/accounts/new", data={"csrf_token": token, "id": "ACME-7", "name": "Initrode",
                                                    "arr": arr, "components": ["api"]})
    assert resp.status_code == 400 and 'id="err-arr"' in resp.text
    assert db.session.query(Account).count() == 0


@pytest.mark.parametrize("body", ['{"id": "A-1", "name": "X", "arr": 1e400}',
                                  '{"id": "A-1", "name": "X", "arr": "1e400"}',
                                  '{"id": "A-1", "name": "X", "arr": 1e13}'])
def test_the_api_refuses_it(app, client, body):
    _, token = create_token("w", "write")
    resp = client.post("/api/v1/accounts", data=body, headers={"Authorization": f"Bearer {token}",
                                                               "Content-Type": "application/json"})
    if "1e400}" in body:  # not a number JSON can carry: refused while parsing (web/jsonbody.py)
        assert resp.status_code == 400, resp.text
    elif '"1e400"' in body:  # text where a number belongs: malformed
        assert resp.status_code == 400 and "arr" in resp.get_json()["error"]["fields"], resp.text
    else:
        assert resp.status_code == 422 and "arr" in resp.get_json()["error"]["fields"]
    assert db.session.query(Account).count() == 0


def test_the_config_file_and_csv_refuse_it(app):
    with pytest.raises(ConfigFileError) as err:
        parse_config("accounts:\n  - {id: A-1, name: X, arr: 1e400}\n", env={})
    assert any("accounts[0].arr" in e for e in err.value.errors)
    report = import_accounts_csv("id,name,arr\nA-1,X,1e400\n", actor=f.ALICE)
    assert db.session.query(Account).count() == 0
    assert "arr" in str(report.to_dict())


def test_the_largest_figure_the_column_holds_round_trips_as_valid_json(app, client):
    _, token = create_token("w", "write")
    auth = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/accounts", json={"id": "A-1", "name": "X", "arr": 999_999_999_999}, headers=auth)
    assert resp.status_code == 201, resp.text
    text = client.get("/api/v1/accounts/A-1", headers=auth).get_data(as_text=True)
    arr = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))["arr"]
    assert math.isfinite(arr) and arr == 999_999_999_999
