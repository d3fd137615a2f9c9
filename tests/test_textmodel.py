"""The shipped text model (src/tamis/textmodel/weights/text_model.npz): loads offline, scores obvious and tricky cases."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from tamis.textmodel import TextModel, detect_language
from tamis.textmodel.features import char_ngrams, clean, hash_features, ngram_view


@pytest.fixture(scope="module")
def model():
    def no_network(*args, **kwargs):
        raise OSError("network access attempted by the text model")

    mp = pytest.MonkeyPatch()
    mp.setattr(socket.socket, "connect", no_network)
    mp.setattr(socket.socket, "connect_ex", no_network)
    mp.setattr(socket, "create_connection", no_network)
    try:
        m = TextModel.load()
        m.predict(["warm up: loads the encoder too"])
    finally:
        mp.undo()
    return m


def score(model, text: str) -> dict[str, float]:
    return model.predict_dict(text)


@pytest.mark.models
def test_loads_offline_and_has_the_categories(model):
    for c in ("any", "sexual", "hate", "harassment", "harassment/threatening", "violence", "self-harm",
              "extremism", "spam", "scam", "profanity"):
        assert c in model.categories
    assert "sexual/minors" not in model.categories  # derived by the analyzer, never trained
    for c in model.categories:
        t = model.recommended_thresholds[c]
        assert 0 < t["review"] <= t["block"] < 1


@pytest.mark.models
def test_probabilities_in_unit_interval(model):
    texts = ["", "   ", "hello", "x" * 10000, "😀" * 50, "I will kill you", "你好", "@user http://x.y"]
    p = model.predict(texts)
    assert p.shape == (len(texts), len(model.categories))
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    assert model.predict([]).shape == (0, len(model.categories))


@pytest.mark.models
def test_batch_equals_single(model):
    texts = ["you are a worthless idiot", "nice weather today", "buy cheap viagra now click here"]
    batch = model.predict(texts)
    single = np.vstack([model.predict([t]) for t in texts])
    assert np.allclose(batch, single, atol=1e-4)


def test_blend_is_the_geometric_mean_with_the_any_head_for_its_categories_only():
    from hypothesis import given, strategies as st

    from tamis.textmodel.model import blend

    cats = ("any", "hate", "harassment")

    @given(st.lists(st.tuples(*[st.floats(0.0, 1.0)] * 3), min_size=1, max_size=5), st.floats(0.0, 1.0))
    def check(rows, w):
        scores = np.array(rows)
        out = blend(scores, cats, {"harassment": w})
        assert np.array_equal(out[:, :2], scores[:, :2])  # `any` and the other heads unchanged
        lo, hi = np.minimum(scores[:, 0], scores[:, 2]), np.maximum(scores[:, 0], scores[:, 2])
        assert np.all(out[:, 2] >= lo - 1e-12) and np.all(out[:, 2] <= hi + 1e-12)  # between the two heads
        assert np.array_equal(blend(scores, cats, {}), scores)

    check()
    assert blend(np.array([[1.0, 0.2, 0.81]]), cats, {"harassment": 0.5})[0, 2] == pytest.approx(0.9)


@pytest.mark.models
def test_the_shipped_model_reports_harassment_blended_with_the_any_head(model):
    """An insult the harassment head alone is unsure of, the any head sure of: reported between the two."""
    text = "You are a disgusting pig."
    raw = dict(zip(model.categories, model.predict([text])[0]))
    reported = model.predict_dict(text)
    assert model.any_blend == {"harassment": 0.5}
    assert reported["harassment"] == pytest.approx(raw["harassment"] ** 0.5 * raw["any"] ** 0.5)
    assert {c: v for c, v in reported.items() if c != "harassment"} == \
        pytest.approx({c: v for c, v in raw.items() if c != "harassment"})


@pytest.mark.models
def test_obvious_cases(model):
    s = score(model, "I will kill you")
    assert max(s["harassment/threatening"], s["violence"]) > 0.5
    assert score(model, "you are a worthless idiot")["harassment"] > 0.5
    s = score(model, "kill yourself")
    assert max(s["self-harm"], s["harassment"]) > 0.5
    for text in ("I will kill you", "you are a worthless idiot", "kill yourself"):
        assert score(model, text)["any"] > 0.5, text


@pytest.mark.models
def test_spam(model):
    s = score(model, "Congratulations! You won a free iPhone, click here to claim your prize")
    assert s["spam"] > 0.5
    # Web/pharma spam: the shared spam data is SMS only; the hand-written web-spam rows (data/text) carry
    # the head over to comments (this sentence is not one of them).
    s = score(model, "buy cheap viagra now click here")
    assert s["spam"] > 0.5
    assert s["spam"] == max(v for c, v in s.items() if c != "any"), s


@pytest.mark.models
@pytest.mark.parametrize("text", ["I am a proud Muslim", "I am a proud gay man", "I am a proud gardener",
                                  "I am a proud Uyghur", "I am a proud Jewish woman", "I am a proud Black man"])
def test_identity_terms_are_not_hate(model, text):
    s = score(model, text)
    assert s["hate"] < model.recommended_thresholds["hate"]["review"], s
    assert s["hate"] < 0.2, s


@pytest.mark.models
def test_identity_terms_score_like_a_neutral_identity(model):
    base = score(model, "I am a proud gardener")
    for text in ("I am a proud Muslim", "I am a proud gay man"):
        s = score(model, text)
        assert s["hate"] < base["hate"] + 0.15, (text, s, base)


@pytest.mark.models
@pytest.mark.parametrize("text", ["how do I kill a Python process", "I could murder a pizza"])
def test_risky_looking_clean_text_passes(model, text):
    s = score(model, text)
    for c in model.categories:
        assert s[c] < model.recommended_thresholds[c]["review"], (c, s)


def test_features_are_stable():
    # The hash must not depend on the process (PYTHONHASHSEED): these buckets are in the weights.
    indptr, idx, val = hash_features([clean("Hello World")])
    assert indptr.tolist() == [0, len(idx)]
    assert idx[:3].tolist() == sorted(idx.tolist())[:3]
    assert abs(float(np.dot(val, val)) - 1.0) < 1e-5
    assert ngram_view(clean("RT @someone: y0u are an a$$hole http://t.co/x")) == "@user: you are an asshole http"
    assert " h" in char_ngrams("hi") and "hi " in char_ngrams("hi")


def test_language_id():
    assert detect_language("Ich bin ein stolzer Gärtner und liebe meinen Garten")[0] == "de"
    assert detect_language("12345")[0] == "und"
