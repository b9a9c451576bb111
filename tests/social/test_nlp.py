"""Language detection and sentiment (social/nlp.py): known answers.

The English compounds are the ones the vaderSentiment README publishes for its examples;
the French ones are vadersentiment-fr 1.3.4's. No database.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from social import nlp
from social.nlp import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    Sentiment,
    SentimentLabel,
    analyse,
    clean_for_detection,
    detect_language,
    label_for,
    score_sentiment,
)

EN = "vader-en-3.3.2"
FR = "vader-fr-1.3.4"
FALLBACK = "vader-en-3.3.2(fallback)"


@pytest.mark.parametrize(
    ("text", "compound", "label"),
    [
        ("VADER is smart, handsome, and funny.", 0.8316, "positive"),
        ("The book was good.", 0.4404, "positive"),
        ("At least it isn't a horrible book.", 0.431, "positive"),
        ("Today SUX!", -0.5461, "negative"),
        (
            "The plot was good, but the characters are uncompelling and the dialog is not great.",
            -0.7042,
            "negative",
        ),
        ("The package arrived on Tuesday.", 0.0, "neutral"),
    ],
)
def test_english_known_answers(text: str, compound: float, label: SentimentLabel) -> None:
    assert score_sentiment(text, "en") == Sentiment(compound=compound, label=label, model=EN)


@pytest.mark.parametrize(
    ("text", "compound", "label"),
    [
        ("Je déteste ce service, c'est nul", -0.2732, "negative"),
        ("J'adore ce produit, merci !", 0.5255, "positive"),
        ("Le colis est arrivé mardi.", 0.0, "neutral"),
    ],
)
def test_french_known_answers(text: str, compound: float, label: SentimentLabel) -> None:
    assert score_sentiment(text, "fr") == Sentiment(compound=compound, label=label, model=FR)


def test_french_needs_the_french_lexicon() -> None:
    # English VADER knows none of these words: it would call the complaint neutral.
    assert score_sentiment("Je déteste ce service, c'est nul", "en").label == "neutral"
    assert score_sentiment("Je déteste ce service, c'est nul", "fr").label == "negative"


def test_language_tags_are_reduced_to_their_primary_subtag() -> None:
    for tag in ("fr", "FR", "fr-CA", "fr_FR"):
        assert score_sentiment("J'adore ce produit, merci !", tag).model == FR
    assert score_sentiment("I love it", "en-GB").model == EN


@pytest.mark.parametrize("language", ["es", "de", "ja", None, "und", ""])
def test_languages_without_a_lexicon_fall_back_to_english_and_say_so(language: str | None) -> None:
    result = score_sentiment("Great, thanks!", language)
    assert result.model == FALLBACK
    assert result.label == "positive"


def test_thresholds_are_the_vader_papers() -> None:
    assert (POSITIVE_THRESHOLD, NEGATIVE_THRESHOLD) == (0.05, -0.05)


@pytest.mark.parametrize(
    ("compound", "label"),
    [
        (0.05, "positive"),
        (0.0499, "neutral"),
        (0.0, "neutral"),
        (-0.0499, "neutral"),
        (-0.05, "negative"),
        (1.0, "positive"),
        (-1.0, "negative"),
    ],
)
def test_label_thresholds(compound: float, label: str) -> None:
    assert label_for(compound) == label


class _FixedScorer:
    def __init__(self, compound: float) -> None:
        self.compound = compound

    def polarity_scores(self, text: str) -> dict[str, float]:
        return {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": self.compound}


@pytest.mark.parametrize(
    ("compound", "label"), [(0.05, "positive"), (-0.05, "negative"), (0.0499, "neutral")]
)
def test_score_sentiment_labels_at_the_thresholds(
    monkeypatch: pytest.MonkeyPatch, compound: float, label: SentimentLabel
) -> None:
    fixed: Any = nlp._Lazy(lambda: nlp._Analyzer(_FixedScorer(compound), "fixed"))
    monkeypatch.setattr(nlp, "_ENGLISH", fixed)
    assert score_sentiment("anything", "en") == Sentiment(compound=compound, label=label, model="fixed")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "@AcmeSupport my order still hasn't arrived, third time I'm asking https://t.co/Xy12abc #fail",
            "en",
        ),
        ("RT @acme: Thanks everyone for coming to the launch yesterday! https://acme.example/blog", "en"),
        (
            "@orange_fr Mon internet est coupé depuis trois jours, c'est inadmissible https://t.co/a1B2c3",
            "fr",
        ),
        ("Merci @SNCF pour le remboursement rapide, service client au top #voyage http", "fr"),
    ],
)
def test_detects_english_and_french_tweets(text: str, language: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text",
    ["", "   ", "https://t.co/Xy12abc", "@acme @bob", "http @user", "#ok", "lol", "👍👍👍", "12345 678"],
)
def test_no_language_for_empty_short_or_url_only_text(text: str) -> None:
    assert detect_language(text) is None


def test_cleaning_removes_urls_mentions_and_hashtag_marks() -> None:
    assert (
        clean_for_detection("RT @acme: Love it &amp; more #happy https://t.co/x www.acme.example http")
        == ": Love it & more happy"
    )


def test_empty_text_is_neutral() -> None:
    assert score_sentiment("", "en") == Sentiment(0.0, "neutral", EN)
    assert score_sentiment("", "fr") == Sentiment(0.0, "neutral", FR)
    assert analyse([("", None)]) == [(None, Sentiment(0.0, "neutral", FALLBACK))]


def test_analyse_uses_the_hint_when_given_and_detects_otherwise() -> None:
    complaint = "@orange_fr Je déteste ce service, c'est nul https://t.co/a1B2c3"
    results = analyse(
        [
            (complaint, None),  # detected
            (complaint, "fr-FR"),  # hint, reduced to "fr"
            (complaint, "und"),  # X's "undetermined": detected
            (complaint, "qme"),  # X's private code (media only): detected
            ("I love this product, thanks!", "en"),
            ("¡Me encanta este producto!", "es"),  # no Spanish lexicon
            ("https://t.co/a1B2c3", None),  # nothing to detect
        ]
    )
    assert [language for language, _ in results] == ["fr", "fr", "fr", "fr", "en", "es", None]
    assert [s.model for _, s in results] == [FR, FR, FR, FR, EN, FALLBACK, FALLBACK]
    assert [s.label for _, s in results[:5]] == ["negative"] * 4 + ["positive"]
    assert analyse([]) == []


def test_long_texts_are_scored_in_pieces_in_bounded_time() -> None:
    praise = "J'adore ce produit, merci ! " * 2_000  # 56,000 characters
    result = score_sentiment(praise, "fr")
    assert result.label == "positive"
    assert -1.0 <= result.compound <= 1.0
    pieces = nlp._pieces("mot " * 600, 1_000)
    assert all(len(p) <= 1_000 for p in pieces)
    assert " ".join(pieces).split() == ["mot"] * 600
    assert [len(p) for p in nlp._pieces("a" * 2_500, 1_000)] == [1_000, 1_000, 500]


def test_french_import_is_quiet_and_leaves_sys_path_alone() -> None:
    # A fresh process: warnings are errors, and vaderSentiment_fr appends "/" to sys.path.
    code = (
        "import sys; from social import nlp; nlp.preload(); "
        "assert '/' not in sys.path, sys.path; "
        "print(nlp.score_sentiment('Je déteste ce service', 'fr').label)"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("negative\n", "")
