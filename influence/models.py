"""Survey invitations and answers (NPS 0-10, CSAT 1-5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

NPS_RANGE = (0, 10)
CSAT_RANGE = (1, 5)


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")


def score_range(kind: str) -> tuple[int, int]:
    return NPS_RANGE if kind == SurveyKind.NPS else CSAT_RANGE


class SurveyInvitation(models.Model):
    """A link sent to a customer (often after a case is resolved); answered at most once."""

    token = models.CharField(max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey(
        "social.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        indexes = [models.Index(fields=["case"], name="survey_invitation_case_idx")]

    def __str__(self) -> str:
        return f"{self.kind} invitation {self.pk}"


class SurveyResponse(models.Model):
    """One answer to an NPS or CSAT question."""

    class Source(models.TextChoices):
        API = "api", _("partner API")
        PAGE = "page", _("survey page")
        FILE = "file", _("file import")

    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_responses",
    )
    kind = models.CharField(_("kind"), max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    channel = models.CharField(_("channel"), max_length=50, blank=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)
    invitation = models.OneToOneField(
        SurveyInvitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    case = models.ForeignKey(
        "social.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=4, choices=Source.choices, default=Source.API)
    # Imported answers only: a digest of the row as written (influence.surveys_import), so
    # importing the same file again adds nothing, whatever merges happened in between.
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        permissions = [("view_service_metrics", _("Can see the service metrics"))]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="nps", score__gte=0, score__lte=10) | Q(kind="csat", score__gte=1, score__lte=5)
                ),
                name="survey_response_score_range",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "answered_at"], name="survey_response_kind_idx"),
            models.Index(fields=["customer", "kind", "answered_at"], name="survey_response_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"


# --- scores -------------------------------------------------------------------------------


class Segment(models.TextChoices):
    """Kumar, Petersen & Leone's four segments on CLV x CRV (docs/metrics.md)."""

    CHAMPIONS = "champions", _("Champions")
    AFFLUENTS = "affluents", _("Affluents")
    ADVOCATES = "advocates", _("Advocates")
    MISERS = "misers", _("Misers")


class ScoreRun(models.Model):
    """One recompute of every score: its progress while it runs, then the parameters it
    used (fitted model, thresholds, weights) so every snapshot it wrote can be explained."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    as_of = models.DateField(_("scores as of"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(_("started by"), max_length=100, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    step = models.CharField(_("step"), max_length=40, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    identities = models.PositiveIntegerField(_("identities"), default=0)
    edges = models.PositiveIntegerField(_("edges"), default=0)
    params = models.JSONField(default=dict, blank=True)  # weights, thresholds, fitted parameters
    summary = models.JSONField(default=dict, blank=True)  # segment counts, timings per step
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("score run")
        verbose_name_plural = _("score runs")
        permissions = [("recompute_scores", _("Can recompute the scores"))]
        indexes = [models.Index(fields=["status", "-as_of"], name="score_run_status_idx")]

    def __str__(self) -> str:
        return f"score run {self.pk} ({self.as_of}, {self.status})"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class ScoreSnapshot(models.Model):
    """A customer's scores on one date. The web and the API read these, never recompute.

    Not re-pointed by a merge (one snapshot per customer and date): a merged record keeps
    its history, the survivor gets fresh scores at the next run."""

    run = models.ForeignKey(ScoreRun, on_delete=models.CASCADE, related_name="snapshots")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="score_snapshots"
    )
    as_of = models.DateField(_("as of"))
    influence = models.FloatField(_("influence"), null=True, blank=True)  # 0-100, None without identity
    influence_components = models.JSONField(default=dict, blank=True)
    clv = models.DecimalField(_("CLV"), max_digits=14, decimal_places=2, null=True, blank=True)
    clv_basis = models.CharField(max_length=10, blank=True)  # "model" | "cohort"
    expected_purchases = models.FloatField(null=True, blank=True)
    crv = models.DecimalField(_("CRV"), max_digits=14, decimal_places=2, null=True, blank=True)
    crv_realised = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    crv_expected = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    referrals = models.PositiveIntegerField(default=0)
    referrals_converted = models.PositiveIntegerField(default=0)
    segment = models.CharField(_("segment"), max_length=12, choices=Segment.choices, blank=True)
    sentiment_index = models.FloatField(_("sentiment index (inferred)"), null=True, blank=True)
    sentiment_positive = models.PositiveIntegerField(default=0)
    sentiment_negative = models.PositiveIntegerField(default=0)
    sentiment_posts = models.PositiveIntegerField(default=0)
    nps_category = models.CharField(_("NPS category"), max_length=10, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("score snapshot")
        verbose_name_plural = _("score snapshots")
        constraints = [
            models.UniqueConstraint(fields=["customer", "as_of"], name="score_snapshot_customer_day_unique"),
            models.CheckConstraint(
                condition=Q(influence__isnull=True) | Q(influence__gte=0, influence__lte=100),
                name="score_snapshot_influence_range",
            ),
        ]
        indexes = [
            models.Index(fields=["run", "segment"], name="score_snapshot_run_segment_idx"),
            models.Index(fields=["run", "-influence"], name="score_snapshot_run_infl_idx"),
            models.Index(fields=["run", "-crv"], name="score_snapshot_run_crv_idx"),
            models.Index(fields=["customer", "-as_of"], name="score_snapshot_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"scores of {self.customer_id} on {self.as_of}"


# --- referrals ----------------------------------------------------------------------------


class ReferralCode(models.Model):
    """A code (and the link built on it) a customer hands to friends; one per campaign."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="referral_codes"
    )
    code = models.CharField(_("code"), max_length=32, unique=True)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    clicks = models.PositiveIntegerField(_("link clicks"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self) -> str:
        return self.code


class Referral(models.Model):
    """Referrer -> referred customer. Converted at the referred customer's first purchase
    after the referral. Type 1: would not have come otherwise (worth their CLV); type 2:
    would have come anyway (worth the acquisition cost saved) - docs/metrics.md."""

    class Type(models.TextChoices):
        TYPE1 = "1", _("type 1: would not have come otherwise")
        TYPE2 = "2", _("type 2: would have come anyway")

    class Channel(models.TextChoices):
        CODE = "code", _("code")
        LINK = "link", _("link")
        DECLARED = "declared", _("declared")
        API = "api", _("partner API")

    referrer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="referrals_made",
        verbose_name=_("referrer"),
    )
    referred = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        related_name="referrals_received",
        verbose_name=_("referred"),
    )
    code = models.ForeignKey(
        ReferralCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.DECLARED)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    referred_at = models.DateTimeField(_("referred"), default=timezone.now)
    type = models.CharField(_("type"), max_length=1, choices=Type.choices)
    type_inferred = models.BooleanField(default=False, help_text="type decided by the product, not given")
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    conversion_purchase = models.ForeignKey(
        "customers.Purchase", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reward_amount = models.DecimalField(_("reward"), max_digits=12, decimal_places=2, default=0)
    reward_paid_at = models.DateTimeField(_("reward paid"), null=True, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        constraints = [
            models.UniqueConstraint(fields=["referrer", "referred"], name="referral_pair_unique"),
            models.CheckConstraint(condition=~Q(referrer=models.F("referred")), name="referral_not_self"),
            models.CheckConstraint(condition=Q(reward_amount__gte=0), name="referral_reward_not_negative"),
        ]
        indexes = [
            models.Index(fields=["referred_at"], name="referral_referred_at_idx"),
            models.Index(fields=["referred"], name="referral_referred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referred_id}"


# --- return on investment and objectives --------------------------------------------------


class ProgrammeCost(models.Model):
    """What the social CRM programme cost in a month, by category, entered by marketing."""

    class Category(models.TextChoices):
        REWARDS = "rewards", _("rewards")
        AGENT_HOURS = "agent_hours", _("agent hours")
        SUBSCRIPTIONS = "subscriptions", _("subscriptions")
        CAMPAIGNS = "campaigns", _("campaigns")
        OTHER = "other", _("other")

    month = models.DateField(_("month"), help_text=_("First day of the month."))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("programme cost")
        verbose_name_plural = _("programme costs")
        ordering = ["-month", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "category"], name="programme_cost_month_category_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="programme_cost_not_negative"),
            models.CheckConstraint(condition=Q(month__day=1), name="programme_cost_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.category} {self.amount}"


class Objective(models.Model):
    """A target on one of the metrics we show (ROO): e.g. NPS +5 this quarter."""

    class Metric(models.TextChoices):
        NPS = "nps", _("NPS")
        NPS_CHANGE = "nps_change", _("NPS change vs the previous period")
        SENTIMENT_INDEX = "sentiment_index", _("sentiment index (inferred)")
        SHARE_OF_VOICE = "share_of_voice", _("share of voice %")
        FIRST_RESPONSE = "first_response_minutes", _("median first response (minutes)")
        RESPONSE_RATE = "response_rate", _("response rate %")
        RECOVERY_RATE = "recovery_rate", _("recovery rate %")
        REFERRALS_CONVERTED = "referrals_converted", _("converted referrals")
        CSAT = "csat", _("CSAT %")

    class Direction(models.TextChoices):
        AT_LEAST = "at_least", _("at least")
        AT_MOST = "at_most", _("at most")

    name = models.CharField(_("name"), max_length=150)
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    target = models.FloatField(_("target"))
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("objective")
        verbose_name_plural = _("objectives")
        ordering = ["-period_end", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="objective_period_order"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- dashboard rollups --------------------------------------------------------------------


class PostRollup(models.Model):
    """Posts per day counted by network, listening rule (so brand/competitor and campaign),
    language and the author's segment, with their sentiment split and engagement. Rebuilt
    by workers day by day (recent days every few minutes, every day nightly) so the
    marketing dashboard never scans the posts table in a request."""

    day = models.DateField()
    network = models.CharField(max_length=20)
    rule = models.ForeignKey(
        "social.ListeningRule", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    rule_kind = models.CharField(max_length=20, blank=True)  # brand | competitor | "" (matched no rule)
    campaign = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=8, blank=True)
    segment = models.CharField(max_length=12, blank=True)
    posts = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    neutral = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    engagement = models.BigIntegerField(default=0)  # likes + replies + reposts + quotes
    rebuilt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["day", "network"], name="post_rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.network} {self.rule_id}: {self.posts}"
