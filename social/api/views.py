"""Social endpoints of the partner API (api-contract.md): posts pushed by partners and
the batches that keep them, the posts list and the cases list."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, IntegerField, QuerySet
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from scrm.actors import actor_from_request
from scrm.api.idempotency import idempotent
from scrm.api.permissions import ScopedPermission
from scrm.models import ApiKey

from ..cases import reply_send
from ..filters import PostFilter
from ..models import Case, InboundBatch, Post
from ..services import inbound_batch_receive
from .filters import CaseFilter
from .serializers import (
    MAX_POSTS,
    BatchSerializer,
    CaseSerializer,
    PostPushSerializer,
    PostSerializer,
    PushResultSerializer,
    ReplyInputSerializer,
    ReplySerializer,
    posts_from_body,
)

READ = ["social.view_post"]
# The columns the lists show, so that raw payloads and metrics JSON stay in the database.
AUTHOR_COLUMNS = ("author__id", "author__handle", "author__display_name", "author__followers_count",
                  "author__customer")  # fmt: skip
POST_COLUMNS = (
    "id", "network", "external_id", "text", "url", "created_at", "language", "sentiment", "sentiment_label",
    "in_reply_to", "conversation", "flagged", "flag_reasons", "case_id", "likes", "replies", "reposts",
    "quotes", "author", *AUTHOR_COLUMNS,
)  # fmt: skip
CASE_COLUMNS = (
    "id", "network", "conversation", "status", "priority", "priority_reasons", "reasons", "assignee_id",
    "post_count", "opened_at", "last_post_at", "first_response_at", "resolved_at", "author", *AUTHOR_COLUMNS,
)  # fmt: skip


class PostListPushView(generics.ListAPIView):
    api_scope = "social"
    api_perms = {"read": READ, "write": ["social.add_post"]}
    parser_classes = [JSONParser]
    serializer_class = PostSerializer
    filterset_class = PostFilter

    def get_queryset(self) -> QuerySet[Post]:
        return Post.objects.select_related("author").only(*POST_COLUMNS).order_by("-created_at", "-id")

    @extend_schema(
        summary="List posts",
        description=(
            "Newest first. `customer` keeps the posts of one customer (through their linked "
            "identities); `since` / `until` are ISO 8601 date-times (`until` excluded)."
        ),
        responses=PostSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Push posts from your own listening tool",
        description=(
            f"One post or a list of at most {MAX_POSTS}. Every post is checked first: if any is "
            'invalid the answer is 400 naming the field (`"3.created_at"` for the fourth post of a '
            "list) and nothing is kept. Valid posts are kept as a batch and ingested by a worker "
            "(language, sentiment, author, customer link, flags, cases); follow `status_url`. "
            "A post is stored once per (network, external_id): pushing it again only refreshes "
            "its metrics, and the same body pushed again answers the first batch."
        ),
        request=PostPushSerializer,
        responses={
            202: PushResultSerializer,
            400: OpenApiResponse(description='Invalid post: {"errors": {"3.created_at": ["..."]}}'),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        items = posts_from_body(request.data)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        batch, _created = inbound_batch_receive(source=Post.Source.API, items=items, api_key=api_key)
        # The worker may have run already (eager tasks, a fast worker): answer what is true now.
        batch.refresh_from_db(fields=["status"])
        status_url = request.build_absolute_uri(reverse("api:post-batch-detail", args=[batch.pk]))
        body = PushResultSerializer(
            {"batch": batch.pk, "status": batch.status, "accepted": len(items), "status_url": status_url}
        ).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": status_url})


class ReadOrWritePermission(ScopedPermission):
    """Whoever may push posts may follow their batches: social:read or social:write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, ApiKey):
            if not (request.auth.has_scope("social:read") or request.auth.has_scope("social:write")):
                raise exceptions.PermissionDenied("This API key lacks the scope social:read or social:write.")
            return True
        return super().has_permission(request, view)


class BatchDetailView(generics.RetrieveAPIView):
    # The batch id is an unguessable UUID4 handed to whoever pushed the batch; the same
    # body pushed by two partners is one batch, so it is not restricted to one key.
    api_scope = "social"
    api_perms = {"read": READ}
    permission_classes = [ReadOrWritePermission]
    serializer_class = BatchSerializer

    def get_queryset(self) -> QuerySet[InboundBatch]:
        return InboundBatch.objects.defer("items").annotate(
            accepted=Func(F("items"), function="jsonb_array_length", output_field=IntegerField())
        )

    @extend_schema(
        summary="Follow a batch of pushed posts",
        description=(
            "`queued` until a worker has ingested it, then `done` with a summary (posts read, "
            "new, duplicates, linked to a customer, flagged, cases, and the posts rejected with "
            "why), or `failed` with the error after its retries."
        ),
        responses={200: BatchSerializer, 404: OpenApiResponse(description="No such batch")},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseListView(generics.ListAPIView):
    api_scope = "social"
    api_perms = {"read": ["social.view_case"]}
    serializer_class = CaseSerializer
    filterset_class = CaseFilter

    def get_queryset(self) -> QuerySet[Case]:
        return (
            Case.objects.select_related("author").only(*CASE_COLUMNS).order_by("-priority", "opened_at", "id")
        )

    @extend_schema(
        summary="List cases",
        description="Conversations that need the brand's answer, highest priority first, then oldest.",
        responses=CaseSerializer(many=True),
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseReplyView(generics.GenericAPIView):
    """`POST /api/v1/cases/{id}/replies/`: answer a case through the network."""

    api_scope = "social"
    api_perms = {"read": ["social.view_case"], "write": ["social.change_case"]}
    parser_classes = [JSONParser]
    serializer_class = ReplyInputSerializer

    def get_queryset(self) -> QuerySet[Case]:
        return Case.objects.select_related("author__customer")

    @extend_schema(
        summary="Reply to a case",
        description=(
            "Queues the reply; a worker sends it through the case's network (an X reply, a "
            "Facebook comment reply). Send an `Idempotency-Key`: the same key is the same reply, "
            "sent at most once. Follow `status` on the case's replies."
        ),
        request=ReplyInputSerializer,
        responses={
            202: ReplySerializer,
            400: OpenApiResponse(description='{"errors": {"text": ["..."]}}'),
            409: OpenApiResponse(description="An agent is writing a reply to this case right now."),
        },
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        case = self.get_object()
        data = ReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip() or None
        reply, _created = reply_send(
            case=case, text=data.validated_data["text"], actor=actor_from_request(request), key=key
        )
        reply.refresh_from_db()
        return Response(ReplySerializer(reply).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="A case's replies", responses=ReplySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        case = self.get_object()
        return Response(ReplySerializer(case.replies.order_by("created_at", "id"), many=True).data)
