"""Referrals in the partner API (api-contract.md): `POST /api/v1/referrals/` records one,
`GET /api/v1/referrals/` lists them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from customers.models import Customer
from scrm.actors import actor_from_request
from scrm.api.idempotency import idempotent

from ..filters import ReferralFilter
from ..models import Referral
from ..referral_selectors import referrals_for_list
from ..referrals import referral_record


class ReferralInputSerializer(serializers.Serializer):
    referrer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), help_text="Customer id of the referrer"
    )
    referred = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), help_text="Customer id of the customer they brought"
    )
    code = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=40,
        help_text="The referrer's referral code, as the referred customer gave it (any case)",
    )  # fmt: skip
    channel = serializers.ChoiceField(
        choices=Referral.Channel.choices, required=False,
        help_text="`code` (the default with a code), `link`, `declared` or `api` (the default)",
    )  # fmt: skip
    campaign = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        default="",
        help_text="Defaults to the code's campaign",
    )
    referred_at = serializers.DateTimeField(
        required=False, help_text="When the referral happened; defaults to now"
    )
    type = serializers.ChoiceField(
        choices=Referral.Type.choices, required=False, allow_null=True,
        help_text="1: would not have come otherwise; 2: would have come anyway. Omitted: inferred "
        "(type 2 when the referred customer was known before the referral)",
    )  # fmt: skip


class ReferralSerializer(serializers.ModelSerializer):
    code: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Referral
        fields = [
            "id", "referrer", "referred", "code", "channel", "campaign", "referred_at", "type",
            "type_inferred", "converted_at", "conversion_purchase", "reward_amount", "reward_paid_at",
            "value", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


RECORD_EXAMPLE = OpenApiExample(
    "A referral with a code",
    value={"referrer": 12, "referred": 345, "code": "K7QX9M2P", "referred_at": "2026-10-01T10:00:00Z"},
    request_only=True,
)


class ReferralListCreateView(generics.ListAPIView):
    api_scopes = {"GET": "scores:read", "POST": "customers:write"}
    api_perms = {"read": ["influence.view_referral"], "write": ["influence.add_referral"]}
    parser_classes = [JSONParser]
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter

    def get_queryset(self) -> QuerySet[Referral]:
        return referrals_for_list()

    @extend_schema(
        summary="List referrals",
        description=(
            "Newest referral first. `converted=true` keeps those whose referred customer has bought "
            "since; `since` / `until` bound `referred_at` (ISO 8601, `until` excluded)."
        ),
        responses=ReferralSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record a referral",
        description=(
            "`referrer` brought `referred`. 201 with the referral; the same pair again answers 200 "
            "with the first referral, unchanged. A merged customer's id stands for its survivor. "
            "400 for a self-referral, an unknown or inactive code, or a code of another customer; "
            "409 when the referred customer was already referred by someone else. The referral "
            "converts at the referred customer's first purchase at or after `referred_at`. Send an "
            "`Idempotency-Key` to retry safely."
        ),
        request=ReferralInputSerializer,
        responses={
            201: ReferralSerializer,
            200: OpenApiResponse(ReferralSerializer, description="This pair was already recorded"),
            400: OpenApiResponse(description='{"errors": {"code": ["Unknown referral code."]}}'),
            409: OpenApiResponse(
                description='{"errors": {"referred": ["Customer 345 was already referred by customer 7."]}}'
            ),
        },
        examples=[RECORD_EXAMPLE],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = ReferralInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        code = values.get("code") or None
        referral, created = referral_record(
            referrer=values["referrer"],
            referred=values["referred"],
            channel=values.get("channel") or (Referral.Channel.CODE if code else Referral.Channel.API),
            code=code,
            campaign=values.get("campaign", ""),
            referred_at=values.get("referred_at"),
            type=values.get("type"),
            actor=actor_from_request(request),
        )
        referral = referrals_for_list().get(pk=referral.pk)
        return Response(
            ReferralSerializer(referral).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
