"""The statuspage command: users, tokens, help."""

import subprocess
import sys

from sqlalchemy import select

from statuspage.extensions import db
from statuspage.models import ApiToken, AuditLog, User
from statuspage.services.users import authenticate, find_token


def test_user_create_reads_the_password_from_stdin(runner):
    result = runner.invoke(args=["user", "create", "--email", "Oncall@Acme.example", "--role", "responder",
                                 "--password-stdin"], input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "oncall@acme.example" and user.role == "responder"
    assert "correct horse" not in user.password_hash and user.password_hash.startswith("$argon2")
    assert authenticate("oncall@acme.example", "correct horse battery") is not None
    assert authenticate("oncall@acme.example", "wrong password!") is None
    assert db.session.scalar(select(AuditLog.action)) == "user.create"


def test_user_create_rejects_short_passwords_and_duplicates(runner):
    short = runner.invoke(args=["user", "create", "--email", "a@acme.example", "--role", "admin",
                                "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    runner.invoke(args=["user", "create", "--email", "a@acme.example", "--role", "admin", "--password-stdin"],
                  input="long enough password\n")
    dup = runner.invoke(args=["user", "create", "--email", "A@acme.example", "--role", "admin",
                              "--password-stdin"], input="long enough password\n")
    assert dup.exit_code == 1 and "already exists" in dup.output


def test_token_create_prints_only_the_token_and_stores_its_hash(runner):
    result = runner.invoke(args=["token", "create", "--name", "deploy bot", "--scope", "write"])
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert token.startswith("sp_") and "\n" not in token
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash != token and row.scope == "write"
    assert find_token(token).id == row.id
    assert find_token(token + "x") is None


def test_every_command_has_help():
    for args in (["--help"], ["run", "--help"], ["worker", "--help"], ["db", "upgrade", "--help"],
                 ["config", "check", "--help"], ["config", "apply", "--help"], ["user", "create", "--help"],
                 ["token", "create", "--help"], ["probe", "--help"]):
        out = subprocess.run([sys.executable, "-m", "statuspage.cli", *args], capture_output=True, text=True,
                             timeout=60, env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "x" * 32,
                                              "STATUSPAGE_INSTANCE_PATH": "/tmp/sp-help-test"})
        assert out.returncode == 0, (args, out.stderr)
        assert "Usage:" in out.stdout


def test_a_bad_setting_stops_the_command_naming_the_variable(tmp_path):
    out = subprocess.run([sys.executable, "-m", "statuspage.cli", "config", "apply", "x.yml"],
                         capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "STATUSPAGE_INSTANCE_PATH": str(tmp_path),
                              "STATUSPAGE_SMTP_TLS": "yes please"})
    assert out.returncode == 2
    assert "STATUSPAGE_SMTP_TLS: expected one of none, starttls, ssl" in out.stderr
