"""Customer API shapes. Input and output serializers are separate (conventions.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..inputs import (
    CONSENT_PURPOSES,
    AddressInput,
    ContactInput,
    CustomerData,
    SocialInput,
)
from ..models import ContactPoint, Customer, Network

# --- input ---------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "value": {"type": "string"},
                    "verified": {"type": "boolean", "default": True},
                    "primary": {"type": "boolean", "default": False},
                },
                "required": ["value"],
            },
        ]
    }
)
class ContactEntryField(serializers.Field):
    """An e-mail or phone: a plain string, or `{"value", "verified", "primary"}`.

    Contact data sent by a partner is taken as verified by that partner unless it says
    `"verified": false`; only verified contact data is used to match customers.
    """

    def to_internal_value(self, data: Any) -> ContactInput:
        if isinstance(data, str):
            if not data.strip():
                raise serializers.ValidationError("May not be blank.")
            return ContactInput(value=data)
        if isinstance(data, dict) and isinstance(data.get("value"), str) and data["value"].strip():
            return ContactInput(
                value=data["value"],
                verified=bool(data.get("verified", True)),
                primary=bool(data.get("primary", False)),
            )
        raise serializers.ValidationError('Give a string or {"value": "...", "verified": true}.')

    def to_representation(self, value: Any) -> Any:
        return value


class SocialInputSerializer(serializers.Serializer):
    network = serializers.ChoiceField(choices=Network.choices)
    handle = serializers.CharField(max_length=100)
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True)


class AddressInputSerializer(serializers.Serializer):
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    country = serializers.CharField(max_length=60, required=False, allow_blank=True)


class CustomerInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    emails = serializers.ListField(child=ContactEntryField(), required=False, max_length=20)
    phones = serializers.ListField(child=ContactEntryField(), required=False, max_length=20)
    addresses = AddressInputSerializer(many=True, required=False)
    external_ids = serializers.DictField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text='{"source": "id"}, e.g. {"shopify": "8812"}',
    )
    social = SocialInputSerializer(many=True, required=False)
    locale = serializers.CharField(max_length=10, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    consent = serializers.DictField(
        child=serializers.BooleanField(),
        required=False,
        help_text=f"Keys among: {', '.join(CONSENT_PURPOSES)}.",
    )
    attributes = serializers.DictField(required=False)

    def validate_consent(self, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(CONSENT_PURPOSES))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown consent {', '.join(unknown)}. Known: {', '.join(CONSENT_PURPOSES)}."
            )
        return value

    def to_data(self, *, source: str) -> CustomerData:
        v = self.validated_data
        return CustomerData(
            first_name=v.get("first_name"),
            last_name=v.get("last_name"),
            locale=v.get("locale"),
            date_of_birth=v.get("date_of_birth"),
            emails=list(v.get("emails", [])),
            phones=list(v.get("phones", [])),
            addresses=[AddressInput(**a) for a in v.get("addresses", [])],
            external_ids={str(k): str(x) for k, x in v.get("external_ids", {}).items()},
            social=[SocialInput(**s) for s in v.get("social", [])],
            consent=dict(v.get("consent", {})),
            attributes=dict(v.get("attributes", {})),
            source=source,
        )


# --- output --------------------------------------------------------------------------


class ContactPointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    value = serializers.CharField()
    raw = serializers.CharField()
    verified = serializers.BooleanField()
    primary = serializers.BooleanField(source="is_primary")
    source = serializers.CharField()  # type: ignore[assignment]
    details = serializers.DictField()


class SocialIdentitySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    network = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    handle = serializers.CharField()
    display_name = serializers.CharField()
    followers = serializers.IntegerField(source="followers_count", allow_null=True)
    profile_url = serializers.CharField()
    link_method = serializers.CharField()
    link_confidence = serializers.FloatField(allow_null=True)
    linked_at = serializers.DateTimeField(allow_null=True)


class ConsentSerializer(serializers.Serializer):
    marketing_email = serializers.BooleanField(source="consent_marketing_email")
    marketing_email_at = serializers.DateTimeField(source="consent_marketing_email_at", allow_null=True)
    social_autopost = serializers.BooleanField(source="consent_social_autopost")
    social_autopost_at = serializers.DateTimeField(source="consent_social_autopost_at", allow_null=True)
    data_processing = serializers.BooleanField(source="consent_data_processing")
    data_processing_at = serializers.DateTimeField(source="consent_data_processing_at", allow_null=True)


def _points(customer: Customer, kind: str) -> list[str]:
    return [p.value for p in customer.contact_points.all() if p.kind == kind]


class CustomerListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    locale = serializers.CharField()
    segment = serializers.CharField()
    emails = serializers.SerializerMethodField()
    phones = serializers.SerializerMethodField()
    social = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_emails(self, customer: Customer) -> list[str]:
        return _points(customer, ContactPoint.Kind.EMAIL)

    def get_phones(self, customer: Customer) -> list[str]:
        return _points(customer, ContactPoint.Kind.PHONE)

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"network": {"type": "string"}, "handle": {"type": "string"}},
            },
        }
    )
    def get_social(self, customer: Customer) -> list[dict[str, str]]:
        return [{"network": i.network, "handle": i.handle} for i in customer.social_identities.all()]


class PurchaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()  # type: ignore[assignment]
    external_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    margin = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    purchased_at = serializers.DateTimeField()
    channel = serializers.CharField()


class PurchaseSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    margin = serializers.DecimalField(max_digits=14, decimal_places=2)
    last_at = serializers.DateTimeField(allow_null=True)


class Customer360Serializer(serializers.Serializer):
    """The 360 view, built from a `customers.selectors.Customer360`."""

    id = serializers.IntegerField(source="customer.id")
    first_name = serializers.CharField(source="customer.first_name")
    last_name = serializers.CharField(source="customer.last_name")
    locale = serializers.CharField(source="customer.locale")
    date_of_birth = serializers.DateField(source="customer.date_of_birth", allow_null=True)
    segment = serializers.CharField(source="customer.segment")
    consent = ConsentSerializer(source="customer")
    attributes = serializers.DictField(source="customer.attributes")
    external_ids = serializers.SerializerMethodField()
    contact_points = ContactPointSerializer(many=True)
    social_identities = SocialIdentitySerializer(many=True, source="identities")
    purchases = PurchaseSummarySerializer()
    recent_purchases = PurchaseSerializer(many=True)
    recent_posts = serializers.SerializerMethodField()
    cases = serializers.SerializerMethodField()
    loyalty = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()
    referrals = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="customer.created_at")
    updated_at = serializers.DateTimeField(source="customer.updated_at")

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_external_ids(self, view: Any) -> dict[str, str]:
        return {e.source: e.value for e in view.external_ids}

    def _section(self, view: Any, key: str) -> Any:
        return next((data for section, data in view.sections if section.key == key), None)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_recent_posts(self, view: Any) -> Any:
        return self._section(view, "recent_posts") or []

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_cases(self, view: Any) -> Any:
        return self._section(view, "cases") or []

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_loyalty(self, view: Any) -> Any:
        return self._section(view, "loyalty")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_scores(self, view: Any) -> Any:
        return self._section(view, "scores")

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_referrals(self, view: Any) -> Any:
        """Codes and links, referrals made, who referred the customer (influence app)."""
        return self._section(view, "referrals")


class UpsertResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.BooleanField()


class MergedCustomerSerializer(serializers.Serializer):
    detail = serializers.CharField()
    survivor = serializers.IntegerField()


class MergeInputSerializer(serializers.Serializer):
    other = serializers.IntegerField(help_text="Id of the customer merged into this one.")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class MergeResultSerializer(serializers.Serializer):
    merge_id = serializers.IntegerField()
    survivor = serializers.IntegerField()
    other = serializers.IntegerField()
    moved = serializers.DictField(child=serializers.IntegerField(), help_text="rows moved per reference")


class UndoResultSerializer(serializers.Serializer):
    merge_id = serializers.IntegerField()
    survivor = serializers.IntegerField()
    restored = serializers.IntegerField(help_text="id of the customer restored")
    rows_restored = serializers.DictField(child=serializers.IntegerField())
    new_rows_kept = serializers.ListField(
        child=serializers.DictField(), help_text="rows added to the survivor since the merge; they stay"
    )


class ExplanationTermSerializer(serializers.Serializer):
    field = serializers.CharField()
    level = serializers.CharField()
    weight = serializers.FloatField(help_text="bits; positive pushes towards a match")
    frequency = serializers.FloatField(
        required=False,
        help_text="only on a weight adjusted for frequency (an exact first or last name): "
        "the share of customers holding the shared value",
    )
    adjustment = serializers.FloatField(
        required=False,
        help_text="only with frequency: bits the adjustment added to the weight (negative: a common value)",
    )


class ExplanationSerializer(serializers.Serializer):
    total = serializers.FloatField(help_text="match weight in bits: the sum of the terms")
    probability = serializers.FloatField()
    terms = ExplanationTermSerializer(many=True)


class MatchCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    left = serializers.IntegerField(source="left_id")
    right = serializers.IntegerField(source="right_id")
    probability = serializers.FloatField()
    weight = serializers.FloatField()
    status = serializers.CharField()
    explanation = ExplanationSerializer()
    scored_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    merge_id = serializers.IntegerField(allow_null=True)


class DecisionInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["merge", "reject", "skip"])
