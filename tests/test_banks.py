"""Hash banks through the API and the CLI: settings, entries, tombstones and their event log,
retro-match jobs, import errors (by line, all or nothing), and export -> import round trips in
every format, checked against the `threatexchange` package's own readers where it is installed.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from tamis.cli import app as cli_app
from tamis.banks import exchange, service as banks
from tamis.hashing import signals
from tamis.hashing.signals import SIGNALS
from tamis.store.db import transaction
from tamis.store.models import Bank, BankEntry, BankEntryEvent, Job
from conftest import assert_problem

FORMATS = list(exchange.FORMATS)


# --- helpers -----------------------------------------------------------------------------------------


def pdq() -> str:
    return secrets.token_hex(32)


def md5() -> str:
    return secrets.token_hex(16)


def vpdq_frames(n: int = 3) -> list[dict[str, Any]]:
    return [{"t_ms": 1000 * i + 7, "pdq": pdq(), "quality": 50 + i} for i in range(n)]



def make_bank(client, auth: dict[str, str], name: str = "gifct", **settings: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/banks", json={"name": name, **settings}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def add(client, auth: dict[str, str], entries: list[dict[str, Any]], bank: str = "gifct") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post(f"/v1/banks/{bank}/entries", json=entries, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def live(project: str, bank: str = "gifct") -> set[tuple[str, str, str]]:
    """(signal, value, label) of the bank's live entries."""
    with transaction() as session:
        row = banks.require_bank(session, project, bank)
        return {(e.signal, e.value, e.label) for e in banks.iter_entries(session, row)}


def entry_rows(project: str) -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(BankEntry).where(BankEntry.project_id == project)) or 0


def jobs(project: str) -> list[Job]:
    with transaction() as session:
        query = select(Job).where(Job.project_id == project, Job.kind == "retro_match").order_by(Job.created_at)
        return list(session.scalars(query))


def events(entry_ids: list[int]) -> list[tuple[int, str]]:
    with transaction() as session:
        rows = session.scalars(select(BankEntryEvent).where(BankEntryEvent.entry_id.in_(entry_ids)).order_by(BankEntryEvent.id))
        return [(e.entry_id, e.op) for e in rows]


def import_file(client, auth, text: str, bank: str = "gifct", filename: str = "list.txt", **params: str):  # type: ignore[no-untyped-def]
    files = {"file": (filename, text.encode(), "text/plain")}
    return client.post(f"/v1/banks/{bank}/import", params=params, files=files, headers=auth)


def other_auth(project: str) -> dict[str, str]:
    from tamis.store import queries

    with transaction() as session:
        _, plaintext = queries.create_key(session, project + "-other")
    return {"Authorization": f"Bearer {plaintext}"}


# --- banks -------------------------------------------------------------------------------------------


def test_bank_lifecycle(client, auth: dict[str, str], project: str) -> None:
    created = make_bank(client, auth, category="extremism", description="GIFCT hash list", pdq_distance=20)
    assert created | {"id": None, "created_at": None, "updated_at": None} == {
        "name": "gifct", "id": None, "description": "GIFCT hash list", "category": "extremism", "action": "block",
        "negative": False, "enabled": True, "shadow": False, "rollout": 1.0, "pdq_distance": 20, "entries": 0,
        "counts": {"pdq": 0, "md5": 0, "sha256": 0, "vpdq": 0}, "created_at": None, "updated_at": None,
    }
    make_bank(client, auth, "benign-news", negative=True, action="review")
    listed = client.get("/v1/banks", headers=auth).json()["banks"]
    assert [b["name"] for b in listed] == ["benign-news", "gifct"]
    assert listed[0]["negative"] is True and listed[0]["action"] == "review"

    patch = {"enabled": False, "shadow": True, "rollout": 0.25, "pdq_distance": 12, "category": None, "action": "review"}
    response = client.patch("/v1/banks/gifct", json=patch, headers=auth)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in patch} == patch
    assert response.json()["description"] == "GIFCT hash list"  # fields not sent stay
    assert client.get("/v1/banks/gifct", headers=auth).json()["rollout"] == 0.25

    assert client.delete("/v1/banks/gifct", headers=auth).status_code == 204
    assert client.get("/v1/banks/gifct", headers=auth).status_code == 404
    assert [b["name"] for b in client.get("/v1/banks", headers=auth).json()["banks"]] == ["benign-news"]
    assert client.delete("/v1/banks/gifct", headers=auth).status_code == 404


def test_duplicate_name_is_409_and_a_deleted_name_is_free(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    assert_problem(client.post("/v1/banks", json={"name": "gifct"}, headers=auth), 409, "name")
    add(client, auth, [{"signal": "md5", "value": md5()}])
    assert client.delete("/v1/banks/gifct", headers=auth).status_code == 204
    again = make_bank(client, auth, category="sexual/minors")
    assert again["entries"] == 0 and again["category"] == "sexual/minors"
    with transaction() as session:  # the deleted bank's row stays, tombstoned and disabled
        rows = list(session.scalars(select(Bank).where(Bank.project_id == project).order_by(Bank.created_at)))
    assert [(b.name, b.deleted_at is not None, b.enabled) for b in rows] == [("gifct", True, False), ("gifct", False, True)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "-dash"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"name": "ok", "category": "politics"}, "category"),
        ({"name": "ok", "action": "delete"}, "action"),
        ({"name": "ok", "rollout": 1.5}, "rollout"),
        ({"name": "ok", "rollout": -0.1}, "rollout"),
        ({"name": "ok", "pdq_distance": 32}, "pdq_distance"),
        ({"name": "ok", "pdq_distance": -1}, "pdq_distance"),
        ({"name": "ok", "negative": "perhaps"}, "negative"),
        ({"name": "ok", "colour": "red"}, "colour"),
        ({"category": "sexual"}, "name"),
    ],
)
def test_create_validation_names_the_field(client, auth: dict[str, str], body: dict[str, Any], field: str) -> None:
    assert_problem(client.post("/v1/banks", json=body, headers=auth), 422, field)
    assert client.get("/v1/banks", headers=auth).json()["banks"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [({"action": None}, "action"), ({"rollout": 2}, "rollout"), ({"category": "nope"}, "category"),
     ({"enabled": None}, "enabled"), ({"name": "renamed"}, "name"), ({"pdq_distance": 100}, "pdq_distance")],
)
def test_patch_validation_names_the_field(client, auth: dict[str, str], body: dict[str, Any], field: str) -> None:
    make_bank(client, auth)
    assert_problem(client.patch("/v1/banks/gifct", json=body, headers=auth), 422, field)
    assert client.get("/v1/banks/gifct", headers=auth).json()["action"] == "block"


def test_another_projects_bank_is_404_everywhere(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    entry_id = add(client, auth, [{"signal": "md5", "value": md5()}])["ids"][0]
    stranger = other_auth(project)
    calls = [
        client.get("/v1/banks/gifct", headers=stranger),
        client.patch("/v1/banks/gifct", json={"enabled": False}, headers=stranger),
        client.delete("/v1/banks/gifct", headers=stranger),
        client.post("/v1/banks/gifct/entries", json=[{"signal": "md5", "value": md5()}], headers=stranger),
        client.get("/v1/banks/gifct/entries", headers=stranger),
        client.delete(f"/v1/banks/gifct/entries/{entry_id}", headers=stranger),
        import_file(client, stranger, md5() + "\n"),
        client.get("/v1/banks/gifct/export", headers=stranger),
    ]
    for response in calls:
        assert response.status_code == 404, (response.request.method, response.request.url, response.text)
    assert client.get("/v1/banks", headers=stranger).json()["banks"] == []
    doc = client.get("/v1/banks/gifct", headers=auth).json()
    assert doc["enabled"] is True and doc["entries"] == 1
    assert client.get("/v1/banks/gifct", headers={}).status_code == 401


# --- entries -----------------------------------------------------------------------------------------


def test_add_entries_normalises_skips_duplicates_logs_events_and_enqueues_one_job(
    client, auth: dict[str, str], project: str
) -> None:
    bank = make_bank(client, auth)
    p, m = pdq(), md5()
    frames = vpdq_frames()
    body = [
        {"signal": "pdq", "value": p.upper(), "label": "flag", "note": "seen in 2024", "source": "gifct"},
        {"signal": "md5", "value": f"  {m}  "},
        {"signal": "pdq", "value": p},  # repeated in the same call
        {"signal": "sha256", "value": p},  # same hex, other signal: not a duplicate
        {"signal": "vpdq", "value": frames},
    ]
    result = add(client, auth, body)
    assert result["added"] == 4 and result["duplicates"] == 1 and len(result["ids"]) == 4
    ids = result["ids"]
    assert ids == sorted(ids)
    assert live(project) == {("pdq", p, "flag"), ("md5", m, ""), ("sha256", p, ""),
                             ("vpdq", json.dumps(frames, separators=(",", ":")), "")}
    assert events(ids) == [(i, "add") for i in ids]
    [job] = jobs(project)
    assert job.id == result["job_id"] and job.status == "pending"
    assert job.payload == {"bank_id": bank["id"], "from_entry_id": ids[0], "to_entry_id": ids[-1]}

    again = add(client, auth, [{"signal": "md5", "value": m.upper()}, {"signal": "pdq", "value": p}])
    assert again == {"added": 0, "duplicates": 2, "job_id": None, "ids": []}
    assert len(jobs(project)) == 1  # nothing added, nothing to match

    listed = client.get("/v1/banks/gifct/entries", headers=auth).json()["entries"]
    assert [e["id"] for e in listed] == ids[::-1]
    assert listed[-1] | {"created_at": None} == {"id": ids[0], "signal": "pdq", "value": p, "label": "flag",
                                                 "note": "seen in 2024", "source": "gifct", "created_at": None}
    assert listed[0]["value"] == frames
    counts = client.get("/v1/banks/gifct", headers=auth).json()["counts"]
    assert counts == {"pdq": 1, "md5": 1, "sha256": 1, "vpdq": 1}


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"signal": "pdq", "value": "abc"}, "[1].value"),
        ({"signal": "md5", "value": "g" * 32}, "[1].value"),
        ({"signal": "sha256", "value": md5()}, "[1].value"),
        ({"signal": "tlsh", "value": md5()}, "[1].signal"),
        ({"signal": "vpdq", "value": [{"t_ms": 0, "pdq": "x", "quality": 80}]}, "[1].value"),
        ({"signal": "vpdq", "value": []}, "[1].value"),
        ({"signal": "vpdq", "value": "not json"}, "[1].value"),
        ({"signal": "md5", "value": md5(), "label": "x" * 257}, "[1].label"),
        ({"signal": "md5", "value": md5(), "source": "a\x00b"}, "[1].source"),
        ({"signal": "md5", "value": md5(), "colour": "red"}, "[1].colour"),
    ],
)
def test_a_bad_entry_adds_nothing(client, auth: dict[str, str], project: str, entry: dict[str, Any], field: str) -> None:
    make_bank(client, auth)
    body = [{"signal": "md5", "value": md5()}, entry]
    assert_problem(client.post("/v1/banks/gifct/entries", json=body, headers=auth), 422, field)
    assert entry_rows(project) == 0 and jobs(project) == []


def test_entry_count_limits(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    too_many = [{"signal": "md5", "value": f"{i:032x}"} for i in range(10_001)]
    assert client.post("/v1/banks/gifct/entries", json=too_many, headers=auth).status_code == 422
    assert client.post("/v1/banks/gifct/entries", json=[], headers=auth).status_code == 422
    assert entry_rows(project) == 0


def test_listing_pages_and_filters(client, auth: dict[str, str]) -> None:
    make_bank(client, auth)
    ids = add(client, auth, [{"signal": "md5" if i % 2 else "pdq", "value": md5() if i % 2 else pdq()} for i in range(7)])["ids"]
    page = client.get("/v1/banks/gifct/entries", params={"limit": 3}, headers=auth).json()
    assert [e["id"] for e in page["entries"]] == ids[::-1][:3] and page["next_before"] == ids[4]
    rest = client.get("/v1/banks/gifct/entries", params={"limit": 5, "before": page["next_before"]}, headers=auth).json()
    assert [e["id"] for e in rest["entries"]] == ids[::-1][3:] and rest["next_before"] is None
    md5s = client.get("/v1/banks/gifct/entries", params={"signal": "md5"}, headers=auth).json()["entries"]
    assert [e["id"] for e in md5s] == ids[1::2][::-1]
    assert_problem(client.get("/v1/banks/gifct/entries", params={"signal": "tlsh"}, headers=auth), 422, "signal")
    assert_problem(client.get("/v1/banks/gifct/entries", params={"limit": 0}, headers=auth), 422, "limit")
    assert_problem(client.get("/v1/banks/gifct/entries", params={"before": 2**40}, headers=auth), 422, "before")


def test_removing_an_entry_tombstones_it_and_logs_the_event(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    make_bank(client, auth, "other")
    first, second = add(client, auth, [{"signal": "md5", "value": md5()}, {"signal": "md5", "value": md5()}])["ids"]
    [foreign] = add(client, auth, [{"signal": "md5", "value": md5()}], bank="other")["ids"]
    assert client.delete(f"/v1/banks/gifct/entries/{first}", headers=auth).status_code == 204
    assert client.delete(f"/v1/banks/gifct/entries/{first}", headers=auth).status_code == 404  # already removed
    assert client.delete(f"/v1/banks/gifct/entries/{foreign}", headers=auth).status_code == 404  # another bank's
    assert client.delete("/v1/banks/gifct/entries/99999999999", headers=auth).status_code == 422
    assert [e["id"] for e in client.get("/v1/banks/gifct/entries", headers=auth).json()["entries"]] == [second]
    assert events([first, second]) == [(first, "add"), (second, "add"), (first, "remove")]
    with transaction() as session:
        row = session.get(BankEntry, first)
        assert row is not None and row.deleted_at is not None  # kept: past decisions name it
    # The same hash can come back: a new entry, a new add event.
    value = client.get("/v1/banks/gifct/entries", headers=auth).json()["entries"][0]["value"]
    assert add(client, auth, [{"signal": "md5", "value": value}])["duplicates"] == 1


def test_deleting_a_bank_removes_every_entry_with_events(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    ids = add(client, auth, [{"signal": "md5", "value": md5()} for _ in range(3)])["ids"]
    assert client.delete(f"/v1/banks/gifct/entries/{ids[1]}", headers=auth).status_code == 204
    assert client.delete("/v1/banks/gifct", headers=auth).status_code == 204
    assert events(ids) == [(ids[0], "add"), (ids[1], "add"), (ids[2], "add"),
                           (ids[1], "remove"), (ids[0], "remove"), (ids[2], "remove")]
    with transaction() as session:
        rows = session.scalars(select(BankEntry).where(BankEntry.id.in_(ids)))
        assert all(r.deleted_at is not None for r in rows)


def test_the_job_commits_with_the_entries_or_not_at_all(project: str) -> None:
    """add_entries writes entries, events and the job in the caller's transaction."""
    from tamis.store.db import session_factory

    with transaction() as session:
        bank = banks.create_bank(session, project, "atomic")
    session = session_factory()()
    try:
        with session.begin():
            bank = banks.require_bank(session, project, "atomic")
            result = banks.add_entries(session, bank, [banks.EntryIn("md5", md5())])
            assert result.job_id is not None and result.ids
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    finally:
        session.close()
    assert entry_rows(project) == 0 and jobs(project) == [] and events(result.ids) == []


# --- import ------------------------------------------------------------------------------------------


def test_import_reports_every_bad_line_and_imports_nothing(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    add(client, auth, [{"signal": "md5", "value": md5()}])
    before, jobs_before = entry_rows(project), len(jobs(project))
    text = "\n".join(["# GIFCT export", md5(), "not-a-hash", "", md5(), pdq()[:63], md5() + "x", md5()])
    body = assert_problem(import_file(client, auth, text), 422, "file")
    assert body["error_count"] == 3
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(3, "file"), (6, "file"), (7, "file")]
    assert "not a hash" in body["errors"][0]["detail"]
    assert "nothing was imported" in body["detail"] and "Line 3" in body["detail"]
    assert entry_rows(project) == before and len(jobs(project)) == jobs_before


def test_import_error_list_is_capped(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    body = assert_problem(import_file(client, auth, "\n".join(["zz"] * 150)), 422, "file")
    assert body["error_count"] == 150 and len(body["errors"]) == 100 and body["errors"][-1]["line"] == 100
    assert entry_rows(project) == 0


def test_plain_64_hex_needs_the_signal(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    text = "\n".join([pdq(), md5(), pdq()])
    body = assert_problem(import_file(client, auth, text), 422, "file")
    assert body["error_count"] == 1 and body["errors"][0]["line"] == 1
    assert "pdq or sha256" in body["errors"][0]["detail"] and "signal" in body["errors"][0]["detail"]
    assert entry_rows(project) == 0
    # With the signal, every line must be of it.
    body = assert_problem(import_file(client, auth, text, signal="pdq"), 422, "file")
    assert [e["line"] for e in body["errors"]] == [2]
    ok = import_file(client, auth, "\n".join([pdq(), pdq()]), signal="sha256")
    assert ok.status_code == 200 and ok.json()["added"] == 2
    assert {s for s, _, _ in live(project)} == {"sha256"}


def test_import_multipart_or_raw_duplicates_and_job(client, auth: dict[str, str], project: str) -> None:
    bank = make_bank(client, auth)
    hashes = [md5() for _ in range(4)]
    response = import_file(client, auth, "\n".join(hashes[:3] + [hashes[0].upper()]) + "\n", filename="hotline.txt", label="csam")
    assert response.status_code == 200, response.text
    first = response.json()
    assert first.keys() == {"added", "duplicates", "job_id"}
    assert first["added"] == 3 and first["duplicates"] == 1
    entries = client.get("/v1/banks/gifct/entries", headers=auth).json()["entries"]
    ids = sorted(e["id"] for e in entries)
    [job] = jobs(project)
    assert job.id == first["job_id"]
    assert job.payload == {"bank_id": bank["id"], "from_entry_id": ids[0], "to_entry_id": ids[-1]}
    assert events(ids) == [(i, "add") for i in ids]
    assert {(e["label"], e["source"]) for e in entries} == {("csam", "hotline.txt")}

    raw = client.post("/v1/banks/gifct/import", content="\n".join(hashes), headers={**auth, "Content-Type": "text/plain"},
                      params={"source": "ncmec"})
    assert raw.status_code == 200, raw.text
    assert raw.json()["added"] == 1 and raw.json()["duplicates"] == 3 and len(jobs(project)) == 2
    assert client.get("/v1/banks/gifct/entries", params={"limit": 1}, headers=auth).json()["entries"][0]["source"] == "ncmec"

    nothing = import_file(client, auth, "\n".join(hashes))
    assert nothing.json() == {"added": 0, "duplicates": 4, "job_id": None} and len(jobs(project)) == 2


@pytest.mark.parametrize(
    ("content", "params", "field"),
    [
        (b"", {}, "file"),
        (b"\xff\xfe\x00bad", {}, "file"),
        (b"d41d8cd98f00b204e9800998ecf8427e", {"format": "stix"}, "format"),
        (b"d41d8cd98f00b204e9800998ecf8427e", {"signal": "tlsh"}, "signal"),
        (b"d41d8cd98f00b204e9800998ecf8427e,1,x,", {"format": "te-simple"}, "signal"),
        (b"d41d8cd98f00b204e9800998ecf8427e", {"label": "x" * 300}, "label"),
    ],
)
def test_import_request_errors(
    client, auth: dict[str, str], project: str, content: bytes, params: dict[str, str], field: str
) -> None:
    make_bank(client, auth)
    headers = {**auth, "Content-Type": "text/plain"}
    response = client.post("/v1/banks/gifct/import", content=content, params=params, headers=headers)
    assert_problem(response, 422, field)
    assert entry_rows(project) == 0


def test_import_multipart_without_the_file_field(client, auth: dict[str, str]) -> None:
    make_bank(client, auth)
    response = client.post("/v1/banks/gifct/import", files={"upload": ("a.txt", b"x")}, headers=auth)
    assert_problem(response, 422, "file")


def test_te_formats_parse_what_threatexchange_writes(client, auth: dict[str, str], project: str) -> None:
    make_bank(client, auth)
    p, m, s = pdq(), md5(), pdq()
    te_lines = f"pdq {p}\nvideo_md5 {m}\nvideo_sha256 {s}\n"
    assert import_file(client, auth, te_lines, format="te").json()["added"] == 3
    csv_text = ("signal_type,signal_str,collab,category,tags\n"
                f"pdq,{pdq()},Sample Data,POSITIVE_CLASS,tag1 tag2\n"
                f"video_md5,{md5()},Sample Data,NEGATIVE_CLASS,\n")
    assert import_file(client, auth, csv_text, format="te-csv").json()["added"] == 2
    simple = f"{pdq()},123,2021-01-20T19:14:38+0000,terrorism media\n"
    response = import_file(client, auth, simple, format="te-simple", filename="simple.HASH_PDQ.te")
    assert response.status_code == 200, response.text
    hma = f"{md5()},4567,890,mine,\n"
    assert import_file(client, auth, hma, format="hma", filename="simple.HASH_MD5.te").json()["added"] == 1
    entries = client.get("/v1/banks/gifct/entries", headers=auth).json()["entries"]
    assert entries[0]["note"] == "threatexchange indicator 4567, descriptor 890"
    assert entries[1]["label"] == "terrorism media" and entries[1]["note"] == "threatexchange descriptor 123"
    assert entries[2]["note"] == "threatexchange category NEGATIVE_CLASS" and entries[2]["source"] == "Sample Data"
    assert entries[3]["label"] == "tag1 tag2"
    # Wrong layouts say which format fits.
    body = assert_problem(import_file(client, auth, hma, format="te-simple", signal="md5"), 422, "file")
    assert "use format hma" in body["errors"][0]["detail"]
    body = assert_problem(import_file(client, auth, f"{pdq()}\n", format="te"), 422, "file")
    assert "<signal_type> <signal>" in body["errors"][0]["detail"]
    body = assert_problem(import_file(client, auth, f"pdq,{pdq()}\n", format="te-csv"), 422, "file")
    assert body["errors"][0]["line"] == 1 and "header" in body["errors"][0]["detail"]
    body = assert_problem(import_file(client, auth, f"tlsh {pdq()}\n", format="te"), 422, "file")
    assert "unknown signal type 'tlsh'" in body["errors"][0]["detail"]


# --- export and round trips --------------------------------------------------------------------------


def _fill_mixed_bank(client, auth: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    make_bank(client, auth)
    add(client, auth, [
        {"signal": "pdq", "value": pdq(), "label": "propaganda"},
        {"signal": "pdq", "value": pdq(), "label": ""},
        {"signal": "md5", "value": md5(), "label": "video, 2019"},
        {"signal": "sha256", "value": pdq(), "label": "x"},
        {"signal": "vpdq", "value": vpdq_frames(4), "label": "clip"},
    ])


def _export(client, auth: dict[str, str], fmt: str, signal: str | None = None, bank: str = "gifct"):  # type: ignore[no-untyped-def]
    params = {"format": fmt, **({"signal": signal} if signal else {})}
    response = client.get(f"/v1/banks/{bank}/export", params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_gives_the_same_entries(client, auth: dict[str, str], project: str, fmt: str) -> None:
    _fill_mixed_bank(client, auth)
    make_bank(client, auth, "copy")
    signals = SIGNALS if fmt in exchange.SINGLE_SIGNAL else (None,)
    for signal in signals:
        response = _export(client, auth, fmt, signal)
        filename = response.headers["content-disposition"].split('filename="')[1].rstrip('"')
        params = {"format": fmt, **({"signal": signal} if signal and fmt == "plain" else {})}
        imported = import_file(client, auth, response.text, bank="copy", filename=filename, **params)
        assert imported.status_code == 200, imported.text
    copied, original = live(project, "copy"), live(project, "gifct")
    if fmt not in exchange.LABELLED:  # plain and te lines have no place for labels
        copied, original = {e[:2] for e in copied}, {e[:2] for e in original}
    assert copied == original and len(copied) == 5


def test_export_files(client, auth: dict[str, str], project: str) -> None:
    _fill_mixed_bank(client, auth)
    csv_export = _export(client, auth, "te-csv")
    assert csv_export.headers["content-type"].startswith("text/csv")
    assert csv_export.text.splitlines()[0] == "signal_type,signal_str,collab,category,tags"
    assert {line.split(",")[0] for line in csv_export.text.splitlines()[1:]} == {"pdq", "video_md5", "video_sha256", "vpdq"}
    simple = _export(client, auth, "te-simple", "pdq")
    assert simple.headers["content-disposition"] == 'attachment; filename="simple.HASH_PDQ.te"'
    assert len(simple.text.splitlines()) == 2 and all(line.count(",") == 3 for line in simple.text.splitlines())
    te = _export(client, auth, "te", "vpdq").text.strip()
    kind, value = te.split(" ", 1)
    assert kind == "vpdq" and all(len(f.split(",")) == 3 for f in json.loads(value))  # ThreatExchange's frame strings
    # plain, te-simple and hma hold one signal type: with several in the bank, the caller says which.
    for fmt in exchange.SINGLE_SIGNAL:
        body = assert_problem(client.get("/v1/banks/gifct/export", params={"format": fmt}, headers=auth), 422, "signal")
        assert "give the signal" in body["detail"]
    make_bank(client, auth, "md5-only")
    add(client, auth, [{"signal": "md5", "value": md5()}], bank="md5-only")
    assert len(_export(client, auth, "plain", bank="md5-only").text.splitlines()) == 1
    assert _export(client, auth, "te", bank="md5-only").text.startswith("video_md5 ")
    make_bank(client, auth, "empty")
    assert _export(client, auth, "plain", bank="empty").text == ""
    assert_problem(client.get("/v1/banks/gifct/export", params={"format": "xml"}, headers=auth), 422, "format")


def test_negative_bank_exports_negative_opinions(client, auth: dict[str, str]) -> None:
    make_bank(client, auth, "benign", negative=True)
    add(client, auth, [{"signal": "md5", "value": md5()}], bank="benign")
    row = _export(client, auth, "te-csv", bank="benign").text.splitlines()[1]
    assert row.split(",")[2:4] == ["benign", "NEGATIVE_CLASS"]


# --- the threatexchange package reads what we write, and we read what it writes ----------------------


def test_threatexchange_reads_our_simple_files_and_we_read_its(tmp_path: Path) -> None:
    serialization = pytest.importorskip("threatexchange.cli.dataset.simple_serialization")
    descriptor = pytest.importorskip("threatexchange.exchanges.clients.fb_threatexchange.descriptor")
    entries = [banks.EntryIn("pdq", pdq(), label="tag1"), banks.EntryIn("pdq", pdq(), label="")]
    (tmp_path / "simple.HASH_PDQ.te").write_text(exchange.export_text("te-simple", entries, signal="pdq"))
    loaded = serialization.CliIndicatorSerialization.load(tmp_path)
    assert {(r.indicator_type, r.indicator, " ".join(r.rollup.labels)) for r in loaded} == {
        ("HASH_PDQ", e.value, e.label) for e in entries
    }
    hma_dir = tmp_path / "hma"
    hma_dir.mkdir()
    (hma_dir / "simple.HASH_PDQ.te").write_text(exchange.export_text("hma", entries, signal="pdq"))
    assert {r.indicator for r in serialization.HMASerialization.load(hma_dir)} == {e.value for e in entries}

    theirs_dir = tmp_path / "theirs"
    theirs_dir.mkdir()
    rollup = descriptor.SimpleDescriptorRollup(42, "2021-01-20T19:14:38+0000", {"violent"})
    written = serialization.CliIndicatorSerialization.store(
        theirs_dir, [serialization.CliIndicatorSerialization("HASH_MD5", e, rollup) for e in (md5(), md5())]
    )
    [path] = written
    assert exchange.signal_from_filename(path.name) == "md5"
    parsed, errors = exchange.parse("te-simple", path.read_text(), signal="md5")
    assert errors == [] and [(e.label, e.note) for e in parsed] == [("violent", "threatexchange descriptor 42")] * 2


def test_threatexchange_file_exchange_reads_our_te_lines(tmp_path: Path) -> None:
    file_api = pytest.importorskip("threatexchange.exchanges.impl.file_api")
    entries = [banks.EntryIn("pdq", pdq()), banks.EntryIn("md5", md5()), banks.EntryIn("sha256", pdq())]
    path = tmp_path / "signals.txt"
    path.write_text(exchange.export_text("te", entries))
    config = file_api.FileCollaborationConfig(name="t", api="local_file", enabled=True, filename=str(path))
    [delta] = file_api.LocalFileSignalExchangeAPI(config).fetch_iter([], None)
    assert set(delta.updates) == {("pdq", entries[0].value), ("video_md5", entries[1].value), ("video_sha256", entries[2].value)}


def test_vpdq_values_accept_threatexchange_frames() -> None:
    h = pdq()
    te_form = json.dumps([f"{h},90,1.5", f"{h.upper()},10,0"])
    stored = signals.validate("vpdq", te_form)
    assert json.loads(stored) == [{"t_ms": 1500, "pdq": h, "quality": 90}, {"t_ms": 0, "pdq": h, "quality": 10}]
    assert signals.validate("vpdq", exchange.te_value("vpdq", stored)) == stored
    hash_api_form = [{"t_ms": 3, "hash": h, "quality": 70}]  # as /v1/hash answers
    assert json.loads(signals.validate("vpdq", hash_api_form)) == [{"t_ms": 3, "pdq": h, "quality": 70}]
    for bad in ("[]", '["x,1,2"]', json.dumps([f"{h},101,0"]), json.dumps([f"{h},50,-1"]), json.dumps([f"{h},50,nan"]),
                json.dumps([{"t_ms": 1.5, "pdq": h, "quality": 5}])):
        with pytest.raises(ValueError):
            signals.validate("vpdq", bad)


# --- CLI ---------------------------------------------------------------------------------------------


def tamis(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli_app, list(args), input=stdin, env={"COLUMNS": "200"})


def ok(*args: str, stdin: str | None = None) -> Result:
    result = tamis(*args, stdin=stdin)
    assert result.exit_code == 0, (args, result.stdout, result.stderr, result.exception)
    return result


def assert_clean_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr and result.stderr.startswith(("error:", "/", "-:")), result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


@pytest.mark.slow
def test_cli_bank_commands(project: str, tmp_path: Path) -> None:
    p = ["--project", project]
    ok("bank", "create", "gifct", "--category", "extremism", "--distance", "20", *p)
    ok("bank", "create", "benign", "--negative", "--action", "review", "--shadow", "--rollout", "0.5", *p)
    listing = ok("bank", "list", *p).stdout
    assert "gifct" in listing and "benign" in listing and "extremism" in listing
    shown = json.loads(ok("bank", "show", "benign", *p).stdout)
    assert (shown["negative"], shown["action"], shown["shadow"], shown["rollout"]) == (True, "review", True, 0.5)

    ok("bank", "disable", "gifct", *p)
    assert json.loads(ok("bank", "show", "gifct", *p).stdout)["enabled"] is False
    ok("bank", "enable", "gifct", *p)
    ok("bank", "set", "gifct", "--rollout", "0.1", "--live", "--category", "none", "--distance", "10", *p)
    shown = json.loads(ok("bank", "show", "gifct", *p).stdout)
    assert (shown["enabled"], shown["rollout"], shown["category"], shown["pdq_distance"]) == (True, 0.1, None, 10)

    m = md5()
    entry_id = int(ok("bank", "add", "gifct", m.upper(), "--label", "video", *p).stdout.strip().splitlines()[-1])
    assert ok("bank", "add", "gifct", m, *p).stdout.strip() == ""  # a duplicate: nothing added
    h = pdq()
    pdq_id = int(ok("bank", "add", "gifct", h, "--signal", "pdq", *p).stdout.strip())
    entries = ok("bank", "entries", "gifct", *p).stdout
    assert m in entries and h in entries and "video" in entries
    assert events([entry_id, pdq_id]) == [(entry_id, "add"), (pdq_id, "add")]
    assert len(jobs(project)) == 2

    out = tmp_path / "gifct.txt"
    ok("bank", "export", "gifct", "--format", "te", "-o", str(out), *p)
    assert out.read_text().splitlines() == [f"video_md5 {m}", f"pdq {h}"]
    ok("bank", "create", "copy", *p)
    imported = ok("bank", "import", "copy", str(out), "--format", "te", *p)
    assert "imported 2 entries" in imported.stderr and "retro_match job" in imported.stderr
    assert {(s, v) for s, v, _ in live(project, "copy")} == {("md5", m), ("pdq", h)}
    plain = ok("bank", "export", "copy", "--signal", "pdq", *p).stdout
    assert plain == h + "\n"

    ok("bank", "remove", "gifct", str(entry_id), *p)
    assert events([entry_id]) == [(entry_id, "add"), (entry_id, "remove")]
    assert_clean_error(tamis("bank", "remove", "gifct", str(entry_id), str(pdq_id), *p), f"no live entry {entry_id}")
    assert {v for _, v, _ in live(project)} == {h}  # all or nothing: pdq_id stays

    removed = ok("bank", "delete", "gifct", *p)
    assert "1 entries removed" in removed.stderr
    assert "gifct" not in ok("bank", "list", *p).stdout
    assert_clean_error(tamis("bank", "show", "gifct", *p), "bank 'gifct' does not exist")


@pytest.mark.slow
def test_cli_import_errors_name_the_lines_and_import_nothing(project: str, tmp_path: Path) -> None:
    p = ["--project", project]
    ok("bank", "create", "hotline", *p)
    path = tmp_path / "list.txt"
    path.write_text("\n".join(["# header", md5(), "oops", md5(), pdq()]) + "\n")
    result = tamis("bank", "import", "hotline", str(path), *p)
    assert_clean_error(result, f"{path}:3: not a hash", f"{path}:5:", "pdq or sha256", "2 bad line(s)", "nothing was imported")
    assert entry_rows(project) == 0 and jobs(project) == []

    stdin = "\n".join([pdq(), pdq()])
    assert_clean_error(tamis("bank", "import", "hotline", "-", *p, stdin=stdin), "-:1:", "give the signal")
    ok("bank", "import", "hotline", "-", "--signal", "pdq", *p, stdin=stdin)
    assert entry_rows(project) == 2

    simple = tmp_path / "simple.HASH_MD5.te"
    simple.write_text(f"{md5()},0,2024-01-01,tag\n")
    assert "imported 1 entries" in ok("bank", "import", "hotline", str(simple), *p).stderr  # format and signal from the name
    assert_clean_error(tamis("bank", "import", "hotline", str(tmp_path / "missing.txt"), *p), "missing.txt")
    assert_clean_error(tamis("bank", "import", "hotline", str(path), "--format", "xml", *p), "unknown format 'xml'")
    assert_clean_error(tamis("bank", "export", "hotline", "--format", "plain", *p), "give the signal")


@pytest.mark.slow
def test_cli_validation_errors(project: str) -> None:
    p = ["--project", project]
    assert_clean_error(tamis("bank", "create", "Bad Name", *p), "name:")
    assert_clean_error(tamis("bank", "create", "x", "--category", "politics", *p), "category:", "unknown category")
    assert_clean_error(tamis("bank", "create", "x", "--rollout", "3", *p), "rollout:")
    assert_clean_error(tamis("bank", "create", "x", "--action", "ban", *p), "action:")
    ok("bank", "create", "x", *p)
    assert_clean_error(tamis("bank", "create", "x", *p), "name:", "already exists")
    assert_clean_error(tamis("bank", "set", "x", *p), "nothing to change")
    assert_clean_error(tamis("bank", "set", "x", "--distance", "99", *p), "pdq_distance:")
    assert_clean_error(tamis("bank", "add", "x", "zz", *p), "not a hash")
    assert_clean_error(tamis("bank", "add", "x", pdq(), *p), "give --signal")
    assert_clean_error(tamis("bank", "add", "x", md5(), "--signal", "pdq", *p), "value:")
    assert_clean_error(tamis("bank", "add", "nope", md5(), *p), "bank 'nope' does not exist")
    assert entry_rows(project) == 0
