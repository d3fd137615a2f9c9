"""Training choices of issue 11 (tamis.textmodel.training), on made-up rows: label definitions where sources
disagree, the language directions projected out of the embedding, and heads that use the n-grams or not."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tamis.textmodel import features
from tamis.textmodel.training.crossval import clean_mask
from tamis.textmodel.training.data import Row, harmonised
from tamis.textmodel.training.train import Recipe, fit, label_for, language_directions


def row(i: int, set_name: str, labels: dict, lang: str = "en", split: str = "train") -> Row:
    return Row(f"{set_name}:{i}", f"text {i}", f"text {i}", labels, lang, set_name, None, split=split)


def test_a_hate_speech_sources_clean_rows_are_negatives_only_for_what_it_annotates() -> None:
    mlma, davidson, other = (row(0, "mlma_hate_speech", {"any": 0, "hate": 0}),
                             row(1, "davidson_hate_offensive", {"any": 0, "hate": 0, "profanity": 0}),
                             row(2, "germeval2018", {"any": 0}))
    assert label_for(mlma, "hate") == 0 and label_for(mlma, "harassment") is None
    assert label_for(davidson, "profanity") == 0 and label_for(davidson, "harassment/threatening") is None
    assert label_for(other, "harassment") == 0 and label_for(other, "violence") == 0
    cats = ("hate", "harassment", "profanity")
    assert clean_mask(mlma, cats).tolist() == [True, False, False]
    assert clean_mask(davidson, cats).tolist() == [True, False, True]
    assert clean_mask(other, cats).tolist() == [True, True, True]


def test_a_label_that_holds_only_in_a_context_the_row_lacks_is_dropped() -> None:
    """DiaSafety's biased-opinion replies are hate only beside the user's turn: unlabelled, neither a
    positive nor a negative; its clean rows and its other groups keep their labels."""
    biased = harmonised({"any": 1, "hate": 1}, "diasafety_chatbot_responses", "Biased Opinion")
    assert biased == {}
    assert all(label_for(row(0, "diasafety_chatbot_responses", biased), h) is None for h in ("any", "hate", "harassment"))
    assert clean_mask(row(0, "diasafety_chatbot_responses", biased), ("hate",)) is None
    assert harmonised({"any": 0, "hate": 0}, "diasafety_chatbot_responses", "Biased Opinion") == {"any": 0, "hate": 0}
    offending = {"any": 1, "harassment": 1}
    assert harmonised(offending, "diasafety_chatbot_responses", "Offending User") == offending
    assert harmonised({"any": 1, "hate": 1}, "mlma_hate_speech", "Biased Opinion") == {"any": 1, "hate": 1}


def test_language_directions_are_the_offsets_between_languages_not_the_content() -> None:
    rng = np.random.default_rng(0)
    dim = features.DENSE_DIM
    offset = {lang: rng.normal(size=dim) for lang in ("en", "de", "fr")}
    rows, dense = [], []
    for i in range(60):
        lang = ("en", "de", "fr")[i % 3]
        rows.append(row(i, "xquad_wiki_paragraphs", {"any": 0}, lang))
        dense.append(rng.normal(scale=0.1, size=dim) + offset[lang])
    rows.append(row(99, "germeval2018", {"any": 1}, "de"))  # not a parallel set: not used
    dense.append(rng.normal(size=dim) * 50)
    U = language_directions(rows, np.array(dense), k=2)
    assert U.shape == (dim, 2) and np.allclose(U.T @ U, np.eye(2), atol=1e-8)
    diff = offset["en"] - offset["de"]
    # the en-de offset lies (almost) in the span of the directions found
    assert np.linalg.norm(diff - U @ (U.T @ diff)) < 0.1 * np.linalg.norm(diff)


@pytest.mark.slow  # fits two heads (L-BFGS, platt): a few seconds
def test_language_offsets_are_projected_out_of_the_shipped_weights_and_ngrams_only_where_asked() -> None:
    rng = np.random.default_rng(1)
    dim = features.DENSE_DIM
    en_offset = rng.normal(size=dim)
    rows, dense = [], []
    for i in range(400):  # positives are all English: a head could learn "English" as harm
        lang = "en" if i % 2 else "de"
        y = int(i % 2 == 1 and i % 4 == 1)
        rows.append(row(i, "xquad_wiki_paragraphs" if not y else "threats", {"any": y, "harassment": y}, lang,
                        split="calib" if i % 5 == 0 else "train"))
        dense.append(rng.normal(scale=0.1, size=dim) + (en_offset if lang == "en" else 0) + (y * 0.5))
    dense = np.array(dense)
    n = len(rows)  # one n-gram bucket a row, shared by the English positives: a head with n-grams would use it
    buckets = np.array([7 if r.labels["any"] else 11 + i for i, r in enumerate(rows)])
    sparse = sp.csr_matrix((np.ones(n), (np.arange(n), buckets)), shape=(n, features.N_BUCKETS))
    fitted = fit(rows, dense, sparse, Recipe(heads=("harassment", "spam"), language_dirs=4, ngram_heads=("spam",)))
    U = language_directions(rows, dense, 4)
    w = fitted.dense_w[:, 0]
    assert np.abs(U.T @ w).max() < 1e-6 * np.abs(w).max()  # the language offset carries no weight
    assert not fitted.sparse_w[:, 0].any()  # harassment: no n-grams


def test_probe_figures_count_english_misses_and_translations_that_differ() -> None:
    from tamis.textmodel.training.probes import LANGUAGES, figures

    harmful = {"kind": "harmful", "texts": {"en": "E", **{lang: f"T-{lang}" for lang in LANGUAGES}}}
    benign = {"kind": "benign", "texts": {"en": "b", **{lang: f"b-{lang}" for lang in LANGUAGES}}}
    v = {"E": ("review", frozenset({"harassment"})), "b": ("pass", frozenset()), "news": ("block", frozenset({"violence"}))}
    v |= {f"T-{lang}": ("review" if lang in ("de", "fr") else "pass", frozenset()) for lang in LANGUAGES}
    v |= {f"b-{lang}": ("pass", frozenset()) for lang in LANGUAGES} | {"b-zh": ("review", frozenset({"hate"}))}
    out = figures([harmful, benign], [{"text": "news"}], v)
    assert out["english_flagged"] == 1 and out["english_pass"] == []
    assert out["same_verdict_rate"] == 0.2 and out["same_verdict_per_language"]["de"] == 1
    assert out["translations_flagged"] == 2
    assert out["everyday_flagged"] == ["zh: b-zh"] and out["context_flagged"] == ["news"]


def test_the_identity_templates_cap_can_be_raised() -> None:
    # identity neutrality of `hate` depends on how many templates the heads see (model card): `--templates N`
    from tamis.textmodel.training import universe
    from tamis.textmodel.training.data import TEMPLATE_SET, Row

    rows = [Row(f"{s}:{i}", f"text {i}", f"text {i}", {"any": 0}, "en", s, None)
            for s in (TEMPLATE_SET, "other_set") for i in range(3000)]
    default = universe.sample(rows)
    raised = universe.sample(rows, templates=2800)
    count = lambda rs, s: sum(r.set == s for r in rs)  # noqa: E731
    assert count(default, TEMPLATE_SET) == universe.CAPS[TEMPLATE_SET] < 2800
    assert count(raised, TEMPLATE_SET) == 2800
    assert count(raised, "other_set") == count(default, "other_set") == universe.SET_CAP
    assert {r.id for r in default} <= {r.id for r in raised}  # the same stable sample, only larger


def test_rare_positives_are_extra_training_rows_never_scored_rows_nor_threats() -> None:
    from tamis.textmodel.training import universe

    rows = ([row(i, "rtp_lx_multilingual", {"any": 1, "self-harm": 1}, "de") for i in range(2000)]
            + [row(i, "threats", {"any": 1, "violence": 1, "harassment/threatening": 1}) for i in range(2000, 3500)]
            + [row(i, "rtp_lx_multilingual", {"any": 0}) for i in range(3500, 5000)]
            + [row(i, "rtp_lx_multilingual", {"any": 1, "sexual": 1}, split="unused") for i in range(5000, 5100)])
    sampled = universe.sample(rows)
    extra = universe.rare_positives(rows, sampled, cap=300)
    assert not {r.id for r in extra} & {r.id for r in sampled}  # scored rows keep their set's prevalence
    assert len(extra) == 300 and all(r.labels.get("self-harm") == 1 for r in extra)  # no threat, nothing unused
    assert [r.id for r in extra] == [r.id for r in universe.rare_positives(rows, sampled, cap=300)]  # stable
    assert universe.rare_positives(rows, sampled, cap=0) == []


def test_more_rows_fill_each_set_to_its_training_size_keep_its_mix_and_are_never_scored() -> None:
    from tamis.textmodel.training import universe
    from tamis.textmodel.training.train import Recipe

    rows = ([row(i, "big", {"any": int(i % 4 == 0), "hate": int(i % 4 == 0)}, split="eval" if i % 10 == 1 else "train")
             for i in range(8000)]
            + [row(i, "small", {"any": 0}) for i in range(8000, 8500)]
            + [row(i, "eltec_novel_paragraphs", {"any": 0}) for i in range(8500, 11500)]
            + [row(i, "big", {"any": 1}, split="unused") for i in range(11500, 11600)])
    sampled = universe.sample(rows)
    more = universe.more_rows(rows, sampled, per_set=3000)
    assert not {r.id for r in more} & {r.id for r in sampled}
    assert {r.set for r in more} == {"big"}  # "small" is whole in the sample; long-form sets keep their cap
    in_sample = sum(r.set == "big" for r in sampled)
    assert len(more) == 3000 - in_sample and all(r.split == "train" for r in more)  # never evaluation rows
    share = sum(r.labels["hate"] for r in more) / len(more)
    assert 0.2 < share < 0.3  # the set's own mix (a quarter hate), not its positives alone
    assert [r.id for r in more] == [r.id for r in universe.more_rows(rows, sampled, per_set=3000)]  # stable
    both = universe.training_extra(rows, sampled, Recipe(rare_positives=0, train_per_set=3000))
    assert [r.id for r in both] == [r.id for r in more]
    assert universe.training_extra(rows, sampled, Recipe()) == []


@pytest.mark.models
def test_median_scores_per_language_are_what_the_analyzer_reports() -> None:
    from tamis.analyzers.text_model import TextModelAnalyzer
    from tamis.schema import Item
    from tamis.textmodel.training.probes import LANGUAGES, PER_LANGUAGE_CATEGORIES, median_scores

    texts = {"en": "You are a disgusting pig.", **{lang: "Have a nice day." for lang in LANGUAGES}}
    out = median_scores([{"kind": "harmful", "texts": texts}, {"kind": "benign", "texts": texts}])
    assert set(out) == {"en", *LANGUAGES} and all(set(v) == set(PER_LANGUAGE_CATEGORIES) for v in out.values())
    pig = TextModelAnalyzer().analyze([Item("p", text=texts["en"])])[0].scores
    # the benign probe (the same texts) is left out: the median of one harmful probe is its own score
    assert out["en"]["harassment"] == round(pig["harassment"], 2)
    assert out["en"]["harassment"] > out["de"]["harassment"]  # an insult above "Have a nice day."
