"""Roles, API keys, settings safety, encryption at rest, health."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from scrm.models import ApiKey
from scrm.services import hash_secret

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_create_api_key_prints_the_key_once_and_stores_only_a_hash():
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_key",
        "--name",
        "shop",
        "--scopes",
        "customers:read,customers:write",
        stdout=out,
        stderr=err,
    )
    plain = out.getvalue().strip()
    api_key = ApiKey.objects.get()
    assert plain.startswith(f"scrm_{api_key.prefix}_")
    assert api_key.key_hash == hash_secret(plain)
    assert plain not in str(ApiKey.objects.values().get())
    assert api_key.scopes == ["customers:read", "customers:write"]


def test_create_api_key_with_an_unknown_scope_fails_with_one_line():
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--name", "x", "--scopes", "customers:everything")
    assert ApiKey.objects.count() == 0


def test_api_key_records_last_use(partner):
    client = partner("customers:read")
    assert ApiKey.objects.get().last_used_at is None
    client.get("/api/v1/customers/")
    assert ApiKey.objects.get().last_used_at is not None


def test_marketing_cannot_reach_admin_only_pages(client, marketer):
    client.force_login(marketer)
    assert client.get("/settings/api-keys/").status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin's own sign-in: not staff
    assert client.get("/customers/").status_code == 200


def test_admin_creates_and_revokes_a_key_in_the_page(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/settings/api-keys/", {"name": "erp", "scopes": ["customers:read"], "rate_per_minute": ""}
    )
    assert response.status_code == 200
    assert response.context["new_key"].startswith("scrm_")
    api_key = ApiKey.objects.get()
    client.post(f"/settings/api-keys/{api_key.pk}/revoke/")
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_api_key_page_shows_form_errors(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/settings/api-keys/", {"name": "", "scopes": []})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert ApiKey.objects.count() == 0


def test_anonymous_is_sent_to_login(client):
    response = client.get("/customers/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_signs_in(client, agent):
    from tests.conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": "agent", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    bad = client.post("/accounts/login/", {"username": "agent", "password": "wrong"})
    assert bad.status_code == 200 and bad.context["form"].errors


def test_navigation_follows_the_role(client, agent, admin_user):
    client.force_login(agent)
    labels = [str(i["label"]) for i in client.get("/").context["nav_items"]]
    assert "Customers" in labels and "API keys" not in labels and "Admin" not in labels
    client.force_login(admin_user)
    labels = [str(i["label"]) for i in client.get("/").context["nav_items"]]
    assert "API keys" in labels and "Admin" in labels


def test_health_reports_database_and_cache(client):
    body = client.get("/health/").json()
    assert body == {"status": "ok", "database": "ok", "cache": "ok"}


def test_encrypted_field_round_trip_and_rotation(settings):
    from scrm.fields import decrypt_text, encrypt_text

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    token = encrypt_text("page-access-token")
    assert "page-access-token" not in token
    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    assert decrypt_text(token) == "page-access-token"


def _run_prod(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG"}}
    env.update({"DJANGO_SETTINGS_MODULE": "scrm.settings.prod", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


GOOD_PROD = {
    "SECRET_KEY": "k" * 20 + "-Zq8pW3xR7tY1uI5oP9aS2dF6gH0jK4lL-" + "m" * 10,
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "crm.example.com",
}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-development-only-key-never-use-in-production"}, "SECRET_KEY"),
        ({"FIELD_ENCRYPTION_KEY": ""}, "FIELD_ENCRYPTION_KEY"),
        ({"DEBUG": "true"}, "DEBUG"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
    ],
)
def test_production_settings_refuse_development_defaults(override, message):
    result = _run_prod({**GOOD_PROD, **override}, "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _run_prod(GOOD_PROD, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
