"""Referral reads: the marketing list and its totals, and the customer 360's referrals
section (codes with their links, referrals made, who referred the customer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse

from customers.models import Customer

from .models import Referral, ReferralCode


def referral_link_path(code: ReferralCode | str) -> str:
    return reverse("influence:referral-link", args=[str(code)])


def referrals_for_list() -> QuerySet[Referral]:
    return Referral.objects.select_related("referrer", "referred", "code").order_by("-referred_at", "-pk")


@dataclass(frozen=True)
class ReferralTotals:
    count: int
    converted: int
    conversion_rate: float | None  # converted / count, in %
    value: Decimal  # sum of Referral.value (set by the nightly score run)
    valued: int  # referrals with a value
    rewards_owed: Decimal
    owed: int
    rewards_paid: Decimal
    paid: int


def referral_totals(referrals: QuerySet[Referral]) -> ReferralTotals:
    """Totals of a (filtered) list, in one query."""
    owed = Q(converted_at__isnull=False, reward_paid_at__isnull=True, reward_amount__gt=0)
    paid = Q(reward_paid_at__isnull=False)
    agg = referrals.order_by().aggregate(
        count=Count("pk"),
        converted=Count("pk", filter=Q(converted_at__isnull=False)),
        total_value=Sum("value"),
        valued=Count("pk", filter=Q(value__isnull=False)),
        rewards_owed=Sum("reward_amount", filter=owed),
        owed=Count("pk", filter=owed),
        rewards_paid=Sum("reward_amount", filter=paid),
        paid=Count("pk", filter=paid),
    )
    zero = Decimal("0.00")
    return ReferralTotals(
        count=agg["count"],
        converted=agg["converted"],
        conversion_rate=100 * agg["converted"] / agg["count"] if agg["count"] else None,
        value=agg["total_value"] or zero,
        valued=agg["valued"],
        rewards_owed=agg["rewards_owed"] or zero,
        owed=agg["owed"],
        rewards_paid=agg["rewards_paid"] or zero,
        paid=agg["paid"],
    )


@dataclass
class CustomerReferrals:
    codes: list[ReferralCode] = field(default_factory=list)
    made: list[Referral] = field(default_factory=list)
    referred_by: Referral | None = None


def customer_referrals(*, customer: Customer, limit: int = 50) -> CustomerReferrals:
    """The 360's referrals: the customer's codes, the referrals they made (newest first)
    and who referred them."""
    return CustomerReferrals(
        codes=list(customer.referral_codes.order_by("-active", "campaign", "created_at")),
        made=list(
            customer.referrals_made.select_related("referred", "code").order_by("-referred_at", "-pk")[:limit]
        ),
        referred_by=customer.referrals_received.select_related("referrer").order_by("referred_at").first(),
    )


def referral_as_dict(referral: Referral) -> dict[str, Any]:
    """A referral in the shape of the API (and of the 360 section)."""
    return {
        "id": referral.pk,
        "referrer": referral.referrer_id,
        "referred": referral.referred_id,
        "code": referral.code.code if referral.code_id and referral.code else None,
        "channel": referral.channel,
        "campaign": referral.campaign,
        "referred_at": referral.referred_at.isoformat(),
        "type": referral.type,
        "type_inferred": referral.type_inferred,
        "converted_at": referral.converted_at.isoformat() if referral.converted_at else None,
        "reward_amount": str(referral.reward_amount),
        "reward_paid_at": referral.reward_paid_at.isoformat() if referral.reward_paid_at else None,
        "value": str(referral.value) if referral.value is not None else None,
    }


def referrals_section(customer: Customer) -> dict[str, Any]:
    """The "referrals" section of the customer 360 (API body and panel)."""
    found = customer_referrals(customer=customer)
    referred_by = found.referred_by
    return {
        "codes": [
            {
                "code": code.code,
                "campaign": code.campaign,
                "active": code.active,
                "clicks": code.clicks,
                "link": referral_link_path(code.code),
            }
            for code in found.codes
        ],
        "made": [{**referral_as_dict(r), "referred_name": r.referred.full_name} for r in found.made],
        "referred_by": (
            {**referral_as_dict(referred_by), "referrer_name": referred_by.referrer.full_name}
            if referred_by
            else None
        ),
    }
