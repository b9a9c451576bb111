"""SLA targets from the settings (SOCIAL_SLA_TARGETS) and a few canned replies to start with."""

from django.conf import settings
from django.db import migrations

CANNED = [
    ("Sorry, we are on it", "en",
     "Hi {first_name}, we're sorry about this. Could you send us your order number in a direct "
     "message? We'll sort it out. {agent}"),
    ("Thanks for the kind words", "en", "Thank you {first_name}, that means a lot to the team!"),
    ("Désolés, on s'en occupe", "fr",
     "Bonjour {first_name}, nous sommes désolés. Pouvez-vous nous envoyer votre numéro de commande "
     "en message privé ? Nous nous en occupons. {agent}"),
    ("Merci pour votre message", "fr", "Merci {first_name}, toute l'équipe est ravie !"),
]


def create(apps, schema_editor):
    SlaTarget = apps.get_model("social", "SlaTarget")
    for band, (first_response, resolution) in settings.SOCIAL_SLA_TARGETS.items():
        SlaTarget.objects.get_or_create(
            band=band, defaults={"first_response_minutes": first_response, "resolution_minutes": resolution}
        )
    CannedReply = apps.get_model("social", "CannedReply")
    for title, language, body in CANNED:
        CannedReply.objects.get_or_create(title=title, defaults={"language": language, "body": body})


def remove(apps, schema_editor):
    apps.get_model("social", "SlaTarget").objects.all().delete()
    apps.get_model("social", "CannedReply").objects.filter(title__in=[c[0] for c in CANNED]).delete()


class Migration(migrations.Migration):
    dependencies = [("social", "0005_inbox")]

    operations = [migrations.RunPython(create, remove)]
