"""A text field encrypted at rest with FIELD_ENCRYPTION_KEY (Fernet, from `cryptography`)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _fernet() -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    keys = [k.strip() for k in str(settings.FIELD_ENCRYPTION_KEY).split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is not a valid Fernet key.") from exc


def encrypt_text(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_text(value: str) -> str:
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY.") from exc


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code only ever sees the plain text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        # An empty value stays "" (not None): saving the row again must not write NULL.
        return value if value is None or value == "" else decrypt_text(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value if value in (None, "") else encrypt_text(str(value))
