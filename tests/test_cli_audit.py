"""`tamis audit sign-ins`: the operator sees every sign-in of the server, failures under names that
have no account included (no project's audit page can show those), never the name typed."""

from __future__ import annotations

import json
import secrets

import pytest
from fastapi.testclient import TestClient

from review_helpers import PASSWORD, add_reviewer
from test_cli_users import tamis
from test_review_throttle import _address, _try
from tamis.services import throttle

pytestmark = pytest.mark.slow  # argon2 sign-ins


def test_failed_sign_ins_under_unknown_names_are_shown_to_the_operator(app, project: str) -> None:  # type: ignore[no-untyped-def]
    ghost, name, address = f"ghost-{secrets.token_hex(4)}", add_reviewer(project), _address()
    with TestClient(app, base_url="https://testserver", client=(address, 4000)) as client:
        assert [_try(client, ghost) for _ in range(throttle.NAME_AFTER)] == [401] * throttle.NAME_AFTER
        assert _try(client, name, PASSWORD) == 303
    ip = throttle.ip_key(address).removeprefix("ip:")

    failed = tamis("audit", "sign-ins", "--failed", "--json", "--limit", "1000")
    assert failed.exit_code == 0, failed.output
    rows = [row for row in map(json.loads, failed.stdout.splitlines()) if row["address"] == ip]
    assert [r["kind"] for r in rows].count("sign_in_failed") == throttle.NAME_AFTER
    assert {(r["user"], r["no_such_account"]) for r in rows if r["kind"] == "sign_in_failed"} == {("anonymous", True)}
    assert [r["scope"] for r in rows if r["kind"] == "sign_in_throttled"] == ["name"]
    assert ghost not in failed.stdout  # the name typed (perhaps a password) is never kept

    every = tamis("audit", "sign-ins", "--json", "--limit", "1000")
    mine = [row for row in map(json.loads, every.stdout.splitlines()) if row["address"] == ip]
    assert mine[0]["kind"] == "sign_in" and mine[0]["user"] == name  # newest first, the success too

    table = tamis("audit", "sign-ins", "--failed", "--since", "2000-01-01")
    assert table.exit_code == 0 and "anonymous (no such account)" in table.stdout and ip in table.stdout
    assert "anonymous" not in tamis("audit", "sign-ins", "--failed", "--since", "2999-01-01").stdout


def test_bad_options_are_refused_with_the_reason() -> None:
    refused = tamis("audit", "sign-ins", "--since", "yesterday")
    assert refused.exit_code == 2 and "--since" in refused.output
    assert tamis("audit", "sign-ins", "--limit", "0").exit_code == 2
