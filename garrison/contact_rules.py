"""What counts as an e-mail address and as a phone number: one rule each.

Every input that takes contact details uses these -- the officers of an org file
(``garrison.org.schema``) and the experts of a roster (``expert_pool.roster_row``) --
so a number accepted in one is accepted in the other. Each caller words its own
message and stores the value in its own form; the rules only say yes or no, on the
text as a Chinese office types it: full-width characters (``１３８``, ``＠``) are read
as their ASCII forms (Unicode NFKC) and surrounding spaces are ignored.

- an e-mail address is ``local@domain.tld`` without spaces, at most 254 characters;
- a phone number is 7 to 20 digits, with an optional leading ``+`` and ``-``, ``.``,
  spaces and brackets between them (``0571-8765 4321``, ``(0577) 8888-1234``,
  ``+86 138 1234 5678``).

Standard library only.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["EMAIL_MAX", "email_address", "phone_number"]

EMAIL_MAX = 254
"""The longest address SMTP carries (RFC 5321)."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")
_PHONE_DIGITS = (7, 20)


def email_address(value: str) -> str | None:
    """``value`` (NFKC, trimmed) when it is an e-mail address, else ``None``."""
    text = unicodedata.normalize("NFKC", value).strip()
    if not _EMAIL.match(text) or len(text) > EMAIL_MAX:
        return None
    return text


def phone_number(value: str) -> str | None:
    """``value`` (NFKC, trimmed) when it is a phone number, else ``None``."""
    text = unicodedata.normalize("NFKC", value).strip()
    digits = sum(c.isdigit() for c in text)
    low, high = _PHONE_DIGITS
    if not _PHONE_CHARS.match(text) or not low <= digits <= high:
        return None
    return text
