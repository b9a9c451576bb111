"""Survey and score API shapes: input and output serializers kept apart."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers

from customers.models import Customer

from ..models import SurveyKind, SurveyResponse


class SurveyResponseInputSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, allow_null=True, help_text="Customer id"
    )
    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    score = serializers.IntegerField(help_text="NPS: 0-10; CSAT: 1-5")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    channel = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    campaign = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    answered_at = serializers.DateTimeField(required=False, help_text="Defaults to now")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = (0, 10) if attrs["kind"] == SurveyKind.NPS else (1, 5)
        if not low <= attrs["score"] <= high:
            raise serializers.ValidationError(
                {"score": [gettext("Choose a score from %(low)d to %(high)d.") % {"low": low, "high": high}]}
            )
        return attrs


class SurveyResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "customer",
            "kind",
            "score",
            "comment",
            "channel",
            "campaign",
            "answered_at",
            "source",
        ]
        read_only_fields = fields


class ScoreQuerySerializer(serializers.Serializer):
    since = serializers.DateTimeField(required=False, help_text="Answers from (ISO 8601, included)")
    until = serializers.DateTimeField(required=False, help_text="Answers until (ISO 8601, excluded)")
    segment = serializers.CharField(required=False, allow_blank=True, help_text="Customer segment")
    channel = serializers.CharField(required=False, allow_blank=True)
    all = serializers.BooleanField(
        required=False, default=False, help_text="Count every answer, not only each customer's latest"
    )


class CsatQuerySerializer(ScoreQuerySerializer):
    all = serializers.BooleanField(
        required=False, default=True, help_text="false: count only each customer's latest answer"
    )


class NpsSerializer(serializers.Serializer):
    nps = serializers.FloatField(allow_null=True, help_text="-100 to 100; null without answers")
    n = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    se = serializers.FloatField(allow_null=True, help_text="Standard error, in NPS points")
    ci_low = serializers.FloatField(allow_null=True, help_text="95 % interval, clipped to [-100, 100]")
    ci_high = serializers.FloatField(allow_null=True)
    indicative = serializers.BooleanField(help_text="Fewer than 30 answers: show as indicative")


class CsatSerializer(serializers.Serializer):
    csat = serializers.FloatField(allow_null=True, help_text="Share of 4-5 answers, in %")
    n = serializers.IntegerField()
    satisfied = serializers.IntegerField()
    indicative = serializers.BooleanField()


class NpsCompareQuerySerializer(serializers.Serializer):
    """`a_*` filters make the first side, `b_*` the second; `all` applies to both."""

    a_since = serializers.DateTimeField(required=False, help_text="Side A: answers from (ISO 8601, included)")
    a_until = serializers.DateTimeField(
        required=False, help_text="Side A: answers until (ISO 8601, excluded)"
    )
    a_segment = serializers.CharField(required=False, allow_blank=True, help_text="Side A: customer segment")
    a_channel = serializers.CharField(required=False, allow_blank=True, help_text="Side A: survey channel")
    a_campaign = serializers.CharField(required=False, allow_blank=True, help_text="Side A: campaign")
    b_since = serializers.DateTimeField(required=False, help_text="Side B: answers from (ISO 8601, included)")
    b_until = serializers.DateTimeField(
        required=False, help_text="Side B: answers until (ISO 8601, excluded)"
    )
    b_segment = serializers.CharField(required=False, allow_blank=True, help_text="Side B: customer segment")
    b_channel = serializers.CharField(required=False, allow_blank=True, help_text="Side B: survey channel")
    b_campaign = serializers.CharField(required=False, allow_blank=True, help_text="Side B: campaign")
    all = serializers.BooleanField(
        required=False, default=False, help_text="Count every answer, not only each customer's latest"
    )

    def side(self, prefix: str) -> dict[str, Any]:
        data = self.validated_data
        return {
            "since": data.get(f"{prefix}_since"),
            "until": data.get(f"{prefix}_until"),
            "segment": data.get(f"{prefix}_segment", ""),
            "channel": data.get(f"{prefix}_channel", ""),
            "campaign": data.get(f"{prefix}_campaign", ""),
            "all_answers": data.get("all", False),
        }


class NpsComparisonSerializer(serializers.Serializer):
    a = NpsSerializer()
    b = NpsSerializer()
    difference = serializers.FloatField(
        allow_null=True, help_text="NPS of A minus NPS of B; null without answers"
    )
    z = serializers.FloatField(
        allow_null=True,
        help_text="|difference| / sqrt(SE_A^2 + SE_B^2); null when a side has no answer or both SE are 0",
    )
    significant = serializers.BooleanField(help_text="z > 1.96: the two differ at 95 %")
