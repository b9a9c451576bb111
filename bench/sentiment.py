"""Text analysis benchmark (social/nlp.py): sentiment quality, language detection, speed.

No database: it reads ../shared/data/sentiment (beside the repository; README.md there
describes the sets and how the reference figures were measured). Figures:

- English: Pearson r of `score_sentiment(text, "en").compound` against the human gold
  mean on the VADER paper's 4,200 tweets (tweets_GroundTruth.txt). Reference:
  vaderSentiment 3.3.2 measured r = 0.872 there; the paper reports 0.881 (Table 4). Also
  r end to end through `analyse()` without a language hint (detection picks the lexicon).
- French (fr/umsab_french_tweets.csv, train + val splits; the test split is held back):
  accuracy as the README defines it: positive and negative rows only (neutral dropped),
  compound >= 0 -> positive, < 0 -> negative. Reference: 0.657 on the held-back test
  split, 0.710 on all three splits. Also: the strict variant (compound 0 counted wrong),
  coverage (compound != 0) and 3-class accuracy with the +-0.05 labels on all rows.
- Language detection: share of the English set detected "en" and of the French set
  detected "fr" (None counts as wrong), coverage (answered) and precision (right among
  answered).
- Throughput, texts/s of CPU time (one core; the machine is shared, so wall time would
  count other processes' load), median of 5 passes, each next to the raw library call
  measured in the same run and alternated with it block by block (the floor):
  detect_language vs py3langid `classify` restricted to the same languages;
  score_sentiment en / fr vs `polarity_scores`; analyse() end to end (no hints, both
  sets) vs raw classify + polarity_scores of the detected language. The
  rates of docs/performance.md are in the notes. Plus the time of one 20,000-character
  French text, which social.nlp scores in pieces (VADER's time grows with the square of
  the length).
"""

from __future__ import annotations

import argparse
import csv
import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from social import nlp

from .report import Figure, render_table

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sentiment"

# Reference figures (../shared/data/sentiment/README.md).
R_VADER_332 = 0.8722  # vaderSentiment 3.3.2 on tweets_GroundTruth.txt
R_PAPER = 0.881  # Hutto & Gilbert 2014, Table 4
FR_ACC_TEST = 0.657  # vadersentiment-fr 1.3.4, compound >= 0 -> pos, held-back test split (580 rows)
FR_ACC_ALL = 0.710  # the same on all three splits (2,022 rows)
FR_ROWS_TEST, FR_ROWS_ALL = 580, 2_022

# Rates of docs/performance.md (texts/s per core), for the notes.
DOC_VADER_EN = "~7,000 texts/s"
DOC_VADER_FR = "~3,750 texts/s"
DOC_LANGID = "~10,600 texts/s (restricted to 6 languages)"

LONG_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class Sets:
    english: list[tuple[float, str]]  # (gold mean, text)
    french: list[tuple[str, str, str]]  # (split, label, text)


def load_sets(data: Path = DATA) -> Sets:
    english = []
    # Tab-separated, no header, CRLF, no quoting (texts contain '"').
    with open(data / "tweets_GroundTruth.txt", encoding="utf-8", newline="") as f:
        for line in f:
            _id, gold, text = line.rstrip("\r\n").split("\t", 2)
            english.append((float(gold), text))
    with open(data / "fr" / "umsab_french_tweets.csv", encoding="utf-8", newline="") as f:
        french = [(row["split"], row["label"], row["text"]) for row in csv.DictReader(f)]
    return Sets(english=english, french=french)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    return float(np.corrcoef(np.asarray(x, dtype=float), np.asarray(y, dtype=float))[0, 1])


def english_figures(sets: Sets) -> list[Figure]:
    gold = [g for g, _ in sets.english]
    texts = [t for _, t in sets.english]
    r = pearson([nlp.score_sentiment(t, "en").compound for t in texts], gold)
    r_auto = pearson([s.compound for _, s in nlp.analyse([(t, None) for t in texts])], gold)
    n = len(texts)
    return [
        Figure(
            "sentiment_en_r",
            f"English gold standard (n={n:,}): Pearson r, score_sentiment 'en'",
            r,
            "r",
            note=f"r = {r:.4f}; vaderSentiment 3.3.2 measured {R_VADER_332} (data README), paper {R_PAPER}",
        ),
        Figure(
            "sentiment_en_r_auto",
            f"English gold standard (n={n:,}): Pearson r, analyse() with detection",
            r_auto,
            "r",
            note=f"r = {r_auto:.4f}; language detected per tweet (French lexicon where taken for French)",
        ),
    ]


def french_accuracy(compounds: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    """The README's definitions. `labels` are negative / neutral / positive."""
    polar = [(c, lab) for c, lab in zip(compounds, labels, strict=True) if lab != "neutral"]
    right = sum((c >= 0) == (lab == "positive") for c, lab in polar)
    strict = sum((c > 0 and lab == "positive") or (c < 0 and lab == "negative") for c, lab in polar)
    covered = [(c, lab) for c, lab in polar if c != 0]
    right_covered = sum((c > 0) == (lab == "positive") for c, lab in covered)
    three = sum(nlp.label_for(c) == lab for c, lab in zip(compounds, labels, strict=True))
    return {
        "rows": len(polar),
        "accuracy": right / len(polar),
        "strict": strict / len(polar),
        "coverage": len(covered) / len(polar),
        "covered_accuracy": right_covered / max(1, len(covered)),
        "three_class": three / len(labels),
        "all_rows": len(labels),
    }


def french_figures(sets: Sets) -> list[Figure]:
    labels = [lab for _, lab, _ in sets.french]
    texts = [t for _, _, t in sets.french]
    acc = french_accuracy([nlp.score_sentiment(t, "fr").compound for t in texts], labels)
    auto = french_accuracy([s.compound for _, s in nlp.analyse([(t, None) for t in texts])], labels)
    splits = "+".join(sorted({split for split, _, _ in sets.french}, reverse=True))
    # What the README's two figures imply for the rows outside the held-back test split.
    implied = (FR_ACC_ALL * FR_ROWS_ALL - FR_ACC_TEST * FR_ROWS_TEST) / (FR_ROWS_ALL - FR_ROWS_TEST)
    head = f"French {splits} ({acc['rows']:,} pos/neg rows)"
    return [
        Figure(
            "sentiment_fr_acc",
            f"{head}: accuracy, compound >= 0 -> pos",
            acc["accuracy"] * 100,
            "%",
            note=(
                f"README, vadersentiment-fr 1.3.4: {FR_ACC_TEST:.1%} on the held-back test split, "
                f"{FR_ACC_ALL:.1%} on all splits, which implies ~{implied:.1%} on train+val"
            ),
        ),
        Figure("sentiment_fr_acc_strict", f"{head}: accuracy, compound 0 wrong", acc["strict"] * 100, "%"),
        Figure("sentiment_fr_coverage", f"{head}: coverage (compound != 0)", acc["coverage"] * 100, "%"),
        Figure(
            "sentiment_fr_acc_covered", f"{head}: accuracy on covered", acc["covered_accuracy"] * 100, "%"
        ),
        Figure(
            "sentiment_fr_three_class",
            f"French {splits} (all {acc['all_rows']:,} rows): 3-class accuracy, +-0.05 labels",
            acc["three_class"] * 100,
            "%",
        ),
        Figure(
            "sentiment_fr_acc_auto",
            f"{head}: accuracy, analyse() with detection",
            auto["accuracy"] * 100,
            "%",
        ),
    ]


def detection_figures(sets: Sets) -> list[Figure]:
    figures = []
    for code, name, texts in (
        ("en", "English gold standard", [t for _, t in sets.english]),
        ("fr", "French set", [t for _, _, t in sets.french]),
    ):
        detected = [nlp.detect_language(t) for t in texts]
        answered = [d for d in detected if d is not None]
        right = sum(d == code for d in answered)
        head = f"Detection on the {name} (n={len(texts):,}, all '{code}')"
        figures += [
            Figure(f"sentiment_detect_{code}_acc", f"{head}: accuracy", right / len(texts) * 100, "%"),
            Figure(
                f"sentiment_detect_{code}_answered",
                f"{head}: answered",
                len(answered) / len(texts) * 100,
                "%",
            ),
            Figure(
                f"sentiment_detect_{code}_precision",
                f"{head}: right among answered",
                right / max(1, len(answered)) * 100,
                "%",
            ),
        ]
    return figures


def each(call: Callable[[str], Any]) -> Callable[[Sequence[str]], Any]:
    return lambda texts: [call(t) for t in texts]


def paired_rates(
    floor: Callable[[Sequence[str]], Any],
    measured: Callable[[Sequence[str]], Any],
    texts: Sequence[str],
    *,
    repeats: int,
    block: int = 200,
) -> tuple[float, float]:
    """Texts/s of `floor` and of `measured` over `texts`, median of `repeats` passes.

    Both are timed block by block in turn (which goes first alternates), so that both
    see the same machine; and in CPU time of this process (one core), not wall time: the
    machine is shared, and its other load would otherwise land on one side or the other.
    """
    rates: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        seconds = [0.0, 0.0]
        for n, first in enumerate(range(0, len(texts), block)):
            chunk = texts[first : first + block]
            for side in (0, 1) if n % 2 == 0 else (1, 0):
                started = time.process_time()
                (floor, measured)[side](chunk)
                seconds[side] += time.process_time() - started
        rates[0].append(len(texts) / seconds[0])
        rates[1].append(len(texts) / seconds[1])
    return statistics.median(rates[0]), statistics.median(rates[1])


def throughput_figures(sets: Sets, *, repeats: int) -> list[Figure]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    nlp.preload()
    raw_identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
    raw_identifier.set_languages(list(nlp.SUPPORTED_LANGUAGES))
    english = nlp._ENGLISH.get().scorer
    french = nlp._FRENCH.get().scorer
    en_texts = [t for _, t in sets.english]
    fr_texts = [t for _, _, t in sets.french]
    mixed = en_texts + fr_texts

    def raw_pipeline(text: str) -> None:
        language, _ = raw_identifier.classify(text)
        (french if language == "fr" else english).polarity_scores(text)

    langid_floor, detect = paired_rates(
        each(raw_identifier.classify), each(nlp.detect_language), mixed, repeats=repeats
    )
    en_floor, en = paired_rates(
        each(english.polarity_scores), each(lambda t: nlp.score_sentiment(t, "en")), en_texts, repeats=repeats
    )
    fr_floor, fr = paired_rates(
        each(french.polarity_scores), each(lambda t: nlp.score_sentiment(t, "fr")), fr_texts, repeats=repeats
    )
    pipeline_floor, end_to_end = paired_rates(
        each(raw_pipeline), lambda texts: nlp.analyse([(t, None) for t in texts]), mixed, repeats=repeats
    )

    long_text = " ".join(fr_texts)[:LONG_TEXT_CHARS]
    started = time.process_time()
    french.polarity_scores(long_text)
    raw_long_ms = (time.process_time() - started) * 1000
    started = time.process_time()
    nlp.score_sentiment(long_text, "fr")
    long_ms = (time.process_time() - started) * 1000

    both = f"both sets ({len(en_texts):,} en + {len(fr_texts):,} fr tweets)"
    return [
        Figure(
            "floor_langid",
            f"floor: py3langid classify (restricted), {both}",
            langid_floor,
            "texts/s",
            note=f"docs/performance.md: {DOC_LANGID}",
        ),
        Figure("sentiment_detect_rate", f"detect_language, {both}", detect, "texts/s", "floor_langid"),
        Figure(
            "floor_vader_en",
            "floor: vaderSentiment polarity_scores, English set",
            en_floor,
            "texts/s",
            note=f"docs/performance.md: {DOC_VADER_EN}",
        ),
        Figure("sentiment_en_rate", "score_sentiment 'en', English set", en, "texts/s", "floor_vader_en"),
        Figure(
            "floor_vader_fr",
            "floor: vadersentiment-fr polarity_scores, French set",
            fr_floor,
            "texts/s",
            note=f"docs/performance.md: {DOC_VADER_FR}",
        ),
        Figure("sentiment_fr_rate", "score_sentiment 'fr', French set", fr, "texts/s", "floor_vader_fr"),
        Figure(
            "floor_langid_vader",
            f"floor: py3langid classify + polarity_scores, {both}",
            pipeline_floor,
            "texts/s",
        ),
        Figure(
            "sentiment_analyse_rate",
            f"analyse() end to end, no hints, {both}",
            end_to_end,
            "texts/s",
            "floor_langid_vader",
            note="includes detection's cleaning (URLs, mentions, entities) and the confidence softmax",
        ),
        Figure(
            "floor_fr_long_ms",
            f"floor: vadersentiment-fr, one {len(long_text):,}-char text",
            raw_long_ms,
            "ms",
        ),
        Figure(
            "sentiment_fr_long_ms",
            f"score_sentiment 'fr', one {len(long_text):,}-char text (in pieces)",
            long_ms,
            "ms",
            "floor_fr_long_ms",
        ),
    ]


PARTS = ("english", "french", "detection", "throughput")


def run(*, quick: bool = False, only: Sequence[str] = PARTS) -> list[Figure]:
    """All sentiment figures; `quick` times one pass instead of the median of 5."""
    sets = load_sets()
    gc.freeze()  # the loaded texts stay alive: keep the collector from rescanning them
    figures: list[Figure] = []
    if "english" in only:
        figures += english_figures(sets)
    if "french" in only:
        figures += french_figures(sets)
    if "detection" in only:
        figures += detection_figures(sets)
    if "throughput" in only:
        figures += throughput_figures(sets, repeats=1 if quick else 5)
    return figures


def sentiment(ctx: Any) -> list[Figure]:
    """Entry point for bench/__main__.py's registry (takes its Context; needs no database)."""
    return run(quick=getattr(getattr(ctx, "sizes", None), "customers", 100_000) < 100_000)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.sentiment")
    parser.add_argument("--quick", action="store_true", help="one timed pass instead of the median of 5")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated, among: {', '.join(PARTS)}")
    options = parser.parse_args(sys.argv[1:])
    print(render_table(run(quick=options.quick, only=options.only.split(","))))
