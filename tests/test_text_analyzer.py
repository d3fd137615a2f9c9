"""The trained text model as an analyzer: chunks and spans, language, sexual/minors, and in a policy."""

from __future__ import annotations

import pytest

from tamis.analyzers import check_conformance, get_analyzer
from tamis.analyzers.text_model import CHUNK_CHARS, chunks
from tamis.schema import Item, SpanEvidence

CLEAN = "The community garden opens on Saturday; bring gloves and seeds to share with the neighbours. "
THREAT = "I will kill you."


@pytest.fixture(scope="module")
def analyzer():  # type: ignore[no-untyped-def]
    return get_analyzer("text-model")


def test_chunks_cover_the_text_at_whitespace() -> None:
    text = ("word " * 400).strip()
    spans = chunks(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(end - start <= CHUNK_CHARS for start, end in spans)
    assert all(text[end] == " " for _, end in spans[:-1])
    assert chunks("") == [(0, 0)]


def test_chunks_leave_out_surrounding_whitespace() -> None:
    # A file's trailing newline used to make the whole text a second chunk, and the evidence marked it.
    assert chunks("you are a fucking idiot\n") == [(0, 23)]
    text = "  Hello there. How are you?\n"
    assert chunks(text)[0] == (2, len(text) - 1)


@pytest.mark.models
def test_conformance_and_calibrated_range(analyzer) -> None:  # type: ignore[no-untyped-def]
    signals = check_conformance(analyzer, [Item("a", text=THREAT), Item("b", text=CLEAN)])
    assert {"harassment", "violence", "hate", "sexual", "sexual/minors"} <= set(signals[0].scores)
    assert "any" not in signals[0].scores  # not a taxonomy category


@pytest.mark.models
def test_long_text_evidence_points_at_the_chunk_that_carried_the_score(analyzer) -> None:  # type: ignore[no-untyped-def]
    text = CLEAN * 12 + THREAT + " " + CLEAN * 12
    short = analyzer.analyze([Item("s", text=THREAT)])[0]
    long = analyzer.analyze([Item("l", text=text)])[0]
    category = max(short.scores, key=short.scores.get)
    assert long.scores[category] >= 0.5
    spans = [e for e in long.evidence if isinstance(e, SpanEvidence) and e.category == category]
    assert spans and all(s.start <= text.index(THREAT) + 10 and s.end >= text.index(THREAT) for s in spans)
    assert len(text) > 2 * CHUNK_CHARS and spans[0].end - spans[0].start <= CHUNK_CHARS


@pytest.mark.models
def test_a_long_texts_harassment_blends_its_highest_pieces(analyzer) -> None:  # type: ignore[no-untyped-def]
    """The text is judged as crossval measures it: each head's highest piece, then the `any` head blended in."""
    from tamis.analyzers.text_model import chunks

    text = CLEAN * 6 + "You are a disgusting pig. " + CLEAN * 6
    pieces = [text[s:e] for s, e in chunks(text)]
    model = analyzer.model
    top = dict(zip(model.categories, model.predict(pieces).max(axis=0)))
    reported = analyzer.analyze([Item("l", text=text)])[0].scores
    assert len(pieces) > 2
    assert reported["harassment"] == pytest.approx((top["harassment"] * top["any"]) ** 0.5, abs=1e-6)
    assert reported["hate"] == pytest.approx(top["hate"], abs=1e-6)


@pytest.mark.models
def test_sexual_minors_needs_words_for_a_minor(analyzer) -> None:  # type: ignore[no-untyped-def]
    with_cue, without = analyzer.analyze([
        Item("a", text="send me nude pics of the 12 year old"),
        Item("b", text="send me nude pics"),
    ])
    assert without.scores["sexual/minors"] == 0.0
    assert with_cue.scores["sexual/minors"] == pytest.approx(with_cue.scores["sexual"])
    assert with_cue.scores["sexual"] > 0.3


@pytest.mark.models
def test_language_is_reported(analyzer) -> None:  # type: ignore[no-untyped-def]
    german, = analyzer.analyze([Item("de", text="Das ist ein ganz normaler Satz über das Wetter in Berlin heute.")])
    assert german.language == {"code": "de", "confidence": pytest.approx(german.language["confidence"]), "supported": True}
    assert german.language["confidence"] >= 0.7


@pytest.mark.models
def test_policy_with_text_model_reports_language_and_unsupported_languages(client, auth) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/v1/policies/default", headers=auth).json()["enforced"]
    body = {k: v for k, v in body.items() if k not in ("id", "version")}
    body["analyzers"] = ["text-model"]
    assert client.put("/v1/policies/default", headers=auth, json=body).status_code == 201
    items = [
        {"data_id": "threat", "text": THREAT},
        {"data_id": "swahili", "text": "Habari za asubuhi rafiki yangu, natumaini umelala salama na familia yako yote."},
    ]
    threat, swahili = client.post("/v1/moderate", headers=auth, json={"items": items}).json()["results"]
    assert threat["verdict"] != "pass" and threat["language"]["code"] == "en"
    assert [a["name"] for a in threat["analyzers"]] == ["text-model"]
    if swahili["language"]["supported"] is False:  # confidently identified and not trained on
        assert any("not trained on language" in r for r in swahili["reasons"])


def test_a_heading_is_read_with_its_sentence_a_short_sentence_alone() -> None:
    text = "# Notice\n\nThe community garden opens at nine on Saturday. I will kill you. Bring gloves!"
    pieces = [text[s:e].strip() for s, e in chunks(text)]
    assert "# Notice" not in pieces  # a fragment without end punctuation is not scored alone
    assert pieces[1].startswith("# Notice") and pieces[1].endswith("Saturday.")
    assert "I will kill you." in pieces  # a short sentence is, so nothing dilutes it
