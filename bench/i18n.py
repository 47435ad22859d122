"""`python -m bench.i18n`: the cost of page strings, against the per-call catalogue it replaced.

A page calls ``gettext`` for every string it shows. The baseline, measured in the same run,
is the earlier lookup that built a fresh ``NullTranslations`` on every call for zh-CN (the
default language); the current one keeps one translations object per language. Also timed:
``translate`` of Python-made messages (exact and parameterised) on an English page.
"""

from __future__ import annotations

import gettext as _gettext
import statistics
from pathlib import Path

from babel.messages.pofile import read_po
from jinja2 import Environment

from backend import i18n
from bench.timing import measure

PWA = Path(__file__).resolve().parents[1] / "pwa"


def _page_template(msgids: list[str]) -> str:
    """A page that shows every plain string of the catalogue once (about a page's worth x4)."""
    return "\n".join("{{ _(" + repr(m) + ") }}" for m in msgids)


def main() -> None:
    i18n.load_catalogues(PWA / "locale")
    with (PWA / "locale" / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    plain = [m.id for m in catalog if isinstance(m.id, str) and m.id and "%(" not in m.id]
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    page = env.from_string(_page_template(plain))

    def per_call_catalogue() -> _gettext.NullTranslations:  # the code this replaced
        return i18n._translations.get(i18n._lang.get()) or _gettext.NullTranslations()

    current = i18n._catalogue
    rounds, turns = 100, 7
    print(f"{len(plain)} strings per render; medians of {turns} interleaved turns x {rounds}")
    for lang in ("zh-CN", "en"):
        token = i18n._lang.set(lang)
        befores, afters = [], []
        try:
            for _ in range(turns):  # interleaved, so a busy neighbour hits both alike
                i18n._catalogue = per_call_catalogue  # type: ignore[assignment]
                befores.append(measure(page.render, rounds))
                i18n._catalogue = current  # type: ignore[assignment]
                afters.append(measure(page.render, rounds))
        finally:
            i18n._catalogue = current  # type: ignore[assignment]
            i18n._lang.reset(token)
        before, after = statistics.median(befores), statistics.median(afters)
        print(
            f"{lang:6} per-call catalogue {before:7.3f} ms  cached {after:7.3f} ms  "
            f"ratio {before / after:4.2f}x"
        )

    token = i18n._lang.set("en")
    try:
        exact = "验证码已过期，请重新获取。"
        filled = "验证码错误，还可尝试 3 次。"
        data = "演示汽车销售服务有限公司"
        assert i18n.translate(filled) == "Wrong code; 3 attempts left."
        n = 1000
        for name, text in (("exact", exact), ("parameterised", filled), ("data (miss)", data)):
            ms = measure(lambda t=text: [i18n.translate(t) for _ in range(n)], 20)  # type: ignore[misc]
            print(f"translate {name:14} {ms / n * 1000:6.2f} µs per message")
    finally:
        i18n._lang.reset(token)


if __name__ == "__main__":
    main()
