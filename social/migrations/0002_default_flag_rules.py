"""The flag rules a new installation starts with; marketing and admins tune them."""

from django.db import migrations

COMPLAINT_WORDS = [
    # English
    "refund", "broken", "broke", "stopped working", "not working", "doesn't work", "does not work",
    "still hasn't arrived", "never arrived", "terrible", "worst", "awful", "scam", "disappointed",
    "not acceptable", "unacceptable", "never again", "cancel", "complaint", "faulty", "useless",
    "customer service",
    # French
    "remboursement", "en panne", "cassé", "casse", "ne marche plus", "ne fonctionne plus",
    "toujours pas", "pas livré", "pas livrée", "nul", "arnaque", "déçu", "déçue", "inadmissible",
    "pas acceptable", "honteux", "réclamation", "service client",
]

DEFAULT_RULES = [
    {"name": "Negative sentiment", "kind": "negative", "threshold": -0.3, "keywords": []},
    {"name": "Complaint keywords", "kind": "keywords", "threshold": None, "keywords": COMPLAINT_WORDS},
    {"name": "Question to the brand", "kind": "question", "threshold": None, "keywords": []},
    {"name": "Influential author", "kind": "influence", "threshold": 10000, "keywords": []},
]


def create_rules(apps, schema_editor):
    FlagRule = apps.get_model("social", "FlagRule")
    for rule in DEFAULT_RULES:
        FlagRule.objects.get_or_create(name=rule["name"], defaults=rule)


def remove_rules(apps, schema_editor):
    FlagRule = apps.get_model("social", "FlagRule")
    FlagRule.objects.filter(name__in=[rule["name"] for rule in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("social", "0001_initial")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
