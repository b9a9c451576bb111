"""Text analysis for social ingestion: language detection and sentiment.

- Language: py3langid restricted to `SUPPORTED_LANGUAGES`, on the text stripped of URLs,
  @mentions, "RT" and hashtag marks (they are not language and confuse it). Returns None
  for empty, very short or URL-only text, and when the model is not confident.
- Sentiment: VADER compound in [-1, 1], labelled with the thresholds of docs/metrics.md.
  French uses the French lexicon (vadersentiment-fr); English and every language without a
  lexicon of its own (or unknown) use English VADER, and the model name says so.

The analyzers load their lexicon or model files when built (py3langid ~1.7 s, VADER tens
of ms): each is built once per process, on first use (or by `preload()`, e.g. when a
worker process starts), and shared; scoring only reads them, so threads may share them.
"""

from __future__ import annotations

import html
import re
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Generic, Literal, TypeVar

# Languages the identifier may answer. Restricting it is faster (docs/performance.md) and
# more accurate on short texts than choosing among ~100 languages.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "de", "it", "pt", "nl")

# Languages with a VADER lexicon of their own; the others are scored with English VADER.
SENTIMENT_LEXICON_LANGUAGES: tuple[str, ...] = ("en", "fr")

# Below this many letters (after cleaning) the text is too short to tell its language.
MIN_DETECT_LETTERS = 5
# Below this probability (py3langid normalised over SUPPORTED_LANGUAGES) the language is
# reported unknown. On the English VADER tweets it keeps 95 % of texts and takes the
# share of wrong answers among those answered from 2.5 % down to 0.5 % (bench.sentiment).
MIN_DETECT_CONFIDENCE = 0.5

# Label thresholds on the compound score: the ones of the VADER paper and of its reference
# implementation (Hutto & Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment
# Analysis of Social Media Text", ICWSM-14): positive >= 0.05, negative <= -0.05, else
# neutral. docs/metrics.md, "Social sentiment index".
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05

# VADER's rules rescan the whole text for every sentiment word, so its time grows with
# the square of the length (a 20,000-character French text takes ~0.4 s, and worse with
# many "mais"). Longer texts are scored in pieces of at most this many characters, cut at
# whitespace, and their compounds averaged weighted by length (VADER's own advice for
# paragraphs is to average per sentence). Tweet-length texts are scored whole.
SENTIMENT_PIECE_CHARS = 1_000
# Characters scored at most per text; the rest is ignored, so one post costs a bounded time.
MAX_SENTIMENT_CHARS = 20_000

# Language hints that say "no language" rather than naming one: BCP 47 "und", "zxx",
# "mul", "mis" and the private-use range qaa-qtz (X uses qme, qht, qam, qct, qst).
_NO_LANGUAGE_HINTS = frozenset({"", "und", "zxx", "mul", "mis"})

# @mentions, URLs, and "http" alone (datasets anonymise links that way). Each branch
# starts with one of "@hw" so that the regex engine skips ahead fast (3x faster than the
# plain alternation).
_NOT_LANGUAGE = re.compile(r"[@hw](?:(?<=@)\w+|(?<=h)ttps?(?::/\S*|\b)|(?<=w)ww\.\S+)", re.IGNORECASE)

SentimentLabel = Literal["positive", "negative", "neutral"]

T = TypeVar("T")


@dataclass(frozen=True)
class Sentiment:
    """One text's sentiment: VADER compound in [-1, 1], its label, and the model that
    scored it (e.g. "vader-en-3.3.2", "vader-fr-1.3.4", "vader-en-3.3.2(fallback)" for a
    language without a lexicon of its own)."""

    compound: float
    label: SentimentLabel
    model: str


def label_for(compound: float) -> SentimentLabel:
    """positive >= 0.05, negative <= -0.05, else neutral (docs/metrics.md)."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


class _Lazy(Generic[T]):
    """A value built on first use, once per process, even with threads."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value


@dataclass(frozen=True)
class _Analyzer:
    scorer: Any  # a SentimentIntensityAnalyzer (English or French package)
    model: str


def _build_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(SUPPORTED_LANGUAGES))
    return identifier


def _build_english() -> _Analyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return _Analyzer(SentimentIntensityAnalyzer(), f"vader-en-{version('vaderSentiment')}")


def _build_french() -> _Analyzer:
    path_before = list(sys.path)
    with warnings.catch_warnings():
        # fuzzywuzzy warns at import that it falls back to difflib without
        # python-Levenshtein; the package only uses it in polarity_scores_max (fuzzy
        # lexicon lookup), which we don't call: noise.
        warnings.filterwarnings(
            "ignore", message="Using slow pure-python SequenceMatcher", category=UserWarning
        )
        # `re.compile("\.{2,}")` in its source, when compiled without a cached .pyc.
        warnings.filterwarnings("ignore", message="invalid escape sequence", category=DeprecationWarning)
        from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer
    # Its module does sys.path.append('/') at import: undo it (it imports nothing from there).
    if "/" in sys.path and "/" not in path_before:
        sys.path.remove("/")
    return _Analyzer(SentimentIntensityAnalyzer(), f"vader-fr-{version('vaderSentiment_fr')}")


_IDENTIFIER: _Lazy[Any] = _Lazy(_build_identifier)
_ENGLISH: _Lazy[_Analyzer] = _Lazy(_build_english)
_FRENCH: _Lazy[_Analyzer] = _Lazy(_build_french)


def preload() -> None:
    """Build the language identifier and both analyzers now (they are built on first use
    otherwise), e.g. in a worker process before it takes tasks."""
    _IDENTIFIER.get()
    _ENGLISH.get()
    _FRENCH.get()


def _language_code(language: str | None) -> str | None:
    """The primary subtag of a language tag ("fr-CA", "FR", "fr_FR" -> "fr"); None for an
    empty hint, one that is not a language code, and the codes that say "no language"."""
    if not language:
        return None
    primary = language.strip().replace("_", "-").split("-", 1)[0].lower()
    if not (2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha()):
        return None
    if primary in _NO_LANGUAGE_HINTS or (len(primary) == 3 and "qaa" <= primary <= "qtz"):
        return None
    return primary


def clean_for_detection(text: str) -> str:
    """The text without URLs, @mentions, a leading "RT", hashtag marks (the word stays)
    and HTML entities (X sends "&amp;"), whitespace collapsed."""
    if "&" in text:
        text = html.unescape(text)
    text = _NOT_LANGUAGE.sub(" ", text).replace("#", " ").lstrip()
    if text.startswith("RT "):
        text = text[3:]
    return " ".join(text.split())


def _has_letters(text: str, count: int) -> bool:
    for char in text:
        if char.isalpha():
            count -= 1
            if count <= 0:
                return True
    return False


def detect_language(text: str) -> str | None:
    """ISO 639-1 code among SUPPORTED_LANGUAGES, or None when the text is empty, too short
    (fewer than MIN_DETECT_LETTERS letters once URLs, mentions and marks are removed) or
    when py3langid is less than MIN_DETECT_CONFIDENCE sure."""
    if not text:
        return None
    cleaned = clean_for_detection(text)
    if not _has_letters(cleaned, MIN_DETECT_LETTERS):
        return None
    language, confidence = _IDENTIFIER.get().classify(cleaned)
    if confidence < MIN_DETECT_CONFIDENCE:
        return None
    return str(language)


def _pieces(text: str, size: int) -> list[str]:
    """`text` cut at whitespace into pieces of at most `size` characters."""
    pieces = []
    while len(text) > size:
        cut = max(text.rfind(" ", size // 2, size + 1), text.rfind("\n", size // 2, size + 1))
        if cut < 0:
            cut = size
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _compound(scorer: Any, text: str) -> float:
    if len(text) <= SENTIMENT_PIECE_CHARS:
        return float(scorer.polarity_scores(text)["compound"])
    pieces = _pieces(text[:MAX_SENTIMENT_CHARS], SENTIMENT_PIECE_CHARS)
    total = sum(len(p) for p in pieces)
    weighted = sum(float(scorer.polarity_scores(p)["compound"]) * len(p) for p in pieces)
    return round(weighted / total, 4)


def score_sentiment(text: str, language: str | None) -> Sentiment:
    """VADER sentiment of `text`: the French lexicon for French ("fr", "fr-CA"...), English
    VADER for English, and English VADER marked "(fallback)" for any other or unknown
    language."""
    code = _language_code(language)
    if code == "fr":
        analyzer, model = _FRENCH.get(), None
    else:
        analyzer = _ENGLISH.get()
        model = None if code == "en" else f"{analyzer.model}(fallback)"
    compound = _compound(analyzer.scorer, text) if text else 0.0
    return Sentiment(compound=compound, label=label_for(compound), model=model or analyzer.model)


def analyse(texts: Sequence[tuple[str, str | None]]) -> list[tuple[str | None, Sentiment]]:
    """Language and sentiment of each (text, language hint) pair, in order.

    A hint (e.g. the network's own "lang") is trusted when it names a language; missing,
    "und" and X's private codes (qme, qht...) are detected from the text instead. The
    language returned is the hint's primary subtag ("fr-CA" -> "fr") or the detected one,
    None when unknown.
    """
    results: list[tuple[str | None, Sentiment]] = []
    for text, hint in texts:
        language = _language_code(hint) or detect_language(text)
        results.append((language, score_sentiment(text, language)))
    return results
