from django.apps import AppConfig


class InfluenceConfig(AppConfig):
    name = "influence"
