"""Issue 10, item 7: the smaller holes, each with the test that failed before."""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from conftest import FIXTURES, assert_problem

README = Path(__file__).parent.parent / "README.md"


# --- a video to /v1/hash and /v1/match gets the video limit, not the image one -------------------


@pytest.fixture
def small_image_limit(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from tamis import config

    settings = config.get_settings()
    monkeypatch.setattr(settings, "max_image_bytes", 1000)  # the video below is larger: like 25 MB vs 20 MiB
    return settings


@pytest.mark.parametrize("path", ["/v1/hash", "/v1/match"])
def test_a_video_over_the_image_limit_is_hashed_as_a_video(client, auth, small_image_limit, path: str) -> None:  # type: ignore[no-untyped-def]
    from video_maker import two_scenes

    video = two_scenes()
    assert len(video) > small_image_limit.max_image_bytes
    response = client.post(path, headers=auth, files={"file": ("v.mp4", video, "video/mp4")})
    assert response.status_code == 200, response.text
    hashes = response.json() if path == "/v1/hash" else response.json()["hashes"]
    assert hashes["kind"] == "video" and hashes["vpdq"]


def test_an_image_over_the_image_limit_is_still_413(client, auth, small_image_limit) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((128, 128), 64).convert("RGB").save(buffer, "PNG")
    assert len(buffer.getvalue()) > 1000
    response = client.post("/v1/hash", headers=auth, files={"file": ("x.png", buffer.getvalue(), "image/png")})
    assert_problem(response, 413, "file")


def test_bytes_over_the_image_limit_that_are_no_video_are_413(client, auth, small_image_limit) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/v1/hash", headers=auth, files={"file": ("x.bin", os.urandom(5000), "application/octet-stream")})
    assert_problem(response, 413, "file")


# --- /v1/moderations takes JSON only ------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_moderations_refuses_other_content_types(client, auth, content_type: str | None) -> None:  # type: ignore[no-untyped-def]
    headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/v1/moderations", headers=headers, content=b'{"input": "hello"}')
    assert_problem(response, 415, "Content-Type")


@pytest.mark.models
def test_moderations_still_takes_json_with_a_charset(client, auth) -> None:  # type: ignore[no-untyped-def]
    headers = {**auth, "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/v1/moderations", headers=headers, content=b'{"input": "hello"}').status_code == 200


# --- a multipart text over the limit is 413 -----------------------------------------------------


def test_a_multipart_text_over_the_limit_is_413(client, auth, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tamis import config

    limit = 1000
    monkeypatch.setattr(config.get_settings(), "max_text_chars", limit)
    # over the part's byte limit (4 bytes a character): starlette stops reading it (was a 400)
    response = client.post("/v1/moderate", headers=auth, files={"text": (None, "x" * (limit * 4 + 1))})
    assert_problem(response, 413, "text")
    # within the part's bytes, over the characters
    response = client.post("/v1/moderate", headers=auth, files={"text": (None, "é" * (limit + 500))})
    assert_problem(response, 413, "text")


# --- files only the operator may read ----------------------------------------------------------


@pytest.mark.slow
def test_the_data_dir_and_database_file_are_private(tmp_path: Path) -> None:
    from tamis.config import Settings

    old_umask = os.umask(0o022)
    try:
        settings = Settings(data_dir=tmp_path / "fresh" / "data", database_url=None)
        url = settings.resolved_database_url()
    finally:
        os.umask(old_umask)
    path = Path(url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from tamis.store.db import make_engine, migrate

    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    for suffix in ("", "-wal", "-shm"):
        sibling = Path(str(path) + suffix)
        if sibling.exists():
            assert stat.S_IMODE(sibling.stat().st_mode) == 0o600, sibling
    engine.dispose()


# --- the README's verify() --------------------------------------------------------------------


def readme_verify() -> Callable[[str, bytes, str], bool]:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - the README's own snippet, run as a reader would
    return namespace["verify"]  # type: ignore[no-any-return]


MALFORMED = ["", "garbage", "t=", "v1=abc", "t=abc,v1=00", "t=1e9,v1=00", ",,,", "t=١٢٣,v1=00", "t=123,v1=é",
             "t=" + "9" * 5000 + ",v1=00", "=,=", "t==,v1==", " t = 1 , v1 = 2 "]


@pytest.mark.parametrize("header", MALFORMED)
def test_the_readme_verify_refuses_malformed_headers_without_raising(header: str) -> None:
    assert readme_verify()("secret", b"{}", header) is False


@pytest.mark.parametrize("header", MALFORMED)
def test_tamis_verify_refuses_malformed_headers_without_raising(header: str) -> None:
    from tamis.services.webhooks import verify

    assert verify("secret", "{}", header) is False


def test_the_readme_verify_accepts_tamis_signatures_and_refuses_stale_or_forged_ones() -> None:
    from tamis.services.webhooks import sign

    verify = readme_verify()
    body = '{"type": "decision"}'
    now = int(time.time())
    assert verify("s3cret", body.encode(), sign("s3cret", body, now)) is True
    assert verify("s3cret", body.encode(), sign("s3cret", body, now - 1000)) is False
    assert verify("other", body.encode(), sign("s3cret", body, now)) is False
    assert verify("s3cret", b'{"type": "forged"}', sign("s3cret", body, now)) is False


# --- a revoked key -----------------------------------------------------------------------------


def test_a_key_revoked_in_this_process_stops_at_once(client, project: str) -> None:  # type: ignore[no-untyped-def]
    from tamis.store import queries
    from tamis.store.db import transaction

    with transaction() as session:
        row, plaintext = queries.create_key(session, project)
    headers = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/v1/policies", headers=headers).status_code == 200  # now cached
    with transaction() as session:
        assert queries.revoke_key(session, row.id)
    assert_problem(client.get("/v1/policies", headers=headers), 401, "Authorization")
