"""Customer endpoints of the partner API (api-contract.md)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from scrm.actors import actor_from_request
from scrm.api.idempotency import idempotent
from scrm.models import ApiKey

from ..errors import ValidationFailed
from ..filters import CustomerFilter
from ..matching import candidate_decide, resolution_request
from ..merge import customer_merge, merge_undo
from ..models import Customer, MatchCandidate, MergeEvent
from ..selectors import customer_360, customers_live, with_list_data
from ..services import customer_create, customer_update, customer_upsert, survivor_of
from .serializers import (
    Customer360Serializer,
    CustomerInputSerializer,
    CustomerListSerializer,
    DecisionInputSerializer,
    MatchCandidateSerializer,
    MergedCustomerSerializer,
    MergeInputSerializer,
    MergeResultSerializer,
    UndoResultSerializer,
)

READ = ["customers.view_customer"]
WRITE = ["customers.change_customer"]


def _source(request: Request) -> str:
    api_key = request.auth
    return f"api:{api_key.name}"[:50] if isinstance(api_key, ApiKey) else "staff"


def _render_360(customer: Customer, status_code: int = 200, **extra: Any) -> Response:
    body = dict(Customer360Serializer(customer_360(customer=customer)).data)
    body.update(extra)
    return Response(body, status=status_code)


class CustomerListCreateView(generics.ListAPIView):
    api_scope = "customers"
    api_perms = {"read": READ, "write": ["customers.add_customer"]}
    serializer_class = CustomerListSerializer
    filterset_class = CustomerFilter

    def get_queryset(self) -> Any:
        return with_list_data(customers_live()).order_by("-id")

    @extend_schema(
        summary="List and search customers",
        responses=CustomerListSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a customer",
        request=CustomerInputSerializer,
        responses={
            201: Customer360Serializer,
            400: OpenApiResponse(description="Invalid body"),
            409: OpenApiResponse(description="An external id or handle belongs to another customer"),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(
            data=serializer.to_data(source=_source(request)), actor=actor_from_request(request)
        )
        resolution_request(customer_ids=[customer.pk])
        return _render_360(customer, status.HTTP_201_CREATED)


class CustomerUpsertView(APIView):
    api_scope = "customers"
    api_perms = {"read": READ, "write": ["customers.add_customer", "customers.change_customer"]}

    @extend_schema(
        summary="Create or update a customer",
        description=(
            "Matches an existing customer by external id, then verified e-mail or phone, then "
            "linked social identity. 200 when it updated one, 201 when it created one. Sending "
            "the same body twice changes nothing the second time."
        ),
        request=CustomerInputSerializer,
        responses={
            200: Customer360Serializer,
            201: Customer360Serializer,
            409: OpenApiResponse(description="The keys point at different customers"),
        },
    )
    @idempotent
    def put(self, request: Request) -> Response:
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer, created = customer_upsert(
            data=serializer.to_data(source=_source(request)), actor=actor_from_request(request)
        )
        resolution_request(customer_ids=[customer.pk])
        return _render_360(
            customer, status.HTTP_201_CREATED if created else status.HTTP_200_OK, created=created
        )


def moved_to_survivor(customer: Customer, url_name: str) -> Response:
    """301 for a merged customer: the body names the survivor, Location is `url_name` of it.
    Every endpoint under /customers/{id}/ answers a tombstone this way."""
    survivor = survivor_of(customer)
    response = Response(
        MergedCustomerSerializer(
            {
                "detail": f"Customer {customer.pk} was merged into customer {survivor.pk}.",
                "survivor": survivor.pk,
            }
        ).data,
        status=status.HTTP_301_MOVED_PERMANENTLY,
    )
    response["Location"] = reverse(url_name, args=[survivor.pk])
    return response


class CustomerDetailView(APIView):
    api_scope = "customers"
    api_perms = {"read": READ, "write": WRITE}

    def _get(self, pk: int) -> Customer | Response:
        customer = get_object_or_404(Customer, pk=pk)
        if customer.is_tombstone:
            return moved_to_survivor(customer, "api:customer-detail")
        return customer

    @extend_schema(
        summary="The customer 360",
        responses={
            200: Customer360Serializer,
            301: OpenApiResponse(MergedCustomerSerializer, description="Merged: see survivor"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        found = self._get(pk)
        return found if isinstance(found, Response) else _render_360(found)

    @extend_schema(
        summary="Update a customer",
        description="Changes the fields given and adds the e-mails, phones, ids and handles given.",
        request=CustomerInputSerializer,
        responses={
            200: Customer360Serializer,
            301: OpenApiResponse(MergedCustomerSerializer, description="Merged: see survivor"),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        found = self._get(pk)
        if isinstance(found, Response):
            return found
        serializer = CustomerInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = customer_update(
            customer=found,
            data=serializer.to_data(source=_source(request)),
            actor=actor_from_request(request),
        )
        return _render_360(customer)


class CustomerMergeView(APIView):
    api_scope = "customers"
    api_perms = {"read": READ, "write": ["customers.merge_customer"]}

    @extend_schema(
        summary="Merge another customer into this one",
        description=(
            "Every row of `other` (contact points, identities, ids, purchases, and what other "
            "apps own) moves to this customer; `other` stays as a tombstone. Undo with "
            "POST /api/v1/merges/{merge_id}/undo/."
        ),
        request=MergeInputSerializer,
        responses={
            200: MergeResultSerializer,
            400: OpenApiResponse(description="Invalid body"),
            404: OpenApiResponse(description="No such customer"),
            409: OpenApiResponse(description="A tombstone, or merged meanwhile"),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        survivor = get_object_or_404(Customer, pk=pk)
        other = Customer.objects.filter(pk=serializer.validated_data["other"]).first()
        if other is None:
            raise ValidationFailed({"other": [f"No customer {serializer.validated_data['other']}."]})
        event = customer_merge(
            survivor=survivor,
            other=other,
            actor=actor_from_request(request),
            reason=serializer.validated_data.get("reason", ""),
        )
        moved = {key: len(rows) for key, rows in event.snapshot["moved"].items()}
        return Response(
            MergeResultSerializer(
                {"merge_id": event.pk, "survivor": survivor.pk, "other": other.pk, "moved": moved}
            ).data
        )


class MergeUndoView(APIView):
    api_scope = "customers"
    api_perms = {"read": READ, "write": ["customers.merge_customer"]}

    @extend_schema(
        summary="Undo a merge",
        description=(
            "Restores every row and field the merge changed. Rows added since stay with the survivor."
        ),
        request=None,
        responses={
            200: UndoResultSerializer,
            404: OpenApiResponse(description="No such merge"),
            409: OpenApiResponse(description="Already undone, or the survivor was merged since"),
        },
    )
    def post(self, request: Request, merge_id: int) -> Response:
        event = get_object_or_404(MergeEvent, pk=merge_id)
        result = merge_undo(event=event, actor=actor_from_request(request))
        return Response(
            UndoResultSerializer(
                {
                    "merge_id": event.pk,
                    "survivor": event.survivor_id,
                    "restored": event.other_id,
                    "rows_restored": result.restored,
                    "new_rows_kept": result.new_rows_kept,
                }
            ).data
        )


class MatchCandidateListView(generics.ListAPIView):
    """The review queue: pairs that may be one person, most likely first."""

    api_scope = "customers"
    api_perms = {"read": ["customers.view_customer"], "write": ["customers.merge_customer"]}
    serializer_class = MatchCandidateSerializer

    def get_queryset(self) -> Any:
        status_filter = self.request.query_params.get("status", MatchCandidate.Status.PENDING)
        if status_filter not in MatchCandidate.Status.values:
            raise ValidationFailed({"status": [f"Choose one of: {', '.join(MatchCandidate.Status.values)}."]})
        return MatchCandidate.objects.filter(status=status_filter).order_by("-probability", "id")

    @extend_schema(
        summary="The review queue of possible duplicates",
        parameters=[
            OpenApiParameter("status", str, enum=list(MatchCandidate.Status.values), default="pending")
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MatchCandidateDecisionView(APIView):
    api_scope = "customers"
    api_perms = {"read": ["customers.view_customer"], "write": ["customers.merge_customer"]}

    @extend_schema(
        summary="Decide on a possible duplicate",
        description=(
            "`merge` merges the newer record into the older one; `reject` records that they "
            "are different people (the pair is never proposed again); `skip` leaves it for later."
        ),
        request=DecisionInputSerializer,
        responses={200: MatchCandidateSerializer, 409: OpenApiResponse(description="Already decided")},
    )
    def post(self, request: Request, pk: int) -> Response:
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        candidate = get_object_or_404(MatchCandidate, pk=pk)
        decided = candidate_decide(
            candidate=candidate,
            decision=serializer.validated_data["decision"],
            actor=actor_from_request(request),
        )
        return Response(MatchCandidateSerializer(decided).data)
