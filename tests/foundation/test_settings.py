"""Settings come from the environment, typed, and a bad value stops start-up naming the variable."""

import pytest

from statuspage.config import SettingsError, load_settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATUSPAGE_SECURE_COOKIES": "maybe"}, "STATUSPAGE_SECURE_COOKIES: expected true or false"),
        ({"STATUSPAGE_PUBLIC_URL": "status.acme.example"}, "STATUSPAGE_PUBLIC_URL: expected an absolute"),
        ({"STATUSPAGE_PUBLIC_URL": "ftp://x.example"}, "STATUSPAGE_PUBLIC_URL"),
        ({"STATUSPAGE_SMTP_PORT": "twenty-five"}, "STATUSPAGE_SMTP_PORT: expected an integer"),
        ({"STATUSPAGE_SMTP_PORT": "70000"}, "STATUSPAGE_SMTP_PORT: must be ≤ 65535"),
        ({"STATUSPAGE_SMTP_TLS": "tls"}, "STATUSPAGE_SMTP_TLS: expected one of none, starttls, ssl"),
        ({"STATUSPAGE_MAIL_FROM": "nobody"}, "STATUSPAGE_MAIL_FROM: expected an email address"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: expected a sqlite:/// or postgresql://"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY: must be at least 16 characters"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_it_rejects_bad_values_naming_the_variable(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        load_settings({"STATUSPAGE_INSTANCE_PATH": str(tmp_path), **env})


def test_embedded_mode_generates_a_secret_key_once(tmp_path):
    first = load_settings({"STATUSPAGE_INSTANCE_PATH": str(tmp_path)})
    second = load_settings({"STATUSPAGE_INSTANCE_PATH": str(tmp_path)})
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_defaults_are_the_embedded_product(tmp_path):
    s = load_settings({"STATUSPAGE_INSTANCE_PATH": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'statuspage.db'}"
    assert s.smtp_host is None and s.mail_dir == tmp_path / "mail"


def test_it_reads_typed_values_and_secret_files(tmp_path):
    (tmp_path / "pw").write_text("s3cret\n")
    s = load_settings({
        "STATUSPAGE_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": "postgres://u@db/sp",
        "STATUSPAGE_SMTP_HOST": "smtp.example", "STATUSPAGE_SMTP_TLS": "ssl",
        "STATUSPAGE_SMTP_PASSWORD_FILE": str(tmp_path / "pw"),
        "STATUSPAGE_PUBLIC_URL": "https://status.acme.example/",
        "SECRET_KEY": "x" * 40,
    })
    assert s.database_url == "postgresql+psycopg://u@db/sp"
    assert s.smtp_port == 465 and s.smtp_password == "s3cret"
    assert s.public_url == "https://status.acme.example"
    assert s.session_cookie_secure is True


def test_nothing_reads_the_environment_at_import_time(monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("STATUSPAGE_SMTP_PORT", "not-a-number")
    for name in [m for m in sys.modules if m == "statuspage" or m.startswith("statuspage.")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.import_module("statuspage")
    importlib.import_module("statuspage.models")
    importlib.import_module("statuspage.cli")
