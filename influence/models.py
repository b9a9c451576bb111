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
