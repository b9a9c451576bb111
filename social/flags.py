"""Which posts need an answer, and how urgently.

A post is flagged when any active FlagRule says so; its reasons are kept on the post
and on the case it opens, so an agent sees why it is in the inbox. The case priority
(0-100) adds up negativity, the author's audience, a question left waiting and a
complaint, each part explained.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .models import FlagRule

# Words that read as a question even without "?" (people often leave it out).
_QUESTION_START = re.compile(
    r"^\s*(?:@\w+\s+)*(?:how|what|when|where|why|who|which|can|could|does|do|is|are|will|"
    r"comment|pourquoi|quand|où|quel|quelle|quels|quelles|est-ce|pouvez|peut-on|combien)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PostFacts:
    """What the flag rules look at."""

    text: str
    sentiment: float
    followers: int
    addressed_to_brand: bool  # mentions the brand, or answers one of its posts


@dataclass(frozen=True)
class CompiledFlagRule:
    kind: str
    name: str
    threshold: float | None
    pattern: re.Pattern[str] | None

    def reason(self, facts: PostFacts) -> str | None:
        if self.kind == FlagRule.Kind.NEGATIVE and self.threshold is not None:
            if facts.sentiment <= self.threshold:
                return f"negative:{facts.sentiment:.2f}"
        elif self.kind == FlagRule.Kind.KEYWORDS and self.pattern is not None:
            found = self.pattern.search(facts.text)
            if found:
                return f"keyword:{found.group(0).lower()}"
        elif self.kind == FlagRule.Kind.QUESTION:
            if facts.addressed_to_brand and ("?" in facts.text or _QUESTION_START.search(facts.text)):
                return "question"
        elif (
            self.kind == FlagRule.Kind.INFLUENCE
            and self.threshold is not None
            and facts.followers >= self.threshold
        ):
            return f"influence:{facts.followers}"
        return None


def compile_flag_rules(rules: Iterable[FlagRule]) -> list[CompiledFlagRule]:
    compiled = []
    for rule in rules:
        pattern = None
        words = [str(w).strip() for w in rule.keywords if str(w).strip()]
        if words:
            alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
            pattern = re.compile(r"(?<!\w)(?:" + alternatives + r")(?!\w)", re.IGNORECASE)
        compiled.append(CompiledFlagRule(rule.kind, rule.name, rule.threshold, pattern))
    return compiled


def active_flag_rules() -> list[CompiledFlagRule]:
    return compile_flag_rules(FlagRule.objects.filter(active=True))


def flag_reasons(rules: Iterable[CompiledFlagRule], facts: PostFacts) -> list[str]:
    """The reason of every rule the post trips, in rule order (empty: not flagged)."""
    return [reason for rule in rules if (reason := rule.reason(facts))]


def priority(
    *, sentiment: float, followers: int, reasons: Iterable[str], value: float = 0.0
) -> tuple[int, list[str]]:
    """Case priority 0-100 and what it is made of: negativity up to 45, audience up to
    30 (log scale, 1M followers = 30), the customer's value up to 15 (what they spent in
    the last 12 months, log scale, 10,000 = 15), a question 15, a complaint keyword 10."""
    reasons = list(reasons)
    parts: list[tuple[str, float]] = []
    if sentiment < 0:
        parts.append(("negativity", 45 * min(1.0, -sentiment)))
    if followers > 0:
        parts.append(("audience", 30 * min(1.0, math.log10(followers + 1) / 6)))
    if value > 0:
        parts.append(("value", 15 * min(1.0, math.log10(value + 1) / 4)))
    if "question" in reasons:
        parts.append(("question", 15))
    if any(reason.startswith("keyword:") for reason in reasons):
        parts.append(("complaint", 10))
    total = min(100, round(sum(points for _name, points in parts)))
    return total, [f"{name}:{round(points)}" for name, points in parts if round(points)]
