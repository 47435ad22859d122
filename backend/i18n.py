"""Page language: zh-CN by default, English from Accept-Language or the `lang` cookie.

Chinese is the source language of the templates and of the messages made in Python (the
msgids are Chinese); English comes from `pwa/locale/en/LC_MESSAGES/messages.po`, compiled
in memory at startup so a fresh clone needs nothing but `pip install`.

Messages made in Python stay Chinese where they are made (the API, the SMS texts and the
logs speak Chinese); they are marked with :func:`N_` for extraction and translated when a
page shows them (the ``translate`` template filter). A marked message with parameters,
``N_("验证码错误，还可尝试 %(left)s 次。") % {"left": left}``, is recognised after
formatting too: the filled-in Chinese text is matched against the msgid's pattern.
"""

from __future__ import annotations

import gettext as _gettext
import io
import logging
import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "COOKIE",
    "DEFAULT",
    "LANGUAGES",
    "N_",
    "LocaleMiddleware",
    "current",
    "gettext",
    "load_catalogues",
    "negotiate",
    "ngettext",
    "role_label",
    "translate",
    "use",
]

DEFAULT = "zh-CN"
LANGUAGES = ("zh-CN", "en")
COOKIE = "lang"
# catalogue directory per language; the source language has none
_CATALOGUE = {"en": "en"}

_lang: ContextVar[str] = ContextVar("signlink_lang", default=DEFAULT)
_translations: dict[str, _gettext.NullTranslations] = {}
# per language: the msgids with %(name)s parameters, as patterns of their filled-in text
_patterns: dict[str, tuple[tuple[str, re.Pattern[str], str], ...]] = {}
_SOURCE = _gettext.NullTranslations()
_PARAMETER = re.compile(r"%\((\w+)\)[sd]")
_HAN = re.compile(r"[\u3400-\u9fff]")


def N_(message: str) -> str:
    """Mark a Chinese message for extraction (N_ is the name Babel looks for); pages
    translate it when they show it."""
    return message


def _supported(tag: str) -> str | None:
    primary = tag.strip().lower().split("-")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The cookie if it names a supported language, else the best Accept-Language match."""
    if cookie in LANGUAGES:
        return cookie
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        found = _supported(tag)
        if found and q > 0:
            ranked.append((-q, i, found))
    return min(ranked)[2] if ranked else DEFAULT


def load_catalogues(locale_dir: Path) -> None:
    """Compile each language's messages.po into an in-memory catalogue."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:  # pages stay in Chinese rather than the server not starting
        logging.getLogger("signlink.i18n").warning("Babel is not installed: English is off")
        return
    for lang, folder in _CATALOGUE.items():
        po = locale_dir / folder / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            catalog = read_po(f, locale=folder)
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        _translations[lang] = _gettext.GNUTranslations(buf)
        _patterns[lang] = tuple(
            _pattern(m.id)
            for m in catalog
            if isinstance(m.id, str) and m.string and _PARAMETER.search(m.id)
        )


def _pattern(msgid: str) -> tuple[str, re.Pattern[str], str]:
    """The msgid's longest fixed part (a cheap first test), its pattern, the msgid."""
    parts, fixed, last = [], [], 0
    for found in _PARAMETER.finditer(msgid):
        fixed.append(msgid[last : found.start()])
        parts.append(re.escape(fixed[-1]))
        parts.append(f"(?P<{found.group(1)}>.+?)")
        last = found.end()
    fixed.append(msgid[last:])
    parts.append(re.escape(fixed[-1]))
    return max(fixed, key=len), re.compile("".join(parts), re.S), msgid


def current() -> str:
    """The language of the request being handled."""
    return _lang.get()


def use(cookie: str | None, accept_language: str | None) -> str:
    """Set the language for the rest of this request (for responses made outside the
    middleware, such as the 404 of an unknown path) and return it."""
    lang = negotiate(cookie, accept_language)
    _lang.set(lang)
    return lang


def _catalogue() -> _gettext.NullTranslations:
    # one translations object per language, built once at startup: this runs for every
    # string of every page
    return _translations.get(_lang.get(), _SOURCE)


def gettext(message: str) -> str:
    return _catalogue().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogue().ngettext(singular, plural, n)


def translate(message: object) -> str:
    """A message made in Python (marked with :func:`N_`), in the page's language.

    Unknown text (data such as names, or a message already in English) comes back as it is,
    and so does markup (already translated by the template). An error (``AppError``,
    ``FieldProblem``) is looked up by its exact Chinese message, else it gives its own
    ``message_en``; only text without an English of its own is matched against the
    parameterised msgids.
    """
    if hasattr(message, "__html__"):
        return message  # type: ignore[return-value]
    english = getattr(message, "message_en", None)
    text = "" if message is None else str(getattr(message, "message", message))
    lang = _lang.get()
    catalogue = _translations.get(lang)
    if catalogue is None or not _HAN.search(text):
        return text
    if isinstance(english, str) and english:
        # An error carries its author's English for exactly this text: better than a
        # catalogue pattern that happens to match it ("请填写车辆总价款（元）" is not
        # "%(name)s（%(role)s）" filled in).
        exact = catalogue.gettext(text)
        return exact if exact != text else english
    found = _lookup(catalogue, _patterns.get(lang, ()), text)
    return text if found is None else found


def _lookup(
    catalogue: _gettext.NullTranslations,
    patterns: tuple[tuple[str, re.Pattern[str], str], ...],
    text: str,
) -> str | None:
    found = catalogue.gettext(text)
    if found != text:
        return found
    for fixed, pattern, msgid in patterns:
        match = pattern.fullmatch(text) if fixed in text else None
        if match:
            values = {k: catalogue.gettext(v) for k, v in match.groupdict().items()}
            try:
                return catalogue.gettext(msgid) % values
            except (KeyError, TypeError, ValueError):  # a broken catalogue entry
                return None
    return None


class LocaleMiddleware:
    """Sets the request's language for templates and error pages; HTML varies with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        token = _lang.set(
            negotiate(
                _cookie(headers.get(b"cookie", b"").decode("latin-1")),
                headers.get(b"accept-language", b"").decode("latin-1"),
            )
        )

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in raw):
                    message["headers"] = [*raw, (b"vary", b"Accept-Language, Cookie")]
            await send(message)

        try:
            await self.app(scope, receive, send_with_vary)
        finally:
            _lang.reset(token)


def role_label(signer: Any, envelope: Any) -> str:
    """A signer's role in the page's language ("买方" / "Buyer")."""
    if _lang.get() == "en":
        from backend.documents.catalog import get_template

        template = get_template(_field(envelope, "template"))
        role = template.role(_field(signer, "role")) if template else None
        if role is not None:
            return role.label_en
    return _field(signer, "role_label")


def _field(row: Any, name: str) -> str:
    """An attribute of a table row, or a key of a selected row (a dict)."""
    value = row.get(name) if isinstance(row, dict) else getattr(row, name, None)
    return str(value or "")


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == COOKIE:
            return value.strip('"')
    return None
