"""What the brand hears: connected accounts, listening rules, posts, the graph of who
talks to whom, flag rules, cases, and the batches that brought posts in."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Network, SocialIdentity
from scrm.fields import EncryptedTextField


class ConnectedAccount(models.Model):
    """A brand account on a network (or a demo/file source), with its secrets encrypted
    at rest and its health as the last calls left it."""

    class Provider(models.TextChoices):
        X = "x", "X"
        FACEBOOK = "facebook", "Facebook"
        FAKE = "fake", _("Demo stream")

    class Health(models.TextChoices):
        UNKNOWN = "unknown", _("not checked yet")
        HEALTHY = "healthy", _("healthy")
        DEGRADED = "degraded", _("retrying")
        UNHEALTHY = "unhealthy", _("needs attention")

    name = models.CharField(_("name"), max_length=100, unique=True)
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    external_id = models.CharField(_("account id on the network"), max_length=100, blank=True)
    handle = models.CharField(_("handle"), max_length=100, blank=True)
    # JSON object of tokens and ids; encrypted, never logged, never serialised.
    credentials_encrypted = EncryptedTextField(blank=True, default="")
    active = models.BooleanField(_("active"), default=True)
    poll_interval_seconds = models.PositiveIntegerField(
        _("polling interval (seconds)"),
        default=300,
        help_text=_("X access tiers allow different request rates; poll no faster than yours."),
    )
    monthly_post_cap = models.PositiveIntegerField(
        _("monthly post cap"),
        null=True,
        blank=True,
        help_text=_("Posts the plan lets you read per month; polling stops when reached. Empty: no cap."),
    )
    usage_month = models.DateField(_("usage month"), null=True, blank=True)
    posts_read_this_month = models.PositiveIntegerField(_("posts read this month"), default=0)

    health = models.CharField(_("health"), max_length=20, choices=Health.choices, default=Health.UNKNOWN)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error_at = models.DateTimeField(_("last error"), null=True, blank=True)
    last_error = models.TextField(_("last error message"), blank=True)
    rate_limit_remaining = models.PositiveIntegerField(_("requests left"), null=True, blank=True)
    rate_limit_reset_at = models.DateTimeField(_("rate limit resets"), null=True, blank=True)
    token_expires_at = models.DateTimeField(_("token expires"), null=True, blank=True)
    verified_at = models.DateTimeField(_("connection tested"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("connected account")
        verbose_name_plural = _("connected accounts")
        permissions = [("manage_connectedaccount", "Can connect and test network accounts")]

    def __str__(self) -> str:
        return self.name

    @property
    def credentials(self) -> dict[str, Any]:
        if not self.credentials_encrypted:
            return {}
        value = json.loads(self.credentials_encrypted)
        return value if isinstance(value, dict) else {}

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = json.dumps(value, sort_keys=True) if value else ""

    @property
    def cap_reached(self) -> bool:
        """The plan's posts for this month are used up (usage counts restart each month)."""
        if self.monthly_post_cap is None or self.usage_month != timezone.now().date().replace(day=1):
            return False
        return self.posts_read_this_month >= self.monthly_post_cap


class ListeningRule(models.Model):
    """What to listen for. Brand rules are the brand's own conversation; competitor rules
    only count for share of voice. The cursor says where polling resumes."""

    class Kind(models.TextChoices):
        BRAND = "brand", _("brand")
        COMPETITOR = "competitor", _("competitor")

    class Stream(models.TextChoices):
        SEARCH = "search", _("search (keywords, hashtags, handles)")
        MENTIONS = "mentions", _("mentions of the account")
        FEED = "feed", _("page feed and comments")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BRAND)
    account = models.ForeignKey(
        ConnectedAccount,
        verbose_name=_("polled with"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rules",
        help_text=_("Empty: the rule only sorts posts pushed by partners, webhooks and files."),
    )
    stream = models.CharField(_("stream"), max_length=20, choices=Stream.choices, default=Stream.SEARCH)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    hashtags = models.JSONField(_("hashtags"), default=list, blank=True)
    handles = models.JSONField(_("handles"), default=list, blank=True)
    languages = models.JSONField(_("languages"), default=list, blank=True)
    campaign = models.CharField(
        _("campaign"),
        max_length=100,
        blank=True,
        help_text=_("Groups rules for the marketing dashboard's campaign filter."),
    )
    active = models.BooleanField(_("active"), default=True)
    cursor = models.JSONField(default=dict, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("listening rule")
        verbose_name_plural = _("listening rules")

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """A public post or comment, stored once per (network, external_id).

    The customer is reached through the author identity, so linking or merging the
    identity moves every post with it.
    """

    class Source(models.TextChoices):
        POLL = "poll", _("polling")
        WEBHOOK = "webhook", _("webhook")
        API = "api", _("partner API")
        FILE = "file", _("file import")

    class Label(models.TextChoices):
        POSITIVE = "positive", _("positive")
        NEUTRAL = "neutral", _("neutral")
        NEGATIVE = "negative", _("negative")

    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    external_id = models.CharField(_("post id on the network"), max_length=100)
    # Indexed by (author, created_at) and (case) where set, below: every index costs each insert.
    author = models.ForeignKey(
        SocialIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="posts", db_index=False
    )
    text = models.TextField(_("text"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    created_at = models.DateTimeField(_("posted"))
    url = models.URLField(_("link"), max_length=500, blank=True)
    in_reply_to = models.CharField(_("in reply to"), max_length=100, blank=True)
    conversation = models.CharField(_("conversation"), max_length=100, blank=True)
    references = models.JSONField(default=list, blank=True)  # [{"kind", "external_id"}]
    mentions = models.JSONField(default=list, blank=True)  # handles, lower-case, no "@"
    likes = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    reposts = models.PositiveIntegerField(default=0)
    quotes = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)  # as the network gave them
    sentiment = models.FloatField(_("sentiment"))
    sentiment_label = models.CharField(_("sentiment"), max_length=10, choices=Label.choices)
    sentiment_model = models.CharField(max_length=40)
    from_brand = models.BooleanField(default=False, help_text="written by a connected brand account")
    flagged = models.BooleanField(_("flagged"), default=False)
    flag_reasons = models.JSONField(default=list, blank=True)
    case = models.ForeignKey(
        "Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts", db_index=False
    )
    rules: models.ManyToManyField[ListeningRule, PostRuleMatch] = models.ManyToManyField(
        ListeningRule, through="PostRuleMatch", related_name="posts"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    raw = models.JSONField(default=dict, blank=True)
    ingested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "external_id"], name="post_network_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(sentiment__gte=-1, sentiment__lte=1), name="post_sentiment_range"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="post_created_idx"),
            models.Index(fields=["author", "created_at"], name="post_author_created_idx"),
            models.Index(fields=["network", "conversation"], name="post_conversation_idx"),
            models.Index(fields=["created_at"], condition=Q(flagged=True), name="post_flagged_created_idx"),
            models.Index(fields=["case"], condition=Q(case__isnull=False), name="post_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.network}:{self.external_id}"


class PostRuleMatch(models.Model):
    """A post matched a listening rule; `kind` and `created_at` are copied from the rule
    and the post so that share of voice and volume per day read one table."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="rule_matches")
    rule = models.ForeignKey(ListeningRule, on_delete=models.CASCADE, related_name="matches")
    kind = models.CharField(max_length=20, choices=ListeningRule.Kind.choices)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "rule"], name="post_rule_match_unique")]
        indexes = [models.Index(fields=["rule", "created_at"], name="post_rule_match_rule_idx")]

    def __str__(self) -> str:
        return f"{self.post_id} ~ {self.rule_id}"


class SocialEdge(models.Model):
    """Who addresses whom: identity -> identity, by kind, counted. Built by ingestion
    from each new post exactly once; read by influence for the graph scores."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("mention")
        REPLY = "reply", _("reply")
        REPOST = "repost", _("repost")
        QUOTE = "quote", _("quote")
        FOLLOW = "follow", _("follow")

    source = models.ForeignKey(SocialIdentity, on_delete=models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(SocialIdentity, on_delete=models.CASCADE, related_name="edges_in")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    weight = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "kind"], name="social_edge_unique"),
            models.CheckConstraint(condition=~Q(source=models.F("target")), name="social_edge_not_self"),
        ]
        indexes = [models.Index(fields=["target", "kind"], name="social_edge_target_idx")]

    def __str__(self) -> str:
        return f"{self.source_id} -{self.kind}-> {self.target_id} x{self.weight}"


class FlagRule(models.Model):
    """When a post needs an answer. Every active rule is checked on every new post."""

    class Kind(models.TextChoices):
        NEGATIVE = "negative", _("sentiment at or below a threshold")
        KEYWORDS = "keywords", _("complaint keywords")
        QUESTION = "question", _("question to the brand")
        INFLUENCE = "influence", _("author's audience at or above a threshold")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    threshold = models.FloatField(_("threshold"), null=True, blank=True)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("flag rule")
        verbose_name_plural = _("flag rules")

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """A conversation that needs the brand's answer, opened by a flagged post; later
    posts of the same conversation join it while it is not resolved."""

    class Status(models.TextChoices):
        NEW = "new", _("new")
        OPEN = "open", _("open")
        PENDING = "pending", _("waiting for the customer")
        RESOLVED = "resolved", _("resolved")

    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    conversation = models.CharField(_("conversation"), max_length=100)
    author = models.ForeignKey(
        SocialIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(_("priority"), default=0)
    priority_reasons = models.JSONField(default=list, blank=True)
    reasons = models.JSONField(_("why flagged"), default=list, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    post_count = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    last_post_at = models.DateTimeField(_("last post"))
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # Who is writing a reply right now (collision warning); the claim lapses by itself.
    replying_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replying_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "opened_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "conversation"],
                condition=~Q(status="resolved"),
                name="case_one_open_per_conversation",
            ),
            models.CheckConstraint(condition=Q(priority__lte=100), name="case_priority_range"),
        ]
        indexes = [
            models.Index(fields=["status", "-priority"], name="case_status_priority_idx"),
            # The inbox reads open cases by priority then age, in pages (selectors.cases_for_inbox).
            models.Index(
                F("priority").desc(),
                "opened_at",
                "id",
                name="case_open_queue_idx",
                condition=~Q(status="resolved"),
            ),
            # Ingestion looks up every conversation's cases, resolved ones included.
            models.Index(fields=["network", "conversation"], name="case_conversation_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.network}:{self.conversation}"


class SlaTarget(models.Model):
    """How fast the brand answers and resolves, per priority band; due times of a case
    are set from the band of its priority when it opens."""

    class Band(models.TextChoices):
        HIGH = "high", _("high (70 and above)")
        NORMAL = "normal", _("normal (40 to 69)")
        LOW = "low", _("low (below 40)")

    band = models.CharField(_("priority band"), max_length=10, choices=Band.choices, unique=True)
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"))

    class Meta:
        ordering = ["band"]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0)
                & Q(resolution_minutes__gte=models.F("first_response_minutes")),
                name="sla_target_sane",
            )
        ]

    def __str__(self) -> str:
        return self.get_band_display()


class Reply(models.Model):
    """An answer to a case, sent through the network by a worker. `key` makes sending
    idempotent (the same click or partner call twice is one reply) and the status moves
    queued -> sending -> sent | failed by conditional updates, so a reply is never sent
    twice; a failed one keeps the network's reason and can be retried."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="replies")
    key = models.CharField(max_length=100, help_text="idempotency key of the request that wrote it")
    text = models.TextField(_("text"))
    in_reply_to = models.CharField(_("answers the post"), max_length=100)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    api_key = models.ForeignKey("scrm.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    account = models.ForeignKey(ConnectedAccount, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    external_id = models.CharField(_("id on the network"), max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="reply_case_key_unique")]

    def __str__(self) -> str:
        return f"reply {self.pk} to case {self.case_id} ({self.status})"


class CaseNote(models.Model):
    """An internal note on a case: agents only, never sent."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on case {self.case_id}"


class CannedReply(models.Model):
    """A ready answer with variables ({first_name}, {handle}, {case_id}, {agent})."""

    title = models.CharField(_("title"), max_length=100, unique=True)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class AgentDuty(models.Model):
    """Whether an agent takes new cases (round robin gives each in turn)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty")
    on_duty = models.BooleanField(_("on duty"), default=False)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({'on' if self.on_duty else 'off'} duty)"


class InboundBatch(models.Model):
    """Posts pushed to us (partner API, webhook) kept until a worker has ingested them,
    so nothing received is lost if the broker or a worker fails. The body's hash makes
    the same delivery twice one batch."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        DONE = "done", _("ingested")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=10, choices=Post.Source.choices)
    digest = models.CharField(max_length=64, unique=True)
    items = models.JSONField(default=list)  # posts in the api-contract shape
    account = models.ForeignKey(ConnectedAccount, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey("scrm.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="inbound_batch_status_idx")]

    def __str__(self) -> str:
        return f"{self.source} batch {self.id} ({self.status})"
