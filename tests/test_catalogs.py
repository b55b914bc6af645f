"""The catalogs: every message the code says is in the template and translated in every
language, with the same placeholders; every button label fits every platform in every
language; the web chat page has all its words in the catalogs; and language detection keeps
to the community's languages, falling back to the author's when unsure."""

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.ports import Capabilities
from bot.services.language import LanguageDetector
from bot.texts.catalog import Texts, native_name

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "bot" / "texts"
LANGUAGES = ("fr", "es", "pt", "ar")
KEYWORDS = {"t": None, "plural": (1, 2), "Refusal": None, "N_": None, "command": (3,), "ui": None}


def catalog(language: str):  # type: ignore[no-untyped-def]
    with (TEXTS / f"{language}.po").open("rb") as po_file:
        return read_po(po_file, locale=language)


def extracted() -> set:
    """What the code says now, extracted as `make catalogs` does."""
    method_map = [("bot/**.py", "python"), ("adapters/**.py", "python")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, keywords=KEYWORDS, comment_tags=()):
        found.add(message)
    return found


def test_the_template_holds_every_message_the_code_says():
    with (TEXTS / "messages.pot").open("rb") as template_file:
        template = {message.id for message in read_po(template_file) if message.id}
    missing = extracted() - template
    assert not missing, f"run `make catalogs`: these are not in messages.pot: {sorted(map(str, missing))[:10]}"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language):
    with (TEXTS / "messages.pot").open("rb") as template_file:
        template = [message for message in read_po(template_file) if message.id]
    translated = catalog(language)
    problems = []
    for message in template:
        found = translated.get(message.id)
        if found is None or not found.string or found.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
            continue
        if isinstance(message.id, tuple):
            wanted = placeholders(message.id[0]) | placeholders(message.id[1])
            for form in found.string:
                if not form:
                    problems.append(f"empty plural form: {message.id[0]!r}")
                # A language may say "one reply", "two replies" without the number itself.
                elif placeholders(form) != wanted and placeholders(form) != wanted - {"count"}:
                    problems.append(f"placeholders of {message.id[0]!r}: {placeholders(form)} != {wanted}")
        elif placeholders(found.string) != placeholders(message.id):
            problems.append(f"placeholders of {message.id!r}: {placeholders(found.string)} != {placeholders(message.id)}")
    assert problems == []


def platform_capabilities() -> dict[str, Capabilities]:
    """Every adapter's declared capabilities, as the adapters declare them."""
    import importlib

    from adapters import MODULES

    found = {}
    for name, module_name in MODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            capabilities = getattr(value, "capabilities", None)
            if isinstance(capabilities, Capabilities):
                found[name] = capabilities
    return found


def button_labels() -> list[tuple[str, str | None]]:
    """(label msgid, short label msgid) of every button the code makes: Button(t("..."), ...,
    short=t("...")) and turn.button(t("..."), ...)."""
    labels = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in ("Button", "button"):
                continue
            label = _message_of(node.args[0])
            short = next((_message_of(k.value) for k in node.keywords if k.arg == "short"), None)
            if label:
                labels.append((label, short))
    return labels


def _message_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if callee == "t" and isinstance(node.args[0].value, str):
            return node.args[0].value
    return None


@pytest.mark.parametrize("language", ("en", *LANGUAGES))
def test_every_button_label_fits_every_platform_in_every_language(language):
    texts = Texts(("en", *LANGUAGES), "en")
    t = texts.for_language(language)
    longest_language = max((t.language_name(code) for code in ("en", *LANGUAGES)), key=len)
    values = {"number": "9999", "language": longest_language}
    labels = button_labels()
    assert len(labels) > 20  # the scan finds the buttons
    capabilities = platform_capabilities()
    assert {"telegram", "webchat"} <= set(capabilities)
    # WhatsApp's reply buttons hold 20 characters (DESIGN.md), whether or not its adapter is here.
    capabilities.setdefault("whatsapp", Capabilities(max_text=4096, max_buttons=10, max_button_label=20,
                                                     can_edit=False, can_reply_to=True))
    too_long = []
    for label, short in labels:
        shown = t(label).format(**values)
        shortest = t(short).format(**values) if short else shown
        for platform, can in capabilities.items():
            if len(shown) > can.max_button_label and len(shortest) > can.max_button_label:
                too_long.append(f"{platform} ({can.max_button_label}): {shown!r}")
    pickers = [native_name(code) for code in ("en", *LANGUAGES)]
    too_long += [f"{p}: {name!r}" for name in pickers for p, can in capabilities.items() if len(name) > can.max_button_label]
    assert too_long == []


def test_the_web_chat_pages_words_are_all_in_the_catalogs():
    from adapters.webchat.server import PAGE_WORDS

    static = ROOT / "adapters" / "webchat" / "static"
    page = (static / "index.html").read_text(encoding="utf-8")
    script = (static / "chat.js").read_text(encoding="utf-8")
    used = set(re.findall(r'data-(?:text|placeholder|label)="([^"]+)"', page))
    used |= set(re.findall(r'\b_\("([^"]+)"\)', script))
    assert used and used <= set(PAGE_WORDS), sorted(used - set(PAGE_WORDS))


# --- detection ------------------------------------------------------------------------------

OFFERED = ("en", "fr", "es", "pt", "ar")
SENTENCES = [
    ("en", "How do other countries index child benefits to inflation, and who decides the adjustment each year?"),
    ("fr", "Comment les autres pays indexent-ils les allocations familiales sur l'inflation chaque année ?"),
    ("es", "¿Cómo llegan las transferencias monetarias a los niños que viven en zonas rurales alejadas?"),
    ("pt", "Como os programas de transferência de renda chegam às crianças que vivem em áreas remotas?"),
    ("ar", "كيف تصل برامج التحويلات النقدية إلى الأطفال الذين يعيشون في المناطق النائية؟"),
]
OTHER_LANGUAGES = [  # in languages the community does not offer: the author's language is kept
    ("de", "Wie erreichen Geldtransfers Kinder, die in abgelegenen ländlichen Gebieten leben?"),
    ("sw", "Je, programu za uhamisho wa fedha zinawafikiaje watoto wanaoishi vijijini mbali?"),
    ("id", "Bagaimana program bantuan tunai menjangkau anak-anak yang tinggal di daerah terpencil?"),
]


@pytest.mark.parametrize("language, sentence", SENTENCES)
def test_a_question_is_recognised_in_the_communitys_languages(language, sentence):
    assert LanguageDetector().detect(sentence, OFFERED, fallback="en") == language
    assert LanguageDetector().detect(sentence, OFFERED, fallback="en") == language  # the same answer every time


@pytest.mark.parametrize("language, sentence", OTHER_LANGUAGES)
def test_a_language_the_community_does_not_offer_falls_back_to_the_authors(language, sentence):
    assert LanguageDetector().detect(sentence, OFFERED, fallback="fr") == "fr"


@pytest.mark.parametrize("sentence, author", [
    ("Dados do MICS sobre NGO?", "pt"),  # short, with acronyms: Portuguese must not become Spanish
    ("SDG 1.2 targets?", "fr"),
    ("Evidence on UBI?", "es"),
])
def test_a_short_text_with_acronyms_keeps_its_authors_language(sentence, author):
    assert LanguageDetector().detect(sentence, OFFERED, fallback=author) == author
