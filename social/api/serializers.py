"""Social API shapes: the pushed post (documentation; `posts_from_body` validates it with
the same reader as file imports), batches, posts and cases."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from customers.models import Network
from scrm.errors import ValidationFailed

from ..models import Case, InboundBatch, Post, Reply
from ..providers.base import ReferenceKind
from ..providers.files import RecordError, post_from_contract

MAX_POSTS = 1000
URL_LENGTH = 500  # Post.url
LANGUAGE_LENGTH = 35  # a BCP 47 tag; only its primary subtag is kept
_FIELD_MESSAGE = re.compile(r"^(?P<field>[A-Za-z_][^:\s]*): (?P<message>.+)$", re.DOTALL)
_check_url = URLValidator(schemes=["http", "https"])

# --- input ---------------------------------------------------------------------------


class PostAuthorInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, help_text="The author's account id on the network.")
    handle = serializers.CharField(required=False, allow_blank=True, help_text="With or without '@'.")
    name = serializers.CharField(required=False, allow_blank=True)
    followers = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class PostReferenceInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[kind.value for kind in ReferenceKind])
    external_id = serializers.CharField(max_length=100)


class PostInputSerializer(serializers.Serializer):
    """One post as a partner's listening tool sends it (api-contract.md)."""

    network = serializers.ChoiceField(choices=Network.choices)
    external_id = serializers.CharField(max_length=100, help_text="The post's id on the network.")
    author = PostAuthorInputSerializer(required=False, allow_null=True)
    text = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone, e.g. 2026-11-22T18:03:41Z.")
    url = serializers.URLField(required=False, allow_blank=True, max_length=URL_LENGTH)
    in_reply_to = serializers.CharField(
        required=False, allow_null=True, max_length=100, help_text="Id of the post this one answers."
    )
    metrics = serializers.DictField(
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text='Public counters as the network names them, e.g. {"like_count": 14, "retweet_count": 2}.',
    )
    language = serializers.CharField(
        required=False, allow_null=True, max_length=LANGUAGE_LENGTH, help_text="Detected when absent."
    )
    conversation_id = serializers.CharField(
        required=False, allow_null=True, max_length=100, help_text="Id of the post that started the thread."
    )
    references = PostReferenceInputSerializer(many=True, required=False)
    mentions = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Handles tagged in the post (account ids on networks that tag by id).",
    )


PostPushSerializer = PolymorphicProxySerializer(
    component_name="PostPush",
    serializers=[PostInputSerializer, PostInputSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)


def _record_errors(record: Any) -> dict[str, list[str]]:
    """What is wrong with one pushed post, by field; empty when it can be stored."""
    try:
        post_from_contract(record)
    except (RecordError, ValueError) as error:
        match = _FIELD_MESSAGE.match(str(error))
        if match:
            return {match["field"]: [match["message"]]}
        return {"non_field_errors": [str(error)]}
    errors: dict[str, list[str]] = {}
    url = record.get("url")
    if url:
        try:
            _check_url(url)
        except DjangoValidationError:
            errors["url"] = [_("Not a valid http(s) URL.")]
        else:
            if len(url) > URL_LENGTH:
                errors["url"] = [_("At most %(n)d characters.") % {"n": URL_LENGTH}]
    language = record.get("language")
    if isinstance(language, str) and len(language) > LANGUAGE_LENGTH:
        errors["language"] = [_("At most %(n)d characters.") % {"n": LANGUAGE_LENGTH}]
    return errors


def posts_from_body(body: Any) -> list[dict[str, Any]]:
    """The posts of a push body (one object or a list of at most MAX_POSTS), every one
    valid; otherwise ValidationFailed naming each wrong field, prefixed with the item's
    index for a list ("3.created_at")."""
    if isinstance(body, dict):
        errors = _record_errors(body)
        if errors:
            raise ValidationFailed(errors)
        return [body]
    if not isinstance(body, list):
        raise ValidationFailed({"non_field_errors": [_("Send one post object or a list of posts.")]})
    if not body:
        raise ValidationFailed({"non_field_errors": [_("Send at least one post.")]})
    if len(body) > MAX_POSTS:
        raise ValidationFailed(
            {
                "non_field_errors": [
                    _("At most %(max)d posts per request (got %(n)d): send the rest in another request.")
                    % {"max": MAX_POSTS, "n": len(body)}
                ]
            }
        )
    errors = {}
    for index, record in enumerate(body):
        for field, messages in _record_errors(record).items():
            key = str(index) if field == "non_field_errors" else f"{index}.{field}"
            errors[key] = messages
    if errors:
        raise ValidationFailed(errors)
    return body


# --- output --------------------------------------------------------------------------

# A plain string rather than an enum: the OpenAPI enum would collide with the cases' `status`.
BATCH_STATUSES = "One of: " + ", ".join(InboundBatch.Status.values) + "."


class PushResultSerializer(serializers.Serializer):
    batch = serializers.UUIDField(help_text="Id of the batch that keeps the posts until they are ingested.")
    status = serializers.CharField(help_text=BATCH_STATUSES)
    accepted = serializers.IntegerField(help_text="Posts received in this request.")
    status_url = serializers.URLField()


class RejectedSerializer(serializers.Serializer):
    location = serializers.CharField(help_text='Which item: "item 3".')
    message = serializers.CharField()


class BatchSummarySerializer(serializers.Serializer):
    read = serializers.IntegerField(help_text="Posts offered.")
    new = serializers.IntegerField(help_text="Posts stored by this batch.")
    duplicates = serializers.IntegerField(help_text="Posts stored already (their metrics are refreshed).")
    linked = serializers.IntegerField(help_text="New posts whose author is a known customer.")
    flagged = serializers.IntegerField()
    cases_opened = serializers.IntegerField()
    cases_updated = serializers.IntegerField()
    rejected = RejectedSerializer(many=True)


class BatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    source = serializers.ChoiceField(choices=Post.Source.choices)  # type: ignore[assignment]
    status = serializers.CharField(help_text=BATCH_STATUSES)
    accepted = serializers.IntegerField(help_text="Posts received.")
    summary = serializers.SerializerMethodField()
    error = serializers.CharField(help_text="Why a failed batch failed.")
    received_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(BatchSummarySerializer(allow_null=True))
    def get_summary(self, batch: Any) -> dict[str, Any] | None:
        """What ingestion did; null while the batch is queued."""
        return BatchSummarySerializer(batch.summary).data if batch.summary else None


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()
    name = serializers.CharField(source="display_name")
    followers = serializers.IntegerField(source="followers_count", allow_null=True)


class SentimentSerializer(serializers.Serializer):
    compound = serializers.FloatField(help_text="VADER compound score in [-1, 1].")
    label = serializers.ChoiceField(choices=Post.Label.choices)  # type: ignore[assignment]


class MetricsSerializer(serializers.Serializer):
    likes = serializers.IntegerField()
    replies = serializers.IntegerField()
    reposts = serializers.IntegerField()
    quotes = serializers.IntegerField()


class PostSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    network = serializers.CharField()
    external_id = serializers.CharField()
    text = serializers.CharField()
    url = serializers.CharField()
    created_at = serializers.DateTimeField()
    language = serializers.SerializerMethodField()
    sentiment = serializers.SerializerMethodField()
    customer = serializers.SerializerMethodField()
    author = AuthorSerializer(allow_null=True)
    in_reply_to = serializers.CharField()
    conversation = serializers.CharField()
    flagged = serializers.BooleanField()
    flag_reasons = serializers.ListField(child=serializers.CharField())
    case = serializers.IntegerField(source="case_id", allow_null=True)
    metrics = serializers.SerializerMethodField()

    def get_language(self, post: Post) -> str | None:
        return post.language or None

    @extend_schema_field(SentimentSerializer)
    def get_sentiment(self, post: Post) -> dict[str, Any]:
        return {"compound": round(post.sentiment, 4), "label": post.sentiment_label}

    def get_customer(self, post: Post) -> int | None:
        """The customer who wrote it (through the author's identity); null if unlinked."""
        return post.author.customer_id if post.author else None

    @extend_schema_field(MetricsSerializer)
    def get_metrics(self, post: Post) -> dict[str, int]:
        return {
            "likes": post.likes, "replies": post.replies, "reposts": post.reposts, "quotes": post.quotes,
        }  # fmt: skip


class CaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    network = serializers.CharField()
    conversation = serializers.CharField(help_text="Id of the post that started the conversation.")
    status = serializers.ChoiceField(choices=Case.Status.choices)
    priority = serializers.IntegerField(help_text="0-100, higher first.")
    priority_reasons = serializers.ListField(child=serializers.CharField())
    reasons = serializers.ListField(child=serializers.CharField(), help_text="Why its posts were flagged.")
    customer = serializers.SerializerMethodField()
    author = AuthorSerializer(allow_null=True)
    assignee = serializers.IntegerField(source="assignee_id", allow_null=True)
    post_count = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    last_post_at = serializers.DateTimeField()
    first_response_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)

    def get_customer(self, case: Any) -> int | None:
        return case.author.customer_id if case.author else None


class ReplyInputSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The answer, as it will appear on the network.", allow_blank=True)


class ReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField(source="case_id")
    text = serializers.CharField()
    in_reply_to = serializers.CharField(help_text="External id of the post it answers.")
    status = serializers.ChoiceField(
        choices=Reply.Status.choices, help_text="queued, sending, sent, or failed (see error)."
    )
    external_id = serializers.CharField(help_text="Id of the reply on the network once sent.")
    url = serializers.CharField()
    error = serializers.CharField(help_text="Why the network refused it, when it failed.")
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
