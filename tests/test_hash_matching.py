"""Bank matching inside decisions, across processes, retroactively; and /v1/hash, /v1/match."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tamis.hashing import pdq
from tamis.hashing.digests import md5_hex
from tamis.banks import matcher as matcher_module
from tamis.banks.matcher import PdqMatcher, match_hashes
from tamis.services.jobs import run_due
from tamis.store.db import session_factory, transaction
from tamis.store.models import Decision, Delivery, Job

FIXTURES = Path(__file__).parent / "fixtures"
CAT = (FIXTURES / "benign" / "chelsea.jpg").read_bytes()
COFFEE = (FIXTURES / "benign" / "coffee.jpg").read_bytes()
VIDEO = FIXTURES / "pdq" / "vpdq" / "sample-videos" / "test-padded-dimensions.mp4"


def reencoded(data: bytes, scale: float = 0.8, quality: int = 60) -> bytes:
    """The same picture, resized and recompressed: a near duplicate, not a byte-identical one."""
    image = Image.open(io.BytesIO(data))
    image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def pdq_of(data: bytes) -> str:
    return pdq.pdq_hash_bytes(data).hex


def make_bank(client, auth, name: str = "terror", **settings) -> dict:  # type: ignore[no-untyped-def]
    body = {"name": name, "category": "extremism", "action": "block", **settings}
    response = client.post("/v1/banks", headers=auth, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def add(client, auth, bank: str, *entries: dict) -> dict:  # type: ignore[no-untyped-def]
    response = client.post(f"/v1/banks/{bank}/entries", headers=auth, json=list(entries))
    assert response.status_code == 200, response.text
    return response.json()


def moderate_image(client, auth, data: bytes, data_id: str = "img") -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderate", headers=auth, files={"file": (f"{data_id}.jpg", data, "image/jpeg")},
                           data={"data_id": data_id})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def bank_evidence(result: dict) -> list[dict]:
    return [e for e in result["evidence"] if e["type"] == "bank_match"]


@pytest.mark.models
def test_near_duplicate_matches_pdq_bank_and_blocks(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT), "label": "video-still-17"})
    result = moderate_image(client, auth, reencoded(CAT))
    (match,) = bank_evidence(result)
    assert (match["bank"], match["entry"], match["signal"]) == ("terror", "video-still-17", "pdq")
    assert 0 < match["distance"] <= 31
    assert result["verdict"] == "block"
    assert {c["name"]: c["score"] for c in result["categories"]}["extremism"] == 1.0
    assert moderate_image(client, auth, COFFEE)["verdict"] == "pass"  # a different picture


@pytest.mark.models
def test_exact_md5_match(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth, "known", category="sexual/minors")
    add(client, auth, "known", {"signal": "md5", "value": md5_hex(COFFEE)})
    (match,) = bank_evidence(moderate_image(client, auth, COFFEE))
    assert (match["signal"], match["distance"]) == ("md5", 0)


@pytest.mark.models
def test_bank_distance_is_the_banks_own(client, auth) -> None:  # type: ignore[no-untyped-def]
    near = reencoded(CAT, scale=0.5, quality=30)
    distance = pdq.hamming(pdq_of(CAT), pdq_of(near))
    assert distance > 0
    make_bank(client, auth, "strict", pdq_distance=distance - 1)
    add(client, auth, "strict", {"signal": "pdq", "value": pdq_of(CAT)})
    assert bank_evidence(moderate_image(client, auth, near)) == []
    assert client.patch("/v1/banks/strict", headers=auth, json={"pdq_distance": distance}).status_code == 200
    assert len(bank_evidence(moderate_image(client, auth, near))) == 1


@pytest.mark.models
def test_negative_bank_suppresses_positive_matches(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    make_bank(client, auth, "news-photos", negative=True, category=None)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})
    add(client, auth, "news-photos", {"signal": "sha256", "value": __import__("hashlib").sha256(CAT).hexdigest()})
    result = moderate_image(client, auth, CAT)
    assert result["verdict"] == "pass"
    by_bank = {e["bank"]: e for e in bank_evidence(result)}
    assert by_bank["terror"]["suppressed"] is True and by_bank["news-photos"]["negative"] is True
    assert "extremism" not in {c["name"] for c in result["categories"]}


@pytest.mark.models
def test_shadow_disabled_and_rollout(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth, shadow=True)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})
    result = moderate_image(client, auth, CAT)
    assert result["verdict"] == "pass" and bank_evidence(result)[0]["shadow"] is True
    client.patch("/v1/banks/terror", headers=auth, json={"shadow": False, "rollout": 0.0})
    result = moderate_image(client, auth, CAT)
    assert result["verdict"] == "pass" and bank_evidence(result)[0]["shadow"] is True  # outside the roll-out
    client.patch("/v1/banks/terror", headers=auth, json={"rollout": 1.0})
    assert moderate_image(client, auth, CAT)["verdict"] == "block"
    client.patch("/v1/banks/terror", headers=auth, json={"enabled": False})
    assert bank_evidence(moderate_image(client, auth, CAT)) == []


@pytest.mark.models
def test_other_projects_banks_never_match(client, auth) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries

    with transaction() as session:
        _, other_key = queries.create_key(session, "someone-else-" + auth["Authorization"][-6:].lower().replace("_", "x"))
    other = {"Authorization": f"Bearer {other_key}"}
    make_bank(client, other)
    add(client, other, "terror", {"signal": "pdq", "value": pdq_of(CAT)})
    assert bank_evidence(moderate_image(client, auth, CAT)) == []


@pytest.mark.models
def test_rotations_match_only_when_the_policy_asks(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})
    out = io.BytesIO()
    Image.open(io.BytesIO(CAT)).transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=90)
    rotated = out.getvalue()
    assert bank_evidence(moderate_image(client, auth, rotated)) == []
    body = client.get("/v1/policies/default", headers=auth).json()["enforced"]
    body = {k: v for k, v in body.items() if k not in ("id", "version")}
    assert client.put("/v1/policies/default", headers=auth, json={**body, "match_rotations": True}).status_code == 201
    assert moderate_image(client, auth, rotated)["verdict"] == "block"


def test_a_second_process_sees_bank_changes_after_refresh(client, auth, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = PdqMatcher(session_factory(), tmp_path)  # as another API process or worker would
    other.refresh(force=True)
    before = len(other)
    make_bank(client, auth)
    entry_id = add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})["ids"][0]
    other.refresh(force=True)
    query = pdq.hex_to_bytes([pdq_of(reencoded(CAT))])
    assert len(other) == before + 1
    assert any(e == entry_id for e, _ in other.search(query)[0])
    assert client.delete(f"/v1/banks/terror/entries/{entry_id}", headers=auth).status_code == 204
    other.refresh(force=True)
    assert all(e != entry_id for e, _ in other.search(query)[0])
    other.save()
    restarted = PdqMatcher(session_factory(), tmp_path)  # loads the snapshot, replays newer events only
    assert len(restarted) == len(other)


def test_another_process_sees_a_bank_change_at_its_very_next_match(client, auth, project: str, tmp_path: Path,
                                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """No waiting for a refresh period: with the periodic refresh an hour away, the next match in
    another process (its own matcher, its own connection) reads the log's new head and sees the change."""
    other = PdqMatcher(session_factory(), tmp_path)
    monkeypatch.setattr(matcher_module, "REFRESH_S", 3600.0)
    near_cat = {"pdq": pdq_of(reencoded(CAT))}

    def matched() -> list[int]:
        with session_factory()() as session:
            return [hit.entry_id for hit in match_hashes(session, other, project, [near_cat])[0]]

    assert matched() == []  # refreshed now: the periodic pass will not come again within the test
    make_bank(client, auth)
    entry_id = add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})["ids"][0]
    assert matched() == [entry_id]
    assert client.delete(f"/v1/banks/terror/entries/{entry_id}", headers=auth).status_code == 204
    assert matched() == []


@pytest.mark.models
def test_retroactive_match_makes_a_new_decision_and_a_webhook(client, auth, allow_loopback_webhooks) -> None:  # type: ignore[no-untyped-def]
    hook = client.post("/v1/webhooks", headers=auth, json={"url": "http://127.0.0.1:9/hook"}).json()
    first = client.post("/v1/moderate", headers=auth, files={"file": ("a.jpg", CAT, "image/jpeg")},
                        data={"data_id": "post-77"}).json()
    assert first["results"][0]["verdict"] == "pass"
    make_bank(client, auth)
    job_id = add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(reencoded(CAT))})["job_id"]
    run_due(session_factory())
    job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "done" and job["result"]["decisions"] == 1, job
    listed = client.get("/v1/decisions", headers=auth, params={"data_id": "post-77"}).json()["decisions"]
    retro = listed[0]
    assert retro["follows"] == first["id"] and retro["results"][0]["verdict"] == "block"
    assert bank_evidence(retro["results"][0])[0]["bank"] == "terror"
    with transaction() as session:
        assert session.get(Decision, retro["id"]).source == "retro"
        deliveries = session.query(Delivery).filter_by(webhook_id=hook["id"], decision_id=retro["id"]).all()
        assert len(deliveries) == 1
        for d in deliveries:  # keep other tests' delivery passes away from port 9
            d.status = "failed"
    # Running the job queue again records nothing twice.
    run_due(session_factory())
    assert len(client.get("/v1/decisions", headers=auth, params={"data_id": "post-77"}).json()["decisions"]) == 2


def test_retro_job_for_an_empty_import_is_not_enqueued(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    value = pdq_of(CAT)
    assert add(client, auth, "terror", {"signal": "pdq", "value": value})["job_id"]
    assert add(client, auth, "terror", {"signal": "pdq", "value": value})["job_id"] is None  # a duplicate


def test_hash_endpoint_for_an_image(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/hash", headers=auth, files={"file": ("x.jpg", CAT, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "image" and body["pdq"] == {"hash": pdq_of(CAT), "quality": pdq.pdq_hash_bytes(CAT).quality}
    assert body["md5"] == md5_hex(CAT) and len(body["sha256"]) == 64


def test_hash_endpoint_for_a_video(client, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/hash", headers=auth, files={"file": ("v.mp4", VIDEO.read_bytes(), "video/mp4")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "video" and len(body["vpdq"]) >= 3
    assert all(len(f["hash"]) == 64 and f["t_ms"] >= 0 for f in body["vpdq"])


@pytest.mark.parametrize("data, status", [(b"", 422), (b"hello, not media", 415)])
def test_hash_endpoint_bad_input(client, auth, data: bytes, status: int) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/hash", headers=auth, files={"file": ("x.bin", data, "application/octet-stream")})
    assert response.status_code == status and response.json()["field"] == "file"


def test_match_endpoint_with_hashes_and_with_a_file(client, auth) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT), "label": "still"})
    near = pdq_of(reencoded(CAT))
    response = client.post("/v1/match", headers=auth, json={"hashes": [{"signal": "pdq", "value": near},
                                                                       {"signal": "md5", "value": md5_hex(COFFEE)}]})
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["matches"][0]["label"] == "still" and second["matches"] == []
    by_file = client.post("/v1/match", headers=auth, files={"file": ("x.jpg", reencoded(CAT), "image/jpeg")}).json()
    assert by_file["matches"][0]["bank"] == "terror"
    bad = client.post("/v1/match", headers=auth, json={"hashes": [{"signal": "pdq", "value": "xyz"}]})
    assert bad.status_code == 422 and bad.json()["field"].startswith("hashes[0]")


@pytest.mark.models
def test_every_copy_in_a_batch_matches(client, auth) -> None:  # type: ignore[no-untyped-def]
    # A bank entry used to go to one query per batch: the second copy of a banked image passed.
    import base64

    make_bank(client, auth)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT), "label": "still"},
        {"signal": "md5", "value": md5_hex(COFFEE), "label": "mug"})
    near = pdq_of(reencoded(CAT))
    hashes = [{"signal": "pdq", "value": near}, {"signal": "md5", "value": md5_hex(COFFEE)}] * 2
    results = client.post("/v1/match", headers=auth, json={"hashes": hashes}).json()["results"]
    assert [r["matches"][0]["label"] for r in results] == ["still", "mug", "still", "mug"]
    items = [{"data_id": f"copy-{i}", "image_base64": base64.b64encode(data).decode()}
             for i, data in enumerate([reencoded(CAT), COFFEE, reencoded(CAT, 0.7), COFFEE])]
    response = client.post("/v1/moderate", headers=auth, json={"items": items})
    assert response.status_code == 200, response.text
    assert [r["verdict"] for r in response.json()["results"]] == ["block"] * 4
    assert [bank_evidence(r)[0]["entry"] for r in response.json()["results"]] == ["still", "mug", "still", "mug"]


@pytest.mark.models
def test_item_hashes_are_kept_for_retroactive_matching(client, auth) -> None:  # type: ignore[no-untyped-def]
    from tamis.store.models import ItemHash

    decision = client.post("/v1/moderate", headers=auth, files={"file": ("a.jpg", COFFEE, "image/jpeg")}).json()
    with transaction() as session:
        rows = {h.signal: h.value for h in session.query(ItemHash).filter_by(decision_id=decision["id"])}
    assert rows == {"pdq": pdq_of(COFFEE), "md5": md5_hex(COFFEE), "sha256": __import__("hashlib").sha256(COFFEE).hexdigest()}


def test_jobs_of_other_projects_are_404(client, auth) -> None:  # type: ignore[no-untyped-def]
    with transaction() as session:
        job = session.query(Job).first()
    if job is not None:
        assert client.get(f"/v1/jobs/{job.id}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/jobs/job_missing", headers=auth).status_code == 404


@pytest.mark.slow
def test_video_matches_a_vpdq_bank_entry(client, auth) -> None:  # type: ignore[no-untyped-def]
    from tamis.hashing import vpdq

    frames = vpdq.vpdq_hash(VIDEO.read_bytes(), fps=1.0)
    make_bank(client, auth, "videos")
    add(client, auth, "videos", {"signal": "vpdq", "value": [{"t_ms": f.t_ms, "pdq": f.pdq, "quality": f.quality} for f in frames],
                                 "label": "clip-3"})
    response = client.post("/v1/match", headers=auth, files={"file": ("v.mp4", VIDEO.read_bytes(), "video/mp4")})
    assert response.status_code == 200, response.text
    (match,) = [m for m in response.json()["matches"] if m["signal"] == "vpdq"]
    assert match["label"] == "clip-3" and match["query_match_pct"] == 100.0 and match["target_match_pct"] == 100.0
    other = client.post("/v1/match", headers=auth, files={"file": ("c.jpg", CAT, "image/jpeg")}).json()
    assert other["matches"] == []


def test_cli_hash_and_match(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from tamis.cli import app

    runner = CliRunner()
    hashed = runner.invoke(app, ["hash", str(FIXTURES / "benign" / "chelsea.jpg")])
    assert hashed.exit_code == 0 and json.loads(hashed.stdout)["pdq"]["hash"] == pdq_of(CAT)
    make_bank(client, auth)
    add(client, auth, "terror", {"signal": "pdq", "value": pdq_of(CAT)})
    matched = runner.invoke(app, ["match", str(FIXTURES / "benign" / "chelsea.jpg"), "--project", project])
    assert matched.exit_code == 0 and json.loads(matched.stdout)["matches"][0]["bank"] == "terror"
    bad = runner.invoke(app, ["hash", str(FIXTURES / "benign" / "LICENCE.md")])
    assert bad.exit_code == 2
