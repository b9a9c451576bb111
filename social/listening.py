"""Which listening rules a post matches, and what the brand's own accounts are.

Posts that arrive without a rule (partner pushes, webhooks, files) are sorted by the
same terms the networks are queried with, so volume and share of voice count every
post the same way whatever brought it in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import ConnectedAccount, ListeningRule


def _clean_terms(values: Iterable[str], *, strip: str = "") -> list[str]:
    terms: list[str] = []
    for value in values:
        term = str(value).strip().lstrip(strip).strip()
        if term and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return terms


def split_terms(text: str, *, strip: str = "") -> list[str]:
    """Terms typed in a form: one per line or comma-separated, without duplicates."""
    return _clean_terms(re.split(r"[,\n]", text or ""), strip=strip)


@dataclass(frozen=True)
class CompiledRule:
    id: int
    kind: str
    pattern: re.Pattern[str] | None
    handles: frozenset[str]
    languages: frozenset[str]

    def matches(self, *, text: str, language: str, mentions: Iterable[str], author_handle: str) -> bool:
        if self.languages and language not in self.languages:
            return False
        if self.pattern is not None and self.pattern.search(text):
            return True
        return bool(self.handles and (author_handle in self.handles or self.handles.intersection(mentions)))


def compile_rule(rule: ListeningRule) -> CompiledRule:
    phrases = [re.escape(k) for k in _clean_terms(rule.keywords)]
    phrases += [re.escape("#" + h) for h in _clean_terms(rule.hashtags, strip="#")]
    handles = frozenset(h.lower() for h in _clean_terms(rule.handles, strip="@"))
    phrases += [re.escape("@" + h) for h in handles]
    pattern = None
    if phrases:
        # Whole words only: "acme" matches "Acme's" and "#acme", not "acmeology".
        pattern = re.compile(r"(?<![\w#@])(?:" + "|".join(phrases) + r")(?!\w)", re.IGNORECASE)
    languages = frozenset(code.lower()[:2] for code in rule.languages if code)
    return CompiledRule(id=rule.pk, kind=rule.kind, pattern=pattern, handles=handles, languages=languages)


def x_search_query(rule: ListeningRule) -> str:
    """The rule as an X recent-search query: any term, in the rule's languages, no reposts
    (a repost carries no words of its own; the original is what counts)."""
    terms = [f'"{k}"' if " " in k else k for k in _clean_terms(rule.keywords)]
    terms += ["#" + h for h in _clean_terms(rule.hashtags, strip="#")]
    terms += ["@" + h for h in _clean_terms(rule.handles, strip="@")]
    query = " OR ".join(terms)
    if len(terms) > 1:
        query = f"({query})"
    languages = [code.lower()[:2] for code in rule.languages if code]
    if len(languages) == 1:
        query += f" lang:{languages[0]}"
    elif languages:
        query += " (" + " OR ".join(f"lang:{code}" for code in languages) + ")"
    return f"{query} -is:retweet"


@dataclass
class ListeningContext:
    """What one batch needs to know about the brand: its accounts per network (to tell
    the brand's own posts apart and spot posts addressed to it) and its active rules."""

    brand_ids: dict[str, set[str]] = field(default_factory=dict)  # network -> account ids
    brand_handles: dict[str, set[str]] = field(default_factory=dict)  # network -> handles
    rules: list[CompiledRule] = field(default_factory=list)

    @classmethod
    def load(cls) -> ListeningContext:
        context = cls()
        for network, external_id, handle in ConnectedAccount.objects.values_list(
            "network", "external_id", "handle"
        ):
            if external_id:
                context.brand_ids.setdefault(network, set()).add(external_id)
            if handle:
                context.brand_handles.setdefault(network, set()).add(handle.lstrip("@").lower())
        for rule in ListeningRule.objects.filter(active=True):
            compiled = compile_rule(rule)
            context.rules.append(compiled)
            if rule.kind == ListeningRule.Kind.BRAND:
                # A brand rule's handles are the brand's own handles.
                context.brand_handles.setdefault("*", set()).update(compiled.handles)
        return context

    def is_brand(self, network: str, author_id: str | None) -> bool:
        return bool(author_id) and author_id in self.brand_ids.get(network, ())

    def handles_of_brand(self, network: str) -> set[str]:
        return self.brand_handles.get(network, set()) | self.brand_handles.get("*", set())

    def matching_rules(
        self, *, text: str, language: str, mentions: Iterable[str], author_handle: str
    ) -> list[CompiledRule]:
        mentioned = [m.lower() for m in mentions]
        return [
            rule
            for rule in self.rules
            if rule.matches(text=text, language=language, mentions=mentioned, author_handle=author_handle)
        ]
