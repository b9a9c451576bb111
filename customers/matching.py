"""Identity resolution on the stored customers: score duplicate pairs, merge the sure ones,
queue the doubtful ones for a person, and apply people's decisions.

The scoring itself (blocking, comparisons, Fellegi-Sunter) is in customers.resolution and
knows nothing of the database; this module feeds it customers and writes what it decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed

from .linking import identities_link
from .merge import MergeRefused, customer_merge
from .models import ContactPoint, Customer, MatchCandidate, ResolutionRequest, SocialIdentity
from .resolution.engine import ScoredPair, classify, cluster, score_pairs
from .resolution.model import Term
from .resolution.records import PersonRecord
from .services import survivor_of

DECISIONS = ("merge", "reject", "skip")
RESOLUTION_STEPS = 4
QUEUED_FLAG = "customers:resolution-queued"  # cache key: a requested run is queued or running


@dataclass
class ResolutionSummary:
    records: int = 0
    pairs_scored: int = 0
    merged: int = 0
    queued: int = 0
    already_decided: int = 0
    dropped: int = 0
    identities_linked: int = 0
    errors: list[str] = field(default_factory=list)


def _records(customer_ids: Iterable[int] | None = None) -> list[PersonRecord]:
    """Every live customer (or those given) as a PersonRecord, read as plain values in
    three queries: model instances with prefetches took 52 s at 100k customers."""
    customers = Customer.objects.filter(merged_into__isnull=True)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    live = customers.values("pk")
    points: dict[int, list[tuple[str, str, dict[str, str]]]] = defaultdict(list)
    for customer_id, kind, value, details in (
        ContactPoint.objects.filter(customer__in=live)
        .order_by("customer_id", "kind", "-is_primary", "id")
        .values_list("customer_id", "kind", "value", "details")
        .iterator(chunk_size=5000)
    ):
        points[customer_id].append((kind, value, details))
    handles: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for customer_id, network, handle in (
        SocialIdentity.objects.filter(customer__in=live)
        .order_by("customer_id", "network", "handle_normalized")
        .values_list("customer_id", "network", "handle_normalized")
        .iterator(chunk_size=5000)
    ):
        handles[customer_id].append((network, handle))
    rows = customers.values_list("pk", "first_name", "last_name", "date_of_birth", "attributes")
    return [
        PersonRecord.from_values(
            customer_id=pk,
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            attributes=attributes,
            points=points.get(pk, []),
            handles=handles.get(pk, []),
        )
        for pk, first, last, dob, attributes in rows.iterator(chunk_size=5000)
    ]


def _explanation(pair: ScoredPair) -> dict[str, Any]:
    return {
        "total": round(pair.weight, 3),
        "probability": pair.probability,
        "terms": [_term(t) for t in pair.explanation.terms],
    }


def _term(term: Term) -> dict[str, Any]:
    """One field's contribution; a weight adjusted for how common the shared value is
    also says the value's share of the records and the bits the adjustment added."""
    data: dict[str, Any] = {"field": term.field, "level": term.level, "weight": round(term.weight, 3)}
    if term.frequency is not None:
        data["frequency"] = round(term.frequency, 6)
        data["percent"] = round(term.frequency * 100, 2)
        data["adjustment"] = round(term.adjustment, 3)
    return data


def resolve_customers(
    *,
    actor: Actor,
    auto_threshold: float | None = None,
    review_threshold: float | None = None,
    only_ids: Iterable[int] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ResolutionSummary:
    """Score every live customer against the others; merge pairs at or above
    `auto_threshold`, queue those at or above `review_threshold`. With `only_ids`, keep only
    pairs that involve one of those customers (what an import just brought). A pair a person
    marked "not the same person" is never merged nor queued again. `progress` hears of each
    of the RESOLUTION_STEPS steps."""
    auto = settings.RESOLUTION_AUTO_MERGE_THRESHOLD if auto_threshold is None else auto_threshold
    review = settings.RESOLUTION_REVIEW_THRESHOLD if review_threshold is None else review_threshold
    if not 0 <= review <= auto <= 1:
        raise ValidationFailed({"thresholds": ["Need 0 <= review threshold <= auto-merge threshold <= 1."]})
    say = progress or (lambda message: None)
    summary = ResolutionSummary()
    summary.identities_linked = identities_link(actor=actor).linked
    say("social accounts linked")
    records = _records()
    summary.records = len(records)
    say(f"{len(records)} customers read")
    if len(records) < 2:
        return summary
    pairs = score_pairs(records, min_probability=review)
    if only_ids is not None:
        wanted = {str(i) for i in only_ids}
        pairs = [p for p in pairs if p.left_id in wanted or p.right_id in wanted]
    summary.pairs_scored = len(pairs)
    decided = _decided_pairs()
    fresh = [p for p in pairs if _ordered(p) not in decided]
    summary.already_decided = len(pairs) - len(fresh)
    split = classify(fresh, auto, review)
    summary.dropped = len(split.dropped)
    say(f"{len(split.auto)} pairs to merge, {len(split.review)} to review")
    summary.merged = _merge_clusters(split.auto, actor=actor, errors=summary.errors)
    summary.queued = _queue(split.review)
    say("merged and queued")
    return summary


def resolution_request(*, customer_ids: Iterable[int]) -> None:
    """Ask for resolution of these customers soon: recorded now, run by a worker a little
    later so that a burst of partner calls becomes one run (customers.resolve_requested)."""
    ids = list(customer_ids)
    ResolutionRequest.objects.bulk_create(
        [ResolutionRequest(customer_id=i) for i in ids], ignore_conflicts=True
    )
    transaction.on_commit(_enqueue_requested_run)


def _enqueue_requested_run() -> None:
    from .tasks import resolve_requested_task  # tasks imports this module

    # One queued run at a time; requests arriving meanwhile are picked up by it.
    if cache.add(QUEUED_FLAG, 1, timeout=settings.RESOLUTION_DEBOUNCE_SECONDS * 2):
        resolve_requested_task.apply_async(countdown=settings.RESOLUTION_DEBOUNCE_SECONDS)


def resolve_requested(*, actor: Actor) -> ResolutionSummary:
    """Resolve the customers waiting in ResolutionRequest, then forget those requests.
    Requests that arrive during the run are left for one more run, queued at the end (so
    runs never overlap: the queued flag stays up while one works)."""
    requests = list(ResolutionRequest.objects.values_list("pk", "customer_id"))
    summary = ResolutionSummary()
    if requests:
        summary = resolve_customers(actor=actor, only_ids=[customer_id for _, customer_id in requests])
        ResolutionRequest.objects.filter(pk__in=[pk for pk, _ in requests]).delete()
    cache.delete(QUEUED_FLAG)
    if ResolutionRequest.objects.exists():
        transaction.on_commit(_enqueue_requested_run)
    return summary


def _ordered(pair: ScoredPair) -> tuple[int, int]:
    a, b = int(pair.left_id), int(pair.right_id)
    return (a, b) if a < b else (b, a)


def _decided_pairs() -> set[tuple[int, int]]:
    return set(
        MatchCandidate.objects.exclude(status=MatchCandidate.Status.PENDING).values_list(
            "left_id", "right_id"
        )
    )


def _merge_clusters(pairs: list[ScoredPair], *, actor: Actor, errors: list[str]) -> int:
    """Each group of sure pairs becomes one customer: the oldest record survives."""
    ids = sorted({p.left_id for p in pairs} | {p.right_id for p in pairs}, key=int)
    by_pair = {_ordered(p): p for p in pairs}
    merged = 0
    for group in cluster(ids, pairs):
        members = sorted(int(i) for i in group)
        for other_id in members[1:]:
            survivor = survivor_of(Customer.objects.get(pk=members[0]))
            other = Customer.objects.get(pk=other_id)
            if other.is_tombstone or other.pk == survivor.pk:
                continue
            best = max(
                (p for key, p in by_pair.items() if other_id in key),
                key=lambda p: p.probability,
                default=None,
            )
            reason = f"automatic, probability {best.probability:.4f}" if best else "automatic"
            try:
                customer_merge(survivor=survivor, other=other, actor=actor, reason=reason)
                merged += 1
            except (MergeRefused, ValidationFailed) as exc:
                errors.append(f"#{other_id} into #{survivor.pk}: {exc.message}")
    return merged


def _queue(pairs: list[ScoredPair]) -> int:
    """Create or refresh pending candidates (never touching decided ones)."""
    queued = 0
    now = timezone.now()
    for pair in pairs:
        left, right = _ordered(pair)
        _obj, created = MatchCandidate.objects.update_or_create(
            left_id=left,
            right_id=right,
            status=MatchCandidate.Status.PENDING,
            defaults={
                "probability": pair.probability,
                "weight": pair.weight,
                "explanation": _explanation(pair),
                "scored_at": now,
            },
        )
        queued += int(created)
    return queued


@transaction.atomic
def candidate_decide(*, candidate: MatchCandidate, decision: str, actor: Actor) -> MatchCandidate:
    """Apply a person's decision. `merge` merges the newer record into the older one;
    `reject` remembers they are different people; `skip` leaves the pair for later.
    A candidate already decided (by someone else, meanwhile) is a 409."""
    if decision not in DECISIONS:
        raise ValidationFailed({"decision": [f"Choose one of: {', '.join(DECISIONS)}."]})
    new_status = {
        "merge": MatchCandidate.Status.MERGED,
        "reject": MatchCandidate.Status.REJECTED,
        "skip": MatchCandidate.Status.SKIPPED,
    }[decision]
    claimed = MatchCandidate.objects.filter(
        pk=candidate.pk, status__in=[MatchCandidate.Status.PENDING, MatchCandidate.Status.SKIPPED]
    ).update(status=new_status, decided_at=timezone.now(), decided_by_label=actor.label[:150])
    if not claimed:
        raise Conflict("This pair was already decided.")
    candidate.refresh_from_db()
    if decision == "merge":
        survivor, other = survivor_of(candidate.left), survivor_of(candidate.right)
        if survivor.pk == other.pk:
            raise Conflict("These two records are already one customer.")
        if survivor.pk > other.pk:
            survivor, other = other, survivor
        candidate.merge = customer_merge(
            survivor=survivor,
            other=other,
            actor=actor,
            reason=f"review, probability {candidate.probability:.4f}",
        )
        candidate.save(update_fields=["merge"])
    return candidate


def next_candidate(*, after_id: int | None = None) -> MatchCandidate | None:
    """The next pair to review: pending ones by probability, then skipped ones."""
    base = MatchCandidate.objects.select_related("left", "right").filter(
        left__merged_into__isnull=True, right__merged_into__isnull=True
    )
    for status in (MatchCandidate.Status.PENDING, MatchCandidate.Status.SKIPPED):
        found = base.filter(status=status).exclude(pk=after_id or 0).first()
        if found:
            return found
    return None


def side_by_side(candidate: MatchCandidate) -> list[dict[str, Any]]:
    """Rows for the review page: label, left value, right value."""

    def values(customer: Customer, kind: str) -> str:
        return ", ".join(p.value for p in customer.contact_points.all() if p.kind == kind)

    rows = []
    for label, getter in (
        (_("First name"), lambda c: c.first_name),
        (_("Last name"), lambda c: c.last_name),
        (_("Date of birth"), lambda c: c.date_of_birth or ""),
        (_("E-mail"), lambda c: values(c, ContactPoint.Kind.EMAIL)),
        (_("Phone"), lambda c: values(c, ContactPoint.Kind.PHONE)),
        (_("Postal address"), lambda c: values(c, ContactPoint.Kind.POSTAL)),
        (_("Social"), lambda c: ", ".join(f"{i.network}:@{i.handle}" for i in c.social_identities.all())),
        (_("Ids in other systems"), lambda c: ", ".join(str(e) for e in c.external_ids.all())),
        (_("Purchases"), lambda c: c.purchases.count()),
    ):
        left, right = getter(candidate.left), getter(candidate.right)
        rows.append({"field": label, "left": left, "right": right, "same": bool(left) and left == right})
    return rows
