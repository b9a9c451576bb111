"""`GET /api/v1/customers/{id}/scores/`: a customer's latest scores, read from the snapshots."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.api.serializers import MergedCustomerSerializer
from customers.api.views import moved_to_survivor
from customers.models import Customer

from ..selectors import customer_scores


class ScorePointSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    influence = serializers.FloatField(allow_null=True)
    clv = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    crv = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    segment = serializers.CharField()
    sentiment_index = serializers.FloatField(allow_null=True)


class CustomerScoresSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    influence = serializers.FloatField(allow_null=True, help_text="0-100, weighted percentile ranks")
    influence_components = serializers.DictField(
        help_text="Per component: value, percentile (0-100) and weight (settings)."
    )
    clv = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    clv_basis = serializers.CharField(
        help_text="`model` (BG/NBD + Gamma-Gamma) or `cohort` (too little history)"
    )
    expected_purchases = serializers.FloatField(allow_null=True)
    crv = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    crv_realised = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    crv_expected = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    referrals = serializers.IntegerField()
    referrals_converted = serializers.IntegerField()
    segment = serializers.CharField(
        help_text="champions, affluents, advocates, misers (empty before the first run)"
    )
    sentiment_index = serializers.FloatField(
        allow_null=True, help_text="Inferred from the customer's public posts about the brand; not NPS."
    )
    sentiment_posts = serializers.IntegerField(help_text="n of the sentiment index")
    nps_category = serializers.CharField(help_text="promoter, passive, detractor from the latest NPS answer")
    as_of = serializers.DateField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    history = ScorePointSerializer(many=True)


class CustomerScoresView(APIView):
    api_scopes = {"GET": "scores:read"}
    api_perms = {"read": ["influence.view_scoresnapshot"]}

    @extend_schema(
        summary="A customer's scores",
        description=(
            "Influence (0-100) with its components, CLV, CRV, segment, inferred sentiment index and "
            "NPS category, as computed by the latest score run (nightly, or `recompute_scores`), with "
            "their history (`?history=N` snapshots, default 30). Before the first run every score "
            "is null and `computed_at` is null."
        ),
        responses={
            200: CustomerScoresSerializer,
            301: OpenApiResponse(MergedCustomerSerializer, description="Merged: see survivor"),
            404: OpenApiResponse(description="No such customer"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        if customer.is_tombstone:
            return moved_to_survivor(customer, "api:customer-scores")
        try:
            history = max(0, min(int(request.query_params.get("history", 30)), 366))
        except ValueError:
            return Response({"errors": {"history": ["A whole number of snapshots, 0 to 366."]}}, status=400)
        return Response(CustomerScoresSerializer(customer_scores(customer=customer, history=history)).data)
