"""Links through `POST /v1/moderate`: phishing URLs in text, shorteners, QR codes in images, and
the policy's domain lists (block and allow), with policies made in the test through the API."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from test_api_policies import assert_problem, put

BENIGN = Path(__file__).parent / "fixtures" / "benign"
PHISH = "Your account is locked, verify now: http://paypal.com.secure-login.xyz/verify"
THRESHOLDS = {"scam": {"review": 0.5, "block": 0.9}, "spam": {"review": 0.7, "block": 0.97}}


def links_policy(client, auth: dict[str, str], **extra: Any) -> None:  # type: ignore[no-untyped-def]
    body = {"analyzers": ["links"], "categories": THRESHOLDS, **extra}
    response = put(client, auth, body, "links")
    assert response.status_code == 201, response.text


def moderate(client, auth: dict[str, str], item: dict[str, Any], policy: str = "links") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.post("/v1/moderate", json={"items": [{"data_id": "x", **item}], "policy": policy}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["results"][0]


def category(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in result["categories"] if c["name"] == name), None)


def qr_photo(text: str) -> str:
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    code = Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=4))).convert("RGB")
    photo = Image.open(BENIGN / "chelsea.jpg").convert("RGB")
    photo.paste(code, (200, 60))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=92)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.models
def test_phishing_url_in_text_is_a_scam_signal_with_url_evidence(client, auth: dict[str, str]) -> None:
    links_policy(client, auth)
    result = moderate(client, auth, {"text": PHISH})
    scam = category(result, "scam")
    assert scam and scam["flagged"] and scam["score"] >= 0.5
    assert result["verdict"] == "review"  # a URL's spelling alone never blocks
    (evidence,) = [e for e in result["evidence"] if e["type"] == "url"]
    assert evidence["domain"] == "secure-login.xyz" and evidence["source"] == "text"
    assert PHISH[evidence["start"] : evidence["end"]] == "http://paypal.com.secure-login.xyz/verify"


@pytest.mark.models
def test_shortener_alone_is_not_flagged_scam(client, auth: dict[str, str]) -> None:
    links_policy(client, auth)
    result = moderate(client, auth, {"text": "new video! https://youtu.be/dQw4w9WgXcQ and bit.ly/3xYz12Q"})
    assert result["verdict"] == "pass"
    assert category(result, "scam") is None  # a shortener's spelling says nothing about its target
    spam = category(result, "spam")
    assert spam and not spam["flagged"] and spam["score"] < 0.7
    assert {e["domain"] for e in result["evidence"]} == {"youtu.be", "bit.ly"}


@pytest.mark.models
def test_qr_code_with_a_blocked_domain_gets_the_lists_action(client, auth: dict[str, str]) -> None:
    lists = [{"name": "phish-feed", "domains": ["prize-claim.top"], "category": "scam", "action": "block"}]
    links_policy(client, auth, domain_lists=lists)
    result = moderate(client, auth, {"image_base64": qr_photo("https://win.prize-claim.top/now?id=7")})
    assert result["verdict"] == "block"
    assert category(result, "scam")["score"] == 1.0
    url = next(e for e in result["evidence"] if e["type"] == "url")
    assert url["source"] == "qr" and url["list"] == "phish-feed" and url["domain"] == "prize-claim.top"
    box = next(e for e in result["evidence"] if e["type"] == "bbox")
    assert box["label"] == "QRCode" and abs(box["x"] - 216) <= 3 and abs(box["y"] - 76) <= 3
    assert any("phish-feed" in r or "scam" in r for r in result["reasons"])


@pytest.mark.models
def test_allow_listed_domain_is_never_flagged(client, auth: dict[str, str]) -> None:
    # the operator's own domain happens to look like phishing to the URL model
    lists = [{"name": "ours", "domains": ["secure-login.xyz"], "allow": True}]
    links_policy(client, auth, domain_lists=lists)
    result = moderate(client, auth, {"text": PHISH})
    assert result["verdict"] == "pass"
    assert category(result, "scam")["score"] == 0.0
    assert [e["list"] for e in result["evidence"] if e["type"] == "url"] == ["ours"]


@pytest.mark.models
def test_domain_lists_apply_without_the_links_analyzer(client, auth: dict[str, str]) -> None:
    lists = [{"name": "bad", "domains": ["evil.example"], "action": "review"}]
    assert put(client, auth, {"analyzers": ["nsfw-image"], "domain_lists": lists}, "lists-only").status_code == 201
    result = moderate(client, auth, {"text": "see hxxps://login.evil[.]example/x"}, policy="lists-only")
    assert result["verdict"] == "review"
    assert result["categories"] == []  # the list has no category: its action only
    clean = moderate(client, auth, {"text": PHISH}, policy="lists-only")
    assert clean["verdict"] == "pass" and clean["categories"] == []  # no URL model in lists-only mode


@pytest.mark.models
def test_default_policy_runs_links(client, auth: dict[str, str]) -> None:
    result = moderate(client, auth, {"text": PHISH}, policy="default")
    assert "links" in [a["name"] for a in result["analyzers"]]
    assert category(result, "scam")["flagged"]


def test_invalid_domain_lists_are_4xx_naming_the_field(client, auth: dict[str, str]) -> None:
    bad_domain = {"domain_lists": [{"name": "x", "domains": ["ok.com", "https://evil.com/path"]}]}
    body = assert_problem(put(client, auth, bad_domain), 422, "domain_lists[0].domains")
    assert "domains[1]" in body["detail"]
    assert_problem(put(client, auth, {"domain_lists": [{"name": "x", "category": "phishing"}]}), 422, "domain_lists[0].category")
    assert_problem(put(client, auth, {"domain_lists": [{"name": "x", "allow": True, "category": "scam"}]}), 422, "domain_lists[0]")
    assert_problem(put(client, auth, {"domain_lists": [{"name": "x", "action": "delete"}]}), 422, "domain_lists[0].action")
    assert client.get("/v1/policies/default", headers=auth).json()["versions"] == []
