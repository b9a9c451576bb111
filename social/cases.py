"""Working cases: SLA due times, assignment (by hand and round robin), status, notes,
the "someone is replying" claim, and replies sent through the network by a worker.

A reply is written once per idempotency key and sent at most once: its status moves
queued -> sending -> sent | failed by conditional updates, so neither a double click,
a partner's retry nor a redelivered task can send it twice. A failure keeps the
network's reason on the reply and the case; a person retries it.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext

from scrm.actors import Actor
from scrm.errors import Conflict, ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record

from .models import AgentDuty, Case, CaseNote, ConnectedAccount, Post, Reply, SlaTarget
from .providers.base import ProviderError
from .services import account_record_failure, account_record_success, provider_of

# Longest reply each network takes (X counts characters; Facebook comments are long).
REPLY_LIMITS = {"x": 280, "facebook": 8000}
HIGH, NORMAL = 70, 40


# --- SLA -----------------------------------------------------------------------------


def sla_band(priority: int) -> str:
    if priority >= HIGH:
        return SlaTarget.Band.HIGH
    return SlaTarget.Band.NORMAL if priority >= NORMAL else SlaTarget.Band.LOW


def sla_targets() -> dict[str, tuple[int, int]]:
    """Band -> (first response, resolution) in minutes: the SLA page's, else the settings'."""
    targets: dict[str, tuple[int, int]] = {
        band: (int(first), int(resolution))
        for band, (first, resolution) in settings.SOCIAL_SLA_TARGETS.items()
    }
    for band, first, resolution in SlaTarget.objects.values_list(
        "band", "first_response_minutes", "resolution_minutes"
    ):
        targets[band] = (first, resolution)
    return targets


def due_times(
    priority: int, opened_at: datetime, targets: Mapping[str, tuple[int, int]]
) -> tuple[datetime, datetime]:
    """When the first response and the resolution of a case opened then are due."""
    first, resolution = targets[sla_band(priority)]
    return opened_at + timedelta(minutes=first), opened_at + timedelta(minutes=resolution)


def sla_targets_set(*, targets: Mapping[str, tuple[int, int]], actor: Actor) -> None:
    """Set (first response, resolution) minutes per band; cases opened from now on get
    these due times. 400 for a non-positive time or a resolution before the first response."""
    errors: dict[str, list[str]] = {}
    for band, (first, resolution) in targets.items():
        if band not in SlaTarget.Band.values:
            errors[band] = [gettext("Unknown priority band.")]
        elif first <= 0 or resolution <= 0:
            errors[band] = [gettext("Times must be at least one minute.")]
        elif resolution < first:
            errors[band] = [gettext("The resolution cannot be due before the first response.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        for band, (first, resolution) in targets.items():
            target, _created = SlaTarget.objects.update_or_create(
                band=band, defaults={"first_response_minutes": first, "resolution_minutes": resolution}
            )
            audit_record(actor=actor, action=AuditEntry.Action.UPDATE, subject=target,
                         summary=f"SLA {band}: {first}/{resolution} min")  # fmt: skip


def agent_duty_set(*, agent: Any, on_duty: bool) -> AgentDuty:
    """Whether round robin may give the agent new cases."""
    duty, _created = AgentDuty.objects.update_or_create(user=agent, defaults={"on_duty": on_duty})
    return duty


# --- assignment and status -----------------------------------------------------------


def case_assign(*, case: Case, assignee: Any, actor: Actor) -> Case:
    """Give the case to `assignee` (None: back to the unassigned queue)."""
    Case.objects.filter(pk=case.pk).update(assignee=assignee)
    case.refresh_from_db()
    who = assignee.get_username() if assignee else gettext("nobody")
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, subject=case, summary=f"Assigned to {who}")
    return case


def case_take(*, case: Case, agent: Any, actor: Actor) -> Case:
    """The agent takes an unassigned case; 409 when someone else took it first."""
    if (
        not Case.objects.filter(pk=case.pk)
        .filter(Q(assignee__isnull=True) | Q(assignee=agent))
        .update(assignee=agent)
    ):
        case.refresh_from_db()
        raise Conflict(
            gettext("%(name)s took this case first.") % {"name": case.assignee.get_username()}  # type: ignore[union-attr]
        )
    case.refresh_from_db()
    audit_record(actor=actor, action=AuditEntry.Action.UPDATE, subject=case, summary="Taken")
    return case


def cases_assign_round_robin(*, now: datetime | None = None) -> int:
    """Give each new unassigned case, most urgent first, to the on-duty agent who got
    one least recently. Returns how many were assigned."""
    now = now or timezone.now()
    duties = list(AgentDuty.objects.filter(on_duty=True, user__is_active=True).order_by(
        F("last_assigned_at").asc(nulls_first=True), "user_id"
    ))  # fmt: skip
    if not duties:
        return 0
    assigned = 0
    waiting = Case.objects.filter(status=Case.Status.NEW, assignee__isnull=True).order_by(
        "-priority", "opened_at"
    )
    for index, case_id in enumerate(waiting.values_list("pk", flat=True)[:500]):
        duty = duties[index % len(duties)]
        # Conditional: a case someone took meanwhile stays theirs.
        if Case.objects.filter(pk=case_id, assignee__isnull=True).update(assignee_id=duty.user_id):
            assigned += 1
            duty.last_assigned_at = now
            AgentDuty.objects.filter(pk=duty.pk).update(last_assigned_at=now)
    return assigned


ALLOWED_MOVES: dict[str, set[str]] = {
    Case.Status.NEW: {Case.Status.OPEN, Case.Status.PENDING, Case.Status.RESOLVED},
    Case.Status.OPEN: {Case.Status.PENDING, Case.Status.RESOLVED},
    Case.Status.PENDING: {Case.Status.OPEN, Case.Status.RESOLVED},
    Case.Status.RESOLVED: {Case.Status.OPEN},
}


def case_set_status(*, case: Case, status: str, actor: Actor) -> Case:
    """Move a case: new -> open -> pending (waiting for the customer) -> resolved, and
    resolved -> open (reopened). 409 for a move that makes no sense, or when the
    conversation already has another open case (reopening would make two)."""
    if status not in ALLOWED_MOVES.get(case.status, set()):
        raise Conflict(
            gettext("A case cannot go from “%(old)s” to “%(new)s”.") % {"old": case.status, "new": status}
        )
    now = timezone.now()
    changes: dict[str, Any] = {"status": status}
    if status == Case.Status.RESOLVED:
        changes["resolved_at"] = now
    elif case.status == Case.Status.RESOLVED:
        changes["resolved_at"] = None
        if (
            Case.objects.filter(network=case.network, conversation=case.conversation)
            .exclude(status=Case.Status.RESOLVED)
            .exists()
        ):
            raise Conflict(gettext("This conversation has another open case."))
    updated = Case.objects.filter(pk=case.pk, status=case.status).update(**changes)
    if not updated:
        raise Conflict(gettext("Someone changed this case meanwhile; reload it."))
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, subject=case, summary=f"{case.status} -> {status}"
    )
    case.refresh_from_db()
    return case


def case_note_add(*, case: Case, text: str, actor: Actor) -> CaseNote:
    text = text.strip()
    if not text:
        raise ValidationFailed({"text": [gettext("Write the note first.")]})
    return CaseNote.objects.create(case=case, author=actor.user, text=text)


# --- "someone is replying" -----------------------------------------------------------


def case_claim_reply(*, case: Case, user: Any) -> Any:
    """Say that `user` is writing a reply (for SOCIAL_REPLY_LOCK_SECONDS); return who holds
    the claim now: `user`, or the colleague who was already replying."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.SOCIAL_REPLY_LOCK_SECONDS)
    free = Q(replying_user__isnull=True) | Q(replying_user=user) | Q(replying_until__lt=now)
    if Case.objects.filter(free, pk=case.pk).update(replying_user=user, replying_until=until):
        return user
    holder = Case.objects.select_related("replying_user").get(pk=case.pk).replying_user
    return holder or user


def _release_claim(case: Case, user: Any) -> None:
    Case.objects.filter(pk=case.pk, replying_user=user).update(replying_user=None, replying_until=None)


# --- replies -------------------------------------------------------------------------


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def canned_render(body: str, *, case: Case, agent: Any = None) -> str:
    """A canned reply with its variables filled: {first_name} (the customer's, else the
    author's), {last_name}, {handle}, {case_id}, {agent} (the agent's first name).
    Unknown variables stay as they are, for the agent to see."""
    author = case.author
    customer = author.customer if author is not None else None
    name_words = (author.display_name or "").split() if author is not None else []
    first = (customer.first_name if customer else "") or (name_words[0] if name_words else "")
    values = _Blank(
        first_name=first or (f"@{author.handle}" if author and author.handle else ""),
        last_name=customer.last_name if customer else "",
        handle=f"@{author.handle}" if author and author.handle else "",
        case_id=str(case.pk),
        agent=(getattr(agent, "first_name", "") or getattr(agent, "username", "")) if agent else "",
    )
    return string.Formatter().vformat(body, (), values)


def _reply_target(case: Case) -> str:
    """The post a reply answers: the customer's latest post in the case."""
    post = (
        Post.objects.filter(case=case, from_brand=False)
        .order_by("-created_at", "-id")
        .values_list("external_id", flat=True)
        .first()
    )
    if post is None:
        raise ValidationFailed({"case": [gettext("This case has no post to answer.")]})
    return str(post)


def _reply_account(case: Case) -> ConnectedAccount:
    account = (
        ConnectedAccount.objects.filter(network=case.network, active=True)
        .exclude(health=ConnectedAccount.Health.UNHEALTHY)
        .order_by("pk")
        .first()
    )
    if account is None:
        raise ValidationFailed(
            {"case": [gettext("No working %(network)s account to answer with.") % {"network": case.network}]}
        )
    return account


def reply_send(*, case: Case, text: str, actor: Actor, key: str | None = None) -> tuple[Reply, bool]:
    """Queue a reply to the case; a worker sends it once this transaction commits.
    The same `key` twice returns the first reply (created=False). 409 while a colleague
    holds the replying claim; 400 for an empty or too long text."""
    text = text.strip()
    limit = REPLY_LIMITS.get(case.network, 8000)
    if not text:
        raise ValidationFailed({"text": [gettext("Write the reply first.")]})
    if len(text) > limit:
        raise ValidationFailed(
            {
                "text": [
                    gettext("At most %(n)d characters on this network (%(got)d).")
                    % {"n": limit, "got": len(text)}
                ]
            }
        )
    key = key or uuid.uuid4().hex
    with transaction.atomic():
        existing = Reply.objects.filter(case=case, key=key).first()
        if existing is not None:
            return existing, False
        if actor.user is not None:
            holder = case_claim_reply(case=case, user=actor.user)
            if holder != actor.user:
                raise Conflict(
                    gettext("%(name)s is replying to this case; wait or talk to them.")
                    % {"name": holder.get_username()}
                )
        reply = Reply.objects.create(
            case=case, key=key, text=text, in_reply_to=_reply_target(case), author=actor.user,
            api_key=actor.api_key, account=_reply_account(case),
        )  # fmt: skip
        Case.objects.filter(pk=case.pk, status=Case.Status.NEW).update(status=Case.Status.OPEN)
        if actor.user is not None:
            _release_claim(case, actor.user)
        audit_record(
            actor=actor, action=AuditEntry.Action.CREATE, subject=case, summary=f"Reply {reply.pk} queued"
        )
        _enqueue(reply)
    return reply, True


def _enqueue(reply: Reply) -> None:
    from .tasks import deliver_reply_task

    reply_id = reply.pk
    transaction.on_commit(lambda: deliver_reply_task.delay(reply_id))


def reply_deliver(*, reply_id: int) -> Reply | None:
    """Send a queued reply through its account, once. None when it is not queued any
    more (sent, being sent, or failed and waiting for a person)."""
    now = timezone.now()
    if not Reply.objects.filter(pk=reply_id, status=Reply.Status.QUEUED).update(
        status=Reply.Status.SENDING, attempts=F("attempts") + 1
    ):
        return None
    reply = Reply.objects.select_related("account", "case").get(pk=reply_id)
    account = reply.account
    try:
        if account is None:
            raise ProviderError("the account this reply was written for is gone", retryable=False)
        result = provider_of(account).reply(reply.in_reply_to, reply.text)
    except ProviderError as error:
        Reply.objects.filter(pk=reply_id).update(status=Reply.Status.FAILED, error=error.message[:2000])
        if account is not None:
            account_record_failure(account=account, error=error)
        reply.refresh_from_db()
        return reply
    with transaction.atomic():
        Reply.objects.filter(pk=reply_id).update(
            status=Reply.Status.SENT, external_id=result.external_id[:100], url=result.url[:500], sent_at=now,
            error="",
        )  # fmt: skip
        Case.objects.filter(pk=reply.case_id, first_response_at__isnull=True).update(first_response_at=now)
        Case.objects.filter(pk=reply.case_id, status__in=[Case.Status.NEW, Case.Status.OPEN]).update(
            status=Case.Status.PENDING
        )
    if account is not None:
        account_record_success(account=account)
    reply.refresh_from_db()
    return reply


def reply_retry(*, reply: Reply, actor: Actor) -> Reply:
    """Send a failed reply again (a person decided to); 409 unless it failed."""
    if not Reply.objects.filter(pk=reply.pk, status=Reply.Status.FAILED).update(
        status=Reply.Status.QUEUED, error=""
    ):
        raise Conflict(gettext("Only a failed reply can be sent again."))
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, subject=reply.case, summary=f"Reply {reply.pk} retried"
    )
    reply.refresh_from_db()
    _enqueue(reply)
    return reply
