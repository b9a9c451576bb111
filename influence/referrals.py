"""Referrals (docs/metrics.md, CRV): codes and links customers hand to friends, referrals
recorded from a code, a link, a partner or a declaration, their conversion at the referred
customer's first purchase, and the reward owed for it. The list, its totals and the
customer 360's section are read in `influence.referral_selectors`.

Rules kept here:
- one referral per (referrer, referred): recording the same pair again returns the first;
- a customer is referred by one referrer only (a second referrer is a conflict, 409);
- tombstones of a merge are replaced by their survivor, and nobody refers themselves;
- type 1 (would not have come otherwise) or type 2 (would have come anyway): given, or
  inferred from what marketing knew of the referred customer before the referral;
- converted at the first purchase at or after the referral; the reward
  (settings.REFERRAL_DEFAULT_REWARD) is fixed and owed from then, until marked paid.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import Customer, Purchase
from customers.services import survivor_of
from scrm.actors import Actor
from scrm.errors import Conflict, NotFound, ValidationFailed
from scrm.models import AuditEntry
from scrm.services import audit_record

from .models import Referral, ReferralCode

# No 0/O, 1/I/L: a code read aloud or copied by hand comes out right. 31^8 ~ 8.5e11 codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_CAMPAIGN = 100
# The referred customer must exist before a referral names them, and signing up with a
# code usually creates the record (and its consent) moments before the referral is
# recorded. A record or a consent that old or younger is "new", not "already known".
KNOWN_BEFORE_MARGIN = timedelta(hours=24)


class ReferralConflict(Conflict):
    code = "referral_conflict"


# --- codes and links -------------------------------------------------------------------


def normalize_code(text: str) -> str:
    """What a person typed (any case, with spaces or dashes) -> the stored code."""
    return "".join(ch for ch in (text or "").upper() if ch not in " -\t")


def _live(customer: Customer) -> Customer:
    """The customer's live record as stored now (the object given may predate a merge)."""
    return survivor_of(Customer.objects.get(pk=customer.pk))


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def referral_code_for(*, customer: Customer, campaign: str = "", actor: Actor) -> ReferralCode:
    """The customer's active code for `campaign` (the survivor's, for a tombstone), created
    the first time. Two concurrent calls for one customer return the same code."""
    campaign = (campaign or "").strip()
    if len(campaign) > MAX_CAMPAIGN:
        raise ValidationFailed({"campaign": [gettext("At most %(n)d characters.") % {"n": MAX_CAMPAIGN}]})
    customer = _live(customer)
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        existing = (
            ReferralCode.objects.filter(customer=customer, campaign=campaign, active=True)
            .order_by("created_at", "pk")
            .first()
        )
        if existing is not None:
            return existing
        for attempt in range(5):
            try:
                with transaction.atomic():
                    code = ReferralCode.objects.create(customer=customer, campaign=campaign, code=_new_code())
                break
            except IntegrityError:  # the code was drawn twice: draw again
                if attempt == 4:
                    raise
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=customer,
            summary=f"Referral code {code.code} created" + (f" for campaign {campaign}" if campaign else ""),
        )
    return code


def referral_code_active(*, code: str) -> ReferralCode:
    """The active code `code` (as typed), with its customer; NotFound otherwise."""
    found = (
        ReferralCode.objects.select_related("customer").filter(code=normalize_code(code), active=True).first()
    )
    if found is None:
        raise NotFound(gettext("This referral link is not valid."))
    return found


def referral_link_click(*, code: str) -> ReferralCode:
    """Count one click on the link of an active code (an UPDATE with F(): concurrent clicks
    are all counted) and return the code; NotFound for an unknown or inactive code."""
    value = normalize_code(code)
    counted = ReferralCode.objects.filter(code=value, active=True).update(clicks=F("clicks") + 1)
    if not counted:
        raise NotFound(gettext("This referral link is not valid."))
    return ReferralCode.objects.select_related("customer").get(code=value)


# --- recording a referral --------------------------------------------------------------


def _known_before(customer: Customer, moment: datetime) -> bool:
    """Was the customer known to marketing before `moment`: a record or a marketing
    consent older than the margin, or any purchase before it?"""
    before = moment - KNOWN_BEFORE_MARGIN
    if customer.created_at < before:
        return True
    consent_at = customer.consent_marketing_email_at
    if customer.consent_marketing_email and consent_at is not None and consent_at < before:
        return True
    return Purchase.objects.filter(customer=customer, purchased_at__lt=moment).exists()


def _code_for_referrer(code: str, referrer: Customer) -> ReferralCode:
    found = ReferralCode.objects.filter(code=normalize_code(code)).first()
    if found is None:
        raise ValidationFailed({"code": [gettext("Unknown referral code.")]})
    if not found.active:
        raise ValidationFailed({"code": [gettext("This referral code is no longer active.")]})
    if survivor_of(found.customer).pk != referrer.pk:
        raise ValidationFailed({"code": [gettext("This code belongs to another customer.")]})
    return found


def referral_record(
    *,
    referrer: Customer,
    referred: Customer,
    channel: str,
    code: str | None = None,
    campaign: str = "",
    referred_at: datetime | None = None,
    type: str | None = None,
    actor: Actor,
) -> tuple[Referral, bool]:
    """Record that `referrer` brought `referred`. Returns (referral, created).

    The same pair again returns the first referral unchanged. Refuses (400) an unknown
    channel or type, self-referral (after following tombstones to their survivors), an
    unknown or inactive code or another customer's code; refuses (409) a customer already
    referred by someone else. `type` "1"/"2" when known, else inferred (type 2 when the
    referred customer was known before the referral). A referral recorded after the
    referred customer's first purchase since `referred_at` is converted at once."""
    errors: dict[str, list[str]] = {}
    if channel not in Referral.Channel.values:
        errors["channel"] = [
            gettext("Choose one of: %(values)s.") % {"values": ", ".join(Referral.Channel.values)}
        ]
    if type not in (None, "") and type not in Referral.Type.values:
        errors["type"] = [gettext("Choose 1 (would not have come otherwise) or 2 (would have come anyway).")]
    campaign = (campaign or "").strip()
    if len(campaign) > MAX_CAMPAIGN:
        errors["campaign"] = [gettext("At most %(n)d characters.") % {"n": MAX_CAMPAIGN}]
    if errors:
        raise ValidationFailed(errors)
    referrer, referred = _live(referrer), _live(referred)
    if referrer.pk == referred.pk:
        raise ValidationFailed({"referred": [gettext("A customer cannot refer themselves.")]})
    referred_at = referred_at or timezone.now()

    with transaction.atomic():
        # One referred customer at a time: two referrers racing for them cannot both win.
        referred = Customer.objects.select_for_update().get(pk=referred.pk)
        existing = Referral.objects.filter(referrer=referrer, referred=referred).first()
        if existing is not None:
            return existing, False
        other = Referral.objects.filter(referred=referred).first()
        if other is not None:
            raise ReferralConflict(
                field_errors={
                    "referred": [
                        gettext("Customer %(referred)s was already referred by customer %(referrer)s.")
                        % {"referred": referred.pk, "referrer": other.referrer_id}
                    ]
                }
            )
        code_row = _code_for_referrer(code, referrer) if code else None
        inferred = not type
        if type:
            kind = str(type)
        else:
            kind = Referral.Type.TYPE2 if _known_before(referred, referred_at) else Referral.Type.TYPE1
        referral = Referral.objects.create(
            referrer=referrer,
            referred=referred,
            code=code_row,
            channel=channel,
            campaign=campaign or (code_row.campaign if code_row else ""),
            referred_at=referred_at,
            type=kind,
            type_inferred=inferred,
        )
        how = f"code {code_row.code}" if code_row else channel
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=referrer,
            summary=f"Referred customer #{referred.pk} ({how}, type {kind})",
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            subject=referred,
            summary=f"Referred by customer #{referrer.pk} ({how})",
        )
        _convert(Referral.objects.filter(pk=referral.pk), until=None)
    referral.refresh_from_db()
    return referral, True


# --- conversion and reward -------------------------------------------------------------


def _convert(referrals: QuerySet[Referral], *, until: datetime | None) -> int:
    """Set-based: each referral gets the referred customer's first purchase at or after
    `referred_at` (up to `until`) as its conversion; one already converted at a later
    purchase (purchases that arrived out of order) is moved to the earlier one. The reward
    is fixed at the first conversion. Returns the number of referrals changed."""
    first = Purchase.objects.filter(
        customer=OuterRef("referred_id"), purchased_at__gte=OuterRef("referred_at")
    )
    if until is not None:
        first = first.filter(purchased_at__lte=until)
    first = first.order_by("purchased_at", "pk")
    earlier = first.filter(purchased_at__lt=OuterRef("converted_at"))
    changed = referrals.filter(Q(converted_at__isnull=True) | Exists(earlier)).filter(Exists(first))
    reward = Decimal(str(settings.REFERRAL_DEFAULT_REWARD)).quantize(Decimal("0.01"))
    return changed.update(
        converted_at=Subquery(first.values("purchased_at")[:1]),
        conversion_purchase=Subquery(first.values("pk")[:1]),
        reward_amount=Case(When(converted_at__isnull=True, then=Value(reward)), default=F("reward_amount")),
    )


def referrals_convert_for_purchase(*, purchase: Purchase) -> int:
    """Purchase hook (customers.registry): convert the referral of the purchase's customer
    if this purchase is its first since the referral. Idempotent."""
    customer_id = survivor_of(purchase.customer).pk
    return _convert(
        Referral.objects.filter(referred_id=customer_id, referred_at__lte=purchase.purchased_at), until=None
    )


def referrals_convert_pending(*, as_of: datetime | date) -> int:
    """Nightly catch-up for purchases that came without the hook (bulk imports): convert
    every referral whose first purchase since the referral happened by `as_of` (a date
    means its end). One UPDATE; running it again changes nothing."""
    if not isinstance(as_of, datetime):
        as_of = timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min)) - timedelta(
            microseconds=1
        )
    return _convert(Referral.objects.all(), until=as_of)


def referral_reward_mark_paid(*, referral: Referral, actor: Actor) -> Referral:
    """Mark the reward of a converted referral paid, once (a conditional UPDATE: two clicks
    cannot both pay). Refuses (409) an unconverted referral or one already paid."""
    with transaction.atomic():
        paid = Referral.objects.filter(
            pk=referral.pk, converted_at__isnull=False, reward_paid_at__isnull=True
        ).update(reward_paid_at=timezone.now())
        referral.refresh_from_db()
        if not paid:
            if referral.converted_at is None:
                raise ReferralConflict(gettext("This referral has not converted yet: no reward is owed."))
            raise ReferralConflict(
                gettext("This reward was already marked paid on %(when)s.")
                % {"when": timezone.localtime(referral.reward_paid_at).strftime("%Y-%m-%d %H:%M")}
            )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            subject=referral.referrer,
            summary=f"Referral reward of {referral.reward_amount} paid (referral of #{referral.referred_id})",
        )
    return referral


# --- merges ------------------------------------------------------------------------------
# A merge re-points referrals to the survivor (customers.registry). A referral that would
# then refer the survivor to itself, or repeat a (referrer, referred) pair the survivor
# already has, stays on the tombstone instead: kept as it was, and undo stays exact.


def referrals_staying_as_referred(survivor: Customer, other: Customer) -> Q:
    """Referrals of `other` (as the referred) that stay on it when it is merged."""
    return Q(referrer=survivor) | Q(
        referrer__in=Referral.objects.filter(referred=survivor).values("referrer")
    )


def referrals_staying_as_referrer(survivor: Customer, other: Customer) -> Q:
    """Referrals made by `other` that stay on it when it is merged."""
    return Q(referred=survivor) | Q(
        referred__in=Referral.objects.filter(referrer=survivor).values("referred")
    )
