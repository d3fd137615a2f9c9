"""`tamis users`: reviewers' accounts and roles, as an operator manages them from the shell."""

from __future__ import annotations

import secrets

import pytest

from typer.testing import CliRunner, Result

from review_helpers import PASSWORD
from tamis.cli import app
from tamis.services import reviewers
from tamis.store.db import transaction


def tamis(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


def can_sign_in(name: str, password: str) -> bool:
    with transaction() as session:
        return reviewers.authenticate(session, name, password) is not None


@pytest.mark.slow  # several CLI runs, each hashing a password with argon2
def test_add_list_grant_disable_and_reset(project: str) -> None:
    name = f"ana-{secrets.token_hex(3)}"
    added = tamis("users", "add", name, "--project", project, "--role", "moderator", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert can_sign_in(name, PASSWORD) and not can_sign_in(name, PASSWORD + "x")
    listed = tamis("users", "list", "--project", project)
    assert name in listed.stdout and f"{project} (moderator)" in listed.stdout
    assert tamis("users", "grant", name, "--project", project, "--role", "admin").exit_code == 0
    assert f"{project} (admin)" in tamis("users", "list", "--project", project).stdout
    assert tamis("users", "disable", name).exit_code == 0
    assert not can_sign_in(name, PASSWORD)
    assert tamis("users", "disable", name, "--enable").exit_code == 0
    assert tamis("users", "reset-password", name, "--password-stdin", stdin="another long password\n").exit_code == 0
    assert can_sign_in(name, "another long password") and not can_sign_in(name, PASSWORD)
    assert tamis("users", "revoke", name, "--project", project).exit_code == 0
    assert name not in tamis("users", "list", "--project", project).stdout


def test_the_password_is_asked_twice_without_echo(project: str) -> None:
    name = f"bob-{secrets.token_hex(3)}"
    added = tamis("users", "add", name, "--project", project, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output and can_sign_in(name, PASSWORD)


def test_refusals_say_why_and_change_nothing(project: str) -> None:
    name = f"cy-{secrets.token_hex(3)}"
    short = tamis("users", "add", name, "--project", project, "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    bad_role = tamis("users", "add", name, "--project", project, "--role", "owner", "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "role must be one of" in bad_role.output
    with transaction() as session:
        assert reviewers.by_name(session, name) is None  # the account was not half-made
    assert tamis("users", "add", "Bad Name", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 2
    assert tamis("users", "disable", "nobody-" + name).exit_code == 2
    assert tamis("users", "revoke", "nobody-" + name, "--project", project).exit_code == 2
