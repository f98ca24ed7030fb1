"""Read a console form the way a browser submits it: its action and the fields it would send."""

from __future__ import annotations

from lxml import html as lxml_html


def form_of_button(page: str, label: str, url: str = "") -> tuple[str, dict[str, str], lxml_html.HtmlElement]:
    """(action, fields, button) of the form that the submit button labelled ``label`` submits.

    ``url`` is the page's own address: a form without an action posts back to it.

    Follows the ``form="id"`` attribute like a browser: fields outside the <form> element that name it
    are sent, and the button's own name/value is added.
    """
    doc = lxml_html.fromstring(page)
    buttons = [b for b in doc.iter("button") if b.text_content().strip() == label]
    assert buttons, f"no button {label!r}"
    button = buttons[0]
    form_id = button.get("form")
    form = doc.get_element_by_id(form_id) if form_id else next(button.iterancestors("form"))
    fields: dict[str, str] = {}
    members = list(form.iter("input", "textarea", "select"))
    if form.get("id"):
        members += [el for el in doc.iter("input", "textarea", "select")
                    if el.get("form") == form.get("id") and el not in members]
    for el in members:
        name = el.get("name")
        if not name or el.get("disabled") is not None:
            continue
        if el.tag == "input" and el.get("type") in ("checkbox", "radio"):
            if el.get("checked") is not None:
                fields[name] = el.get("value", "on")
        elif el.tag == "input" and el.get("type") in ("submit", "button"):
            continue
        elif el.tag == "select":
            chosen = [o for o in el.iter("option") if o.get("selected") is not None] or list(el.iter("option"))[:1]
            fields[name] = chosen[0].get("value", chosen[0].text or "") if chosen else ""
        elif el.tag == "textarea":
            fields[name] = el.text or ""
        else:
            fields[name] = el.get("value", "")
    if button.get("name"):
        fields[button.get("name")] = button.get("value", "")
    return button.get("formaction") or form.get("action") or url, fields, button
