"""Scores and surveys endpoints of the partner API (api-contract.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scrm.actors import actor_from_request
from scrm.api.idempotency import idempotent

from ..selectors import csat_summary, nps_summary
from ..services import survey_response_record
from .serializers import (
    CsatQuerySerializer,
    CsatSerializer,
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
