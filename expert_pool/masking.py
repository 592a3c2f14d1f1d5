"""Masks for contact details (standard library only: the quick match path uses them)."""

from __future__ import annotations

import re


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: ``13812345678`` -> ``138****5678``."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(email: str | None) -> str | None:
    """Keep the first character and the domain: ``zhang.san@example.org`` ->
    ``z***@example.org``."""
    if not email or "@" not in email:
        return email
    local, _at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
