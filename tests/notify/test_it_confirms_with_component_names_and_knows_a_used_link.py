"""The confirm page names the components as the page does, and a used link says so instead of asking again."""

from statuspage.services.notifications import tokens
from tests.support import factories as f
from tests.support.console import csrf_from


def test_the_confirm_page_names_components_and_a_second_visit_says_already_subscribed(app, client):
    api = f.component("Public API", "api")
    dbc = f.component("Managed Database", "managed-db")
    sub = f.subscriber("ops@customer.test", [api, dbc], confirmed=False)
    path = f"/subscribe/confirm/{tokens.make_token(sub.id, sub.token_version, 'confirm')}"

    page = client.get(path)
    assert page.status_code == 200
    assert "about Public API, Managed Database" in page.text
    assert "managed-db" not in page.text.replace('data-component="managed-db"', "")
    assert "Confirm subscription" in page.text

    done = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert "You are subscribed" in done.text and "Public API, Managed Database" in done.text

    again = client.get(path)
    assert again.status_code == 200
    assert "You are already subscribed" in again.text
    assert "Confirm subscription" not in again.text
    assert "/subscribe/manage/" in again.text


def test_subscription_pages_carry_the_site_navigation(app, client):
    f.component("Public API", "api")
    page = client.get("/subscribe").text
    assert 'href="/history"' in page and 'aria-current="page"' in page
