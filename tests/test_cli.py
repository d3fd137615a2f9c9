"""The `tamis` command: keys, moderate, policy, webhooks, help, and `tamis serve` for real.

Commands run in-process through typer's CliRunner against the test database (conftest points the
TAMIS_* environment at it); `serve` runs as a subprocess with the same environment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner, Result

from serving import serve as _serve
from serving import stop as _stop
from tamis.cli import app
from tamis.store.db import transaction
from tamis.store.models import ApiKey, Decision, Delivery, PolicyVersion, Webhook

PROFANE = "you are a fucking idiot"
IMAGE_CATEGORIES = {"sexual", "violence/graphic"}  # what nsfw-image and image-safety score


def tamis(*args: str, columns: int = 200) -> Result:
    # Wide by default, so that rich wraps no message in the middle of what a test looks for.
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def ok(*args: str, columns: int = 200) -> Result:
    result = tamis(*args, columns=columns)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def last_line(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def assert_clean_error(result: Result, *needles: str) -> None:
    """Exit 2, a one-line-ish message on stderr naming the problem, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stderr.startswith("error:"), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def create_key(project: str, name: str = "") -> tuple[str, Result]:
    result = ok("keys", "create", "--project", project, *(["--name", name] if name else []))
    return last_line(result), result


def key_id_for(plaintext: str) -> str:
    from tamis.store.queries import hash_key

    with transaction() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext)))
        assert key is not None
        return key.id


# --- keys ----------------------------------------------------------------------------------------


@pytest.mark.models
def test_keys_create_authenticates_list_and_revoke(client, project) -> None:  # type: ignore[no-untyped-def]
    plaintext, result = create_key(project, name="ci bot")
    assert plaintext.startswith("tamis_") and len(plaintext) > 40
    assert result.stdout.strip() == plaintext  # nothing else on stdout: `KEY=$(tamis keys create)` works
    key_id = key_id_for(plaintext)
    assert key_id in result.stderr and project in result.stderr

    auth = {"Authorization": f"Bearer {plaintext}"}
    response = client.post("/v1/moderate", json={"items": [{"data_id": "c1", "text": PROFANE}]}, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["project"] == project
    assert response.json()["results"][0]["verdict"] == "block"

    # Listings are piped and read in narrow terminals too: 80 columns must not cut the ids short.
    listing = ok("keys", "list", "--project", project, columns=80).stdout
    assert plaintext[:12] in listing  # the prefix
    assert plaintext not in listing  # never the key itself
    assert key_id in listing  # in full, whatever the width: `keys revoke` takes it
    assert "ci bot" in listing
    [row] = [line for line in listing.splitlines() if key_id in line]
    assert project in row
    assert ok("keys", "list").stdout.count(key_id) == 1  # all projects

    # Revoke: the API refuses the key (the auth cache holds a key for at most 5 s).
    revoked = ok("keys", "revoke", key_id)
    assert key_id in revoked.stderr
    with transaction() as session:
        assert session.get(ApiKey, key_id).revoked_at is not None  # type: ignore[union-attr]
    listing = ok("keys", "list", "--project", project).stdout
    [row] = [line for line in listing.splitlines() if key_id in line]
    assert row.count(time.strftime("%Y-")) == 2  # created and revoked dates
    deadline = time.monotonic() + 8
    while (status := client.get("/v1/webhooks", headers=auth).status_code) != 401 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert status == 401

    assert_clean_error(tamis("keys", "revoke", key_id), key_id)  # already revoked
    assert_clean_error(tamis("keys", "revoke", "key_nope"), "key_nope")


# --- moderate ------------------------------------------------------------------------------------


@pytest.mark.models
def test_moderate_text_prints_the_result_shape(project) -> None:  # type: ignore[no-untyped-def]
    result = ok("moderate", PROFANE, "--project", project)
    doc = json.loads(result.stdout)
    assert doc["id"].startswith("dec_")
    assert doc["project"] == project
    assert doc["policy"] == {"id": "default", "version": 0, "shadow": False}
    [item] = doc["results"]
    assert item["data_id"] == "cli"
    assert item["verdict"] == "block"
    harassment = {c["name"]: c for c in item["categories"]}["harassment"]
    assert harassment["flagged"] is True and harassment["score"] >= 0.8
    assert any(a.startswith("text-model@") for a in harassment["analyzers"])
    spans = [PROFANE[e["start"]:e["end"]] for e in item["evidence"] if e["type"] == "span"]
    assert PROFANE in spans  # the sentence that carried the score
    assert [a["name"] for a in item["analyzers"]] == ["text-model", "links"]
    assert item["language"]["code"] == "en"
    with transaction() as session:
        decision = session.get(Decision, doc["id"])
        assert decision is not None and decision.source == "cli" and decision.project_id == project

    # --no-store judges without recording.
    unrecorded = json.loads(ok("moderate", "hello there, lovely weather", "--project", project, "--no-store").stdout)
    assert unrecorded["results"][0]["verdict"] == "pass"
    with transaction() as session:
        assert session.get(Decision, unrecorded["id"]) is None


@pytest.mark.models
def test_moderate_image_prints_image_categories(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "sky.png"
    image = Image.new("RGB", (96, 64))
    image.putdata([(x * 2, 100 + y, 200) for y in range(64) for x in range(96)])
    image.save(path)
    doc = json.loads(ok("moderate", str(path), "--project", project).stdout)
    [item] = doc["results"]
    assert item["data_id"] == "sky.png"
    assert item["verdict"] == "pass"
    names = {c["name"] for c in item["categories"]}
    assert IMAGE_CATEGORIES <= names
    assert "harassment" not in names  # no text: not assessed, not 0
    assert {a["name"] for a in item["analyzers"]} == {"nsfw-image", "image-safety", "image-text", "links", "hash-match"}
    for category in item["categories"]:
        assert 0.0 <= category["score"] < 0.5 and category["flagged"] is False


@pytest.mark.models
def test_moderate_text_file_and_bad_files(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    note = tmp_path / "note.txt"
    note.write_text(PROFANE)
    doc = json.loads(ok("moderate", str(note), "--project", project).stdout)
    assert doc["results"][0]["data_id"] == "note.txt" and doc["results"][0]["verdict"] == "block"

    blob = tmp_path / "data.bin"
    blob.write_bytes(b"\x00\x01\x02 this is no image at all" * 10)
    result = tamis("moderate", str(blob), "--project", project)
    assert_clean_error(result, "not an image", str(blob))
    assert result.stdout == ""

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert_clean_error(tamis("moderate", str(broken), "--project", project), str(broken))

    assert_clean_error(tamis("moderate", "   ", "--project", project), "empty")
    assert_clean_error(tamis("moderate", "hi", "--project", project, "--policy", "nope"), "'nope'", project)
    with transaction() as session:  # only note.txt was recorded
        assert len(session.scalars(select(Decision).where(Decision.project_id == project)).all()) == 1


# --- policy --------------------------------------------------------------------------------------


@pytest.mark.models
def test_policy_set_and_show(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = json.loads(ok("policy", "show", "--project", project).stdout)
    assert before["enforced"]["version"] == 0 and "shadow" not in before

    good = tmp_path / "policy.json"
    good.write_text(json.dumps({
        "description": "strict on profanity",
        "analyzers": ["profanity-text"],
        "categories": {"profanity": {"review": 0.3, "block": 0.9}},
        "block_lists": [{"name": "brand-terms", "terms": ["acme sucks"], "action": "block", "category": "harassment"}],
    }))
    result = ok("policy", "set", str(good), "--project", project)
    assert "version 1" in result.stderr
    shown = json.loads(ok("policy", "show", "--project", project).stdout)
    enforced = shown["enforced"]
    assert enforced["version"] == 1
    assert enforced["description"] == "strict on profanity"
    assert enforced["analyzers"] == ["profanity-text"]
    assert enforced["categories"]["profanity"] == {"review": 0.3, "block": 0.9}
    assert enforced["block_lists"][0]["terms"] == ["acme sucks"]

    # The new version is what moderation now runs.
    doc = json.loads(ok("moderate", "well, acme sucks", "--project", project).stdout)
    assert doc["policy"]["version"] == 1 and doc["results"][0]["verdict"] == "block"

    # A shadow version runs beside it.
    ok("policy", "set", str(good), "--project", project, "--shadow")
    shown = json.loads(ok("policy", "show", "--project", project).stdout)
    assert shown["enforced"]["version"] == 1 and shown["shadow"]["version"] == 2

    bad_category = tmp_path / "bad.json"
    bad_category.write_text(json.dumps({"categories": {"ethnicity": {"review": 0.5}}}))
    assert_clean_error(tamis("policy", "set", str(bad_category), "--project", project), "categories", "ethnicity")
    bad_order = tmp_path / "order.json"
    bad_order.write_text(json.dumps({"categories": {"profanity": {"review": 0.9, "block": 0.2}}}))
    assert_clean_error(tamis("policy", "set", str(bad_order), "--project", project), "categories.profanity")
    bad_field = tmp_path / "field.json"
    bad_field.write_text(json.dumps({"thresholds": {}}))
    assert_clean_error(tamis("policy", "set", str(bad_field), "--project", project), "thresholds")
    bad_analyzer = tmp_path / "analyzer.json"
    bad_analyzer.write_text(json.dumps({"analyzers": ["face-id"]}))
    assert_clean_error(tamis("policy", "set", str(bad_analyzer), "--project", project), "analyzers", "face-id")
    not_json = tmp_path / "[draft] policy.json"
    not_json.write_text("{not json")
    assert_clean_error(tamis("policy", "set", str(not_json), "--project", project), str(not_json))
    missing = tamis("policy", "set", str(tmp_path / "missing.json"), "--project", project)
    assert missing.exit_code == 2 and "missing.json" in missing.stderr and "Traceback" not in missing.stderr

    with transaction() as session:
        versions = session.scalars(
            select(PolicyVersion.version).where(PolicyVersion.project_id == project).order_by(PolicyVersion.version)
        ).all()
    assert versions == [1, 2]  # the bad files wrote nothing

    assert_clean_error(tamis("policy", "show", "nope", "--project", project), "'nope'")


# --- webhooks ------------------------------------------------------------------------------------


def _deliveries(project: str) -> list[Delivery]:
    with transaction() as session:
        return list(session.scalars(select(Delivery).where(Delivery.project_id == project).order_by(Delivery.id)))


def _set(delivery_id: str, **values: Any) -> None:
    with transaction() as session:
        row = session.get(Delivery, delivery_id)
        for name, value in values.items():
            setattr(row, name, value)


@pytest.mark.models
def test_webhooks_add_list_replay(project, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    url = "http://127.0.0.1:9/hooks/tamis"  # nothing is sent in this test: the port is discard's
    added = ok("webhooks", "add", url, "--project", project, "--verdicts", "review,block")
    secret = last_line(added)
    assert secret.startswith("whsec_")
    with transaction() as session:
        [hook] = session.scalars(select(Webhook).where(Webhook.project_id == project)).all()
        hook_id = hook.id
        assert hook.secret == secret and hook.url == url and hook.verdicts == ["review", "block"]
    assert hook_id in added.stderr

    everything = ok("webhooks", "add", url + "?all", "--project", project, "--verdicts", "pass,review,block", "--include-shadow")
    with transaction() as session:
        second = session.scalar(select(Webhook).where(Webhook.secret == last_line(everything)))
        assert second is not None and second.include_shadow is True and second.verdicts == ["pass", "review", "block"]

    # Two reviewed decisions, one passed one: 2 + 3 deliveries.
    decisions = [json.loads(ok("moderate", text, "--project", project).stdout)["id"]
                 for text in (PROFANE, "shut up you fucking moron", "what a lovely garden")]
    rows = _deliveries(project)
    assert len(rows) == 5 and all(r.status == "pending" for r in rows)
    mine = [r for r in rows if r.webhook_id == hook_id]
    assert sorted(r.decision_id for r in mine) == sorted(decisions[:2])

    listing = ok("webhooks", "list", "--project", project, columns=80).stdout
    [row] = [line for line in listing.splitlines() if hook_id in line]
    assert url in row and "review,block" in row
    assert [cell.strip() for cell in row.split("│")[-5:-1]] == ["True", "2", "0", "0"]  # active, pending, delivered, failed
    assert second.id in listing
    assert hook_id not in ok("webhooks", "list", "--project", f"{project}-other").stdout

    # One given up, one delivered: replay by id re-queues just that one.
    failed, delivered = mine
    _set(failed.id, status="failed", attempts=12, last_error="HTTP 500", next_attempt_at=time.time() - 999)
    _set(delivered.id, status="delivered", attempts=1)
    ok("webhooks", "replay", failed.id, "--project", project)
    with transaction() as session:
        again = session.get(Delivery, failed.id)
        assert (again.status, again.attempts, again.last_error) == ("pending", 0, None)  # type: ignore[union-attr]
        assert abs(again.next_attempt_at - time.time()) < 30  # type: ignore[union-attr]
        assert session.get(Delivery, delivered.id).status == "delivered"  # type: ignore[union-attr]

    # By webhook and status.
    _set(failed.id, status="failed", attempts=12)
    result = ok("webhooks", "replay", "--webhook", hook_id, "--status", "failed", "--project", project)
    assert "1" in result.stderr
    statuses = {r.id: (r.status, r.attempts) for r in _deliveries(project)}
    assert statuses[failed.id] == ("pending", 0)
    assert statuses[delivered.id] == ("delivered", 1)
    ok("webhooks", "replay", "--webhook", hook_id, "--status", "all", "--project", project)
    statuses = {r.id: (r.status, r.attempts) for r in _deliveries(project)}
    assert statuses[delivered.id] == ("pending", 0)
    assert {s for r, s in statuses.items() if r not in (failed.id, delivered.id)} == {("pending", 0)}

    # Other projects' deliveries are out of reach, and bad calls say why.
    assert_clean_error(tamis("webhooks", "replay", failed.id, "--project", f"{project}-other"), failed.id)
    assert_clean_error(tamis("webhooks", "replay", "--project", project), "delivery id")
    assert_clean_error(tamis("webhooks", "add", "ftp://example.com/x", "--project", project), "http://")
    assert_clean_error(tamis("webhooks", "add", url, "--project", project, "--verdicts", "maybe"), "verdicts")
    # Loopback is allowed for this test (TAMIS_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8), other private networks are not.
    assert_clean_error(tamis("webhooks", "add", "http://10.0.0.1:6379/x", "--project", project), "TAMIS_WEBHOOK_ALLOW_NETWORKS")

    with transaction() as session:  # leave nothing due for senders in other tests
        for row in session.scalars(select(Delivery).where(Delivery.project_id == project)):
            row.status = "failed"


# --- help ----------------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = ok("--help")
    commands = set()
    for line in result.stdout.splitlines():
        words = line.strip("│ ").split()
        if words:
            commands.add(words[0])
    assert {"serve", "worker", "moderate", "scan", "keys", "policy", "webhooks"} <= commands
    for group, subcommands in {"keys": {"create", "list", "revoke"}, "policy": {"set", "show"},
                               "webhooks": {"add", "list", "replay"}}.items():
        listed = {line.strip("│ ").split()[0] for line in ok(group, "--help").stdout.splitlines() if line.strip("│ ")}
        assert subcommands <= listed, (group, listed)
    serve_help = ok("serve", "--help").stdout
    assert "--host" in serve_help and "--port" in serve_help


# --- tamis serve, for real ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["module", "console-script"])
def test_serve_for_real(project, tmp_path: Path, how: str) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMIS_")}
    env.update({k: v for k, v in os.environ.items() if k.startswith("TAMIS_")})  # the test database
    assert "TAMIS_DATA_DIR" in env
    if how == "module":
        args = [sys.executable, "-m", "tamis.cli"]
    else:
        script = Path(sys.executable).parent / "tamis"
        if not script.exists():
            pytest.skip("no tamis console script next to this Python (package not installed)")
        args = [str(script)]
    plaintext, _ = create_key(project)
    log = tmp_path / "serve.log"
    proc, base = _serve(args, env, log)
    try:
        health = httpx.get(base + "/healthz", timeout=5).json()
        assert health["status"] == "ok" and health["database"] == "ok"
        response = httpx.post(
            base + "/v1/moderate",
            json={"items": [{"data_id": "served-1", "text": PROFANE}]},
            headers={"Authorization": f"Bearer {plaintext}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["project"] == project and doc["results"][0]["verdict"] == "block"
        assert httpx.post(base + "/v1/moderate", json={"items": [{"data_id": "x", "text": "hi"}]}, timeout=10).status_code == 401
    finally:
        if proc.poll() is None:
            _stop(proc, log)
    # The server wrote to the same database the tests read.
    with transaction() as session:
        decision = session.get(Decision, doc["id"])
        assert decision is not None and decision.project_id == project and decision.source == "api"
