"""`image-text` end to end: text rendered into an image is read, judged by the policy's text analyzers
and lists through `POST /v1/moderate`, and its evidence points at the words' boxes in the image."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tamis.analyzers import get_analyzer
from tamis.schema import Item
from test_ocr import covers, encoded, render

pytestmark = pytest.mark.models

BENIGN = sorted((Path(__file__).parent / "fixtures" / "benign").glob("*.jpg"))
PROFANE = "you are a fucking idiot"
THREAT = "I will burn your house down"
CLEAN = "I love my garden tomatoes"


def policy(client, auth: dict[str, str], policy_id: str, analyzers: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A policy naming its analyzers (whatever the default's text analyzer is), with a threat list."""
    body = {
        "analyzers": analyzers,
        "categories": {"profanity": {"review": 0.8}, "violence": {"review": 0.5, "block": 0.9}},
        "block_lists": [{"name": "threats", "category": "violence", "terms": ["burn your house"]}],
    }
    response = client.put(f"/v1/policies/{policy_id}", json=body, headers=auth)
    assert response.status_code == 201, response.text


def judge(client, auth: dict[str, str], images: dict[str, bytes], policy_id: str) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    items = [{"data_id": k, "image_base64": base64.b64encode(v).decode()} for k, v in images.items()]
    response = client.post("/v1/moderate", json={"items": items, "policy": policy_id}, headers=auth)
    assert response.status_code == 200, response.text
    return {r["data_id"]: r for r in response.json()["results"]}


def test_meme_text_is_judged_by_its_text_with_boxes_on_the_words(client, auth: dict[str, str]) -> None:
    policy(client, auth, "memes", ["profanity-text", "image-text"])
    profane, profane_boxes = render([PROFANE])
    threat, threat_boxes = render(["look at this", THREAT])
    clean, _ = render([CLEAN])
    results = judge(client, auth, {"profane": encoded(profane), "threat": encoded(threat, "JPEG", quality=90),
                                   "clean": encoded(clean)}, "memes")

    # The profanity score is profanity-text's on the read text, and it is the image item's.
    expected = get_analyzer("profanity-text").analyze([Item("x", text=PROFANE)])[0].scores["profanity"]
    scores = {c["name"]: c for c in results["profane"]["categories"]}
    assert scores["profanity"]["score"] == round(expected, 4) and expected >= 0.8
    assert scores["profanity"]["analyzers"] == [f"profanity-text@{get_analyzer('profanity-text').version}"]
    assert results["profane"]["verdict"] == "review"
    boxes = [e for e in results["profane"]["evidence"] if e["type"] == "bbox"]
    assert boxes and all(e["label"] == "text" and e["category"] == "profanity" for e in boxes)
    flagged = {e["text"]: e for e in boxes}
    assert "fucking" in flagged, boxes
    e = flagged["fucking"]
    assert covers((e["x"], e["y"], e["w"], e["h"]), profane_boxes["fucking"], 72), (e, profane_boxes["fucking"])
    assert not any(e["type"] == "span" for e in results["profane"]["evidence"])  # offsets in read text mean nothing to a client

    # The list match on the second line becomes a box over "burn your house", with the list's score and action.
    threat_result = results["threat"]
    assert threat_result["verdict"] == "block"
    [listed] = [e for e in threat_result["evidence"] if e["type"] == "bbox" and e["label"] == "list:threats"]
    assert listed["text"] == "burn your house" and listed["category"] == "violence" and listed["score"] == 1.0
    x0, y0, _, _ = threat_boxes["burn"]
    hx, hy, hw, hh = threat_boxes["house"]
    assert covers((listed["x"], listed["y"], listed["w"], listed["h"]), (x0, y0, hx + hw - x0, hy + hh - y0), 72), listed

    # Clean text: scored (it was read and judged) but not flagged, no evidence.
    clean_result = results["clean"]
    assert clean_result["verdict"] == "pass" and clean_result["evidence"] == []
    assert [c["name"] for c in clean_result["categories"]] == ["profanity"]
    assert clean_result["categories"][0]["score"] < 0.5

    # Runs: image-text (the reading) and the text analyzer on the read text, each once per item.
    names = [r["name"] for r in results["profane"]["analyzers"]]
    assert names.count("image-text") == 1 and names.count("profanity-text") == 1


def test_item_with_text_and_image_counts_both_texts(client, auth: dict[str, str]) -> None:
    policy(client, auth, "both", ["profanity-text", "image-text"])
    image, _ = render([PROFANE])
    item = {"data_id": "post", "text": CLEAN, "image_base64": base64.b64encode(encoded(image)).decode()}
    response = client.post("/v1/moderate", json={"items": [item], "policy": "both"}, headers=auth)
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    profanity = next(c for c in result["categories"] if c["name"] == "profanity")
    assert profanity["score"] >= 0.8 and profanity["flagged"]  # the image's text, not the clean caption
    assert [r["name"] for r in result["analyzers"]].count("profanity-text") == 1


def test_text_less_photo_comes_out_as_without_image_text(client, auth: dict[str, str]) -> None:
    policy(client, auth, "with", ["nsfw-image", "image-safety", "profanity-text", "image-text"])
    policy(client, auth, "without", ["nsfw-image", "image-safety", "profanity-text"])
    photos = {p.stem: p.read_bytes() for p in BENIGN}
    with_text, without = judge(client, auth, photos, "with"), judge(client, auth, photos, "without")
    for name in photos:
        a, b = with_text[name], without[name]
        assert a["categories"] == b["categories"] and a["evidence"] == b["evidence"] and a["verdict"] == b["verdict"]
        assert sorted(r["name"] for r in a["analyzers"]) == sorted([r["name"] for r in b["analyzers"]] + ["image-text"])


def test_image_text_is_a_valid_analyzer_name_in_the_default_policy(client, auth: dict[str, str]) -> None:
    doc = client.get("/v1/policies/default", headers=auth).json()
    assert "image-text" in doc["enforced"]["analyzers"]
    # And a meme under the default policy gets its text read (whatever the default text analyzer is).
    image, _ = render([PROFANE])
    result = judge(client, auth, {"meme": encoded(image)}, "default")["meme"]
    assert any(e["type"] == "bbox" and e["label"] == "text" for e in result["evidence"]), result


def test_photo_background_meme(client, auth: dict[str, str]) -> None:
    policy(client, auth, "photo", ["profanity-text", "image-text"])
    image, _ = render([PROFANE], size=(1200, 800), px=64, background=Image.open(BENIGN[1]).convert("RGB"))
    result = judge(client, auth, {"cat": encoded(image, "JPEG", quality=85)}, "photo")["cat"]
    assert any(c["name"] == "profanity" and c["flagged"] for c in result["categories"]), result
