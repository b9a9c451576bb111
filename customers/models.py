"""The unified customer record: one golden Customer per person, and what hangs off it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Network(models.TextChoices):
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    LINKEDIN = "linkedin", "LinkedIn"
    YOUTUBE = "youtube", "YouTube"
    TIKTOK = "tiktok", "TikTok"
    FOURSQUARE = "foursquare", "Foursquare"


class Customer(models.Model):
    """The golden record. A merged customer stays as a tombstone (`merged_into`)."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    locale = models.CharField(_("locale"), max_length=10, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    # Consent, each with the moment it was given (None: not given or withdrawn).
    consent_marketing_email = models.BooleanField(_("marketing e-mails"), default=False)
    consent_marketing_email_at = models.DateTimeField(null=True, blank=True)
    consent_social_autopost = models.BooleanField(_("automatic social posts"), default=False)
    consent_social_autopost_at = models.DateTimeField(null=True, blank=True)
    consent_data_processing = models.BooleanField(_("data processing"), default=False)
    consent_data_processing_at = models.DateTimeField(null=True, blank=True)
    # Extra attributes brought by imports (columns we do not model).
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    # Written by the score computation (influence app); empty until computed.
    segment = models.CharField(_("segment"), max_length=20, blank=True, db_index=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        verbose_name=_("merged into"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("export_customer", "Can export customer lists"),
            ("merge_customer", "Can merge customers and undo merges"),
        ]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="customer_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="customer_not_merged_into_self"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_tombstone(self) -> bool:
        return self.merged_into_id is not None


class ExternalId(models.Model):
    """The customer's id in another system (e-commerce, POS, old CRM), unique per source."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(_("source"), max_length=50)
    value = models.CharField(_("id"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["source", "value"]
        constraints = [
            models.UniqueConstraint(fields=["source", "value"], name="external_id_source_value_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}"


class ContactPoint(models.Model):
    """An e-mail (lower-cased), a phone (E.164) or a postal address (structured in `details`)."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("e-mail")
        PHONE = "phone", _("phone")
        POSTAL = "postal", _("postal address")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=320, help_text=_("Normalised."))
    raw = models.CharField(_("as given"), max_length=320, blank=True)
    details = models.JSONField(default=dict, blank=True)
    verified = models.BooleanField(_("verified"), default=False)
    is_primary = models.BooleanField(_("primary"), default=False)
    source = models.CharField(_("source"), max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "value"], name="contact_point_unique_per_customer"
            ),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="contact_point_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"


class SocialIdentity(models.Model):
    """An account on a social network, linked to a customer once we know whose it is.

    A handle declared by a customer (CRM import, API) exists before ingestion has seen the
    account, so `external_id` may be empty until then; when known it is unique per network.
    """

    class LinkMethod(models.TextChoices):
        DECLARED = "declared", _("declared by the customer or a partner")
        MANUAL = "manual", _("linked by hand")
        LOGIN = "login", _("verified by signing in")
        AUTOMATIC = "automatic", _("matched automatically")

    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    external_id = models.CharField(_("network user id"), max_length=100, null=True, blank=True)
    handle = models.CharField(_("handle"), max_length=100, blank=True)
    handle_normalized = models.CharField(max_length=100, blank=True, db_index=True)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    profile_url = models.URLField(_("profile"), max_length=500, blank=True)
    followers_count = models.PositiveIntegerField(_("followers"), null=True, blank=True)
    profile = models.JSONField(default=dict, blank=True)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="social_identities",
    )
    link_method = models.CharField(max_length=20, choices=LinkMethod.choices, blank=True)
    link_confidence = models.FloatField(null=True, blank=True)
    link_evidence = models.JSONField(default=dict, blank=True, help_text="why it was linked")
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["network", "handle_normalized"]
        verbose_name = _("social identity")
        verbose_name_plural = _("social identities")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "external_id"],
                condition=Q(external_id__isnull=False),
                name="social_identity_network_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(link_confidence__isnull=True) | Q(link_confidence__gte=0, link_confidence__lte=1),
                name="social_identity_confidence_range",
            ),
        ]
        indexes = [models.Index(fields=["network", "handle_normalized"], name="social_identity_handle_idx")]

    def __str__(self) -> str:
        return f"{self.get_network_display()} @{self.handle or self.external_id}"


class Purchase(models.Model):
    """A purchase from any sales channel. Feeds CLV and loyalty."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="purchases")
    source = models.CharField(_("source"), max_length=50, default="api")
    external_id = models.CharField(_("order id"), max_length=200)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    margin = models.DecimalField(_("margin"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    purchased_at = models.DateTimeField(_("date"), db_index=True)
    channel = models.CharField(_("channel"), max_length=30, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-purchased_at", "-id"]
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="purchase_source_id_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="purchase_amount_not_negative"),
        ]
        indexes = [models.Index(fields=["customer", "-purchased_at"], name="purchase_customer_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id} {self.amount} {self.currency}"


class MergeEvent(models.Model):
    """One merge of `other` into `survivor`, with a snapshot of everything it changed so
    that undo can restore the exact previous state. Nothing is deleted by a merge."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_won")
    other = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    merged_at = models.DateTimeField(default=timezone.now, db_index=True)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_by_label = models.CharField(max_length=150)
    reason = models.CharField(max_length=200, blank=True)
    snapshot = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by_label = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=models.F("other")), name="merge_not_into_self"),
        ]

    def __str__(self) -> str:
        return f"#{self.other_id} -> #{self.survivor_id} ({self.merged_at:%Y-%m-%d})"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class MatchCandidate(models.Model):
    """A pair of customers that may be one person, scored and waiting for (or holding) a
    person's decision. A "not the same person" decision is kept so the pair never comes back."""

    class Status(models.TextChoices):
        PENDING = "pending", _("to review")
        MERGED = "merged", _("merged")
        REJECTED = "rejected", _("not the same person")
        SKIPPED = "skipped", _("skipped")

    # Stored with left.id < right.id, so a pair exists once.
    left = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField()
    weight = models.FloatField(help_text="match weight in bits")
    explanation = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    scored_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_label = models.CharField(max_length=150, blank=True)
    merge = models.ForeignKey(MergeEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-probability", "id"]
        verbose_name = _("match candidate")
        verbose_name_plural = _("match candidates")
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="match_candidate_pair_unique"),
            models.CheckConstraint(condition=Q(left__lt=models.F("right")), name="match_candidate_ordered"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1), name="match_candidate_probability_range"
            ),
        ]
        indexes = [models.Index(fields=["status", "-probability"], name="match_candidate_queue_idx")]

    def __str__(self) -> str:
        return f"#{self.left_id} ~ #{self.right_id} ({self.probability:.3f}, {self.status})"


class ResolutionRequest(models.Model):
    """A customer brought or changed by a partner or an import, waiting for the next
    resolution run (one row per customer however often it changes)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"resolve #{self.customer_id}"
