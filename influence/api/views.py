"""Scores and surveys endpoints of the partner API (api-contract.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scrm.actors import actor_from_request
from scrm.api.idempotency import idempotent

from ..selectors import csat_summary, nps_compare, nps_summary
from ..services import survey_response_record
from .serializers import (
    CsatQuerySerializer,
    CsatSerializer,
    NpsCompareQuerySerializer,
    NpsComparisonSerializer,
    NpsSerializer,
    ScoreQuerySerializer,
    SurveyResponseInputSerializer,
    SurveyResponseSerializer,
)

SCORES_READ = {"read": ["influence.view_surveyresponse"]}


def _round(body: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in body.items()}


def _filters(
    request: Request, query_class: type[ScoreQuerySerializer] = ScoreQuerySerializer
) -> dict[str, Any]:
    query = query_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return {
        "since": data.get("since"),
        "until": data.get("until"),
        "segment": data.get("segment", ""),
        "channel": data.get("channel", ""),
        "all_answers": data.get("all", False),
    }


class SurveyResponseCreateView(APIView):
    api_scopes = {"POST": "surveys:write"}
    api_perms = {"write": ["influence.add_surveyresponse"]}
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Record a survey answer",
        description=(
            "An NPS (0-10) or CSAT (1-5) answer collected by your own survey tool. Send an "
            "`Idempotency-Key` to retry safely: the same key and body answer the first response."
        ),
        request=SurveyResponseInputSerializer,
        responses={
            201: SurveyResponseSerializer,
            400: OpenApiResponse(description='{"errors": {"score": ["..."]}}'),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = SurveyResponseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        response = survey_response_record(**data.validated_data, actor=actor_from_request(request))
        return Response(SurveyResponseSerializer(response).data, status=status.HTTP_201_CREATED)


class NpsView(APIView):
    api_scopes = {"GET": "scores:read"}
    api_perms = SCORES_READ

    @extend_schema(
        summary="Net Promoter Score",
        description=(
            "From survey answers only (docs/metrics.md): promoters 9-10, passives 7-8, detractors "
            "0-6; NPS = 100 (P - D) / n with its standard error and 95 % interval (clipped to "
            "[-100, 100]). Each customer's latest answer in the period counts, unless `all=true`. "
            "`indicative` is true below 30 answers."
        ),
        parameters=[ScoreQuerySerializer],
        responses={200: NpsSerializer, 400: OpenApiResponse(description="Invalid filter")},
    )
    def get(self, request: Request) -> Response:
        summary = nps_summary(**_filters(request))
        return Response(NpsSerializer(_round(asdict(summary))).data)


class CsatView(APIView):
    api_scopes = {"GET": "scores:read"}
    api_perms = SCORES_READ

    @extend_schema(
        summary="Customer satisfaction (CSAT)",
        description=(
            "Share of 4-5 answers to the 1-5 question, with n. Every answer counts (each is "
            "about one interaction) unless `all=false` keeps each customer's latest."
        ),
        parameters=[CsatQuerySerializer],
        responses={200: CsatSerializer, 400: OpenApiResponse(description="Invalid filter")},
    )
    def get(self, request: Request) -> Response:
        summary = csat_summary(**_filters(request, CsatQuerySerializer))
        return Response(CsatSerializer(_round(asdict(summary))).data)


# 30 points apart on 50 answers each is not yet a difference at 95 % (z = 1.93).
COMPARE_EXAMPLE = OpenApiExample(
    "This quarter against the previous one",
    description=(
        "GET /api/v1/nps/compare/?a_since=2026-07-01T00:00:00Z"
        "&b_since=2026-04-01T00:00:00Z&b_until=2026-07-01T00:00:00Z"
    ),
    value={
        "a": {"nps": 30.0, "n": 50, "promoters": 25, "passives": 15, "detractors": 10, "se": 11.05,
              "ci_low": 8.35, "ci_high": 51.65, "indicative": False},
        "b": {"nps": 0.0, "n": 50, "promoters": 15, "passives": 20, "detractors": 15, "se": 10.95,
              "ci_low": -21.47, "ci_high": 21.47, "indicative": False},
        "difference": 30.0,
        "z": 1.93,
        "significant": False,
    },
    response_only=True,
)  # fmt: skip


class NpsCompareView(APIView):
    api_scopes = {"GET": "scores:read"}
    api_perms = SCORES_READ

    @extend_schema(
        summary="Compare two NPS (periods, segments, channels, campaigns)",
        description=(
            "Side A from the `a_*` filters, side B from the `b_*` filters (each like `GET /nps/`). "
            "They differ at 95 % when |NPS_A - NPS_B| / sqrt(SE_A^2 + SE_B^2) > 1.96 "
            "(docs/metrics.md); `difference` is NPS_A - NPS_B."
        ),
        parameters=[NpsCompareQuerySerializer],
        responses={200: NpsComparisonSerializer, 400: OpenApiResponse(description="Invalid filter")},
        examples=[COMPARE_EXAMPLE],
    )
    def get(self, request: Request) -> Response:
        query = NpsCompareQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = nps_compare(query.side("a"), query.side("b"))
        body = {
            "a": _round(asdict(found.first)),
            "b": _round(asdict(found.second)),
            "difference": round(found.difference, 2) if found.difference is not None else None,
            "z": round(found.z, 2) if found.z is not None else None,
            "significant": found.significant,
        }
        return Response(NpsComparisonSerializer(body).data)
