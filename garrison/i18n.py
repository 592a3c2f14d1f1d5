"""The project's gettext helper.

Every user-facing string is wrapped in ``_()`` (or ``ngettext`` for plurals) so a
Chinese catalogue can be dropped into ``garrison/locale/<lang>/LC_MESSAGES/garrison.mo``
without touching code. The language follows the usual ``LANGUAGE`` / ``LC_ALL`` /
``LC_MESSAGES`` / ``LANG`` environment variables.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "garrison"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Translate ``message`` into the user's language (identity when no catalogue)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count, choosing the plural form for ``n``."""
    return _translation.ngettext(singular, plural, n)


def language() -> str:
    """The catalogue's language, e.g. ``zh_CN``; ``en`` when messages are not translated."""
    info = _translation.info()
    return info.get("language", "en") if isinstance(_translation, gettext.GNUTranslations) \
        else "en"
