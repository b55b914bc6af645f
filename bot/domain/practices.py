"""Good practices: what members and facilitators share about what worked (a programme, a
policy, a pilot), tagged by theme, Sustainable Development Goal and country, approved by a
facilitator before anyone can find it. Pure: no I/O.

Every answer a person gives is checked here and turned into a value or a `Refusal` whose
reason they can read: a title too long, a link that is not a web address, an SDG that does
not exist.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Callable
from urllib.parse import urlsplit

from bot.domain.refusal import Refusal
from bot.texts.catalog import N_

MAX_TITLE = 150
MAX_SUMMARY = 3000
MIN_SUMMARY = 20
MAX_ENTITIES = 300
MAX_ORGANIZATION = 150
MAX_LINK = 500
MAX_COUNTRIES = 20
MAX_REASON = 1000
SDGS = range(1, 18)


class Status(StrEnum):
    """Where the practice itself stands in the world."""

    IDEA = "idea"
    ONGOING = "ongoing"
    COMPLETED = "completed"


class State(StrEnum):
    """Where the record stands with the facilitators."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


STATUS_WORDS = {Status.IDEA: N_("idea"), Status.ONGOING: N_("ongoing"), Status.COMPLETED: N_("completed")}

# The child-rights themes a network starts with ([practices] themes replaces them).
DEFAULT_THEMES = (
    N_("child poverty"), N_("social protection"), N_("child protection"), N_("health"), N_("nutrition"),
    N_("education"), N_("early childhood"), N_("children in emergencies"), N_("child labour"), N_("disability"),
    N_("adolescents and youth"), N_("gender equality"), N_("birth registration"), N_("climate and environment"),
    N_("WASH"),
)
# A theme's label on a button where buttons hold few characters (WhatsApp: 20).
SHORT_THEMES = {
    "children in emergencies": N_("emergencies"),
    "adolescents and youth": N_("youth"),
    "climate and environment": N_("climate"),
    "birth registration": N_("birth registry"),
}
# Words that say a text is about a theme, besides the theme's own name (English, French,
# Spanish, Portuguese; folded: lower case, no accents). Used to suggest tags, never to decide.
THEME_WORDS = {
    "child poverty": ("child poverty", "poor children", "pauvrete des enfants", "pauvrete infantile",
                      "pobreza infantil", "multidimensional poverty"),
    "social protection": ("social protection", "cash transfer", "cash transfers", "social assistance",
                          "child benefit", "child benefits", "child grant", "social insurance", "safety net",
                          "protection sociale", "transferts monetaires", "proteccion social",
                          "transferencias monetarias", "protecao social", "bolsa familia"),
    "child protection": ("child protection", "violence against children", "child abuse", "child marriage",
                         "protection de l enfance", "proteccion infantil", "protecao infantil"),
    "health": ("health", "immunization", "vaccination", "sante", "salud", "saude"),
    "nutrition": ("nutrition", "stunting", "malnutrition", "wasting", "school meals", "school feeding",
                  "desnutricion", "nutricion", "nutricao"),
    "education": ("education", "school", "schools", "schooling", "enrolment", "enrollment", "learning",
                  "ecole", "educacion", "escuela", "educacao", "escola"),
    "early childhood": ("early childhood", "ecd", "preschool", "pre school", "kindergarten", "creche",
                        "petite enfance", "primera infancia", "primeira infancia"),
    "children in emergencies": ("emergency", "emergencies", "humanitarian", "refugee", "refugees", "displaced",
                                "crisis", "conflict", "urgence", "emergencia"),
    "child labour": ("child labour", "child labor", "child workers", "travail des enfants", "trabajo infantil",
                     "trabalho infantil"),
    "disability": ("disability", "disabilities", "disabled", "handicap", "discapacidad", "deficiencia"),
    "adolescents and youth": ("adolescent", "adolescents", "youth", "young people", "jeunes", "jovenes", "jovens"),
    "gender equality": ("gender", "girls", "women", "genre", "genero", "igualdad"),
    "birth registration": ("birth registration", "birth certificate", "civil registration",
                           "enregistrement des naissances", "registro de nacimiento", "registro civil"),
    "climate and environment": ("climate", "environment", "environmental", "drought", "flood", "floods",
                                "climat", "environnement", "clima", "medio ambiente", "meio ambiente"),
    "WASH": ("wash", "water", "sanitation", "hygiene", "eau", "assainissement", "agua", "saneamiento",
             "saneamento"),
}


@dataclass(frozen=True)
class Practice:
    id: int
    title: str
    summary: str
    countries: tuple[str, ...] = ()  # ISO 3166 codes ("GH"), shown in the reader's language
    implementing_entities: str = ""
    status: Status = Status.ONGOING
    primary_sdg: int | None = None
    secondary_sdgs: tuple[int, ...] = ()
    themes: tuple[str, ...] = ()  # names from the taxonomy, as configured (English msgids by default)
    source_organization: str = ""
    source_link: str = ""
    language: str = ""
    submitted_by: int | None = None
    state: State = State.SUBMITTED
    state_by: int | None = None
    reason: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0

    def approve(self, by: int, now: float) -> "Practice | Refusal":
        if self.state is not State.SUBMITTED:
            return self.where_it_stands()
        return replace(self, state=State.APPROVED, state_by=by, updated_at=now)

    def reject(self, by: int, reason: str, now: float) -> "Practice | Refusal":
        if self.state is not State.SUBMITTED:
            return self.where_it_stands()
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON:
            return too_long(MAX_REASON)
        return replace(self, state=State.REJECTED, state_by=by, reason=reason, updated_at=now)

    def where_it_stands(self) -> Refusal:
        if self.state is State.APPROVED:
            return Refusal("Good practice #{number} was already approved.", {"number": self.id})
        if self.state is State.REJECTED:
            return Refusal("Good practice #{number} was already rejected.", {"number": self.id})
        return Refusal("Good practice #{number} is waiting for approval.", {"number": self.id})


@dataclass(frozen=True)
class PracticeDraft:
    """A practice as written, before it has a number: what the form gathers and a CSV row gives."""

    title: str
    summary: str
    countries: tuple[str, ...]
    status: Status
    themes: tuple[str, ...]
    implementing_entities: str = ""
    primary_sdg: int | None = None
    secondary_sdgs: tuple[int, ...] = ()
    source_organization: str = ""
    source_link: str = ""
    language: str = ""


def too_long(limit: int) -> Refusal:
    return Refusal("That is too long: at most {limit} characters, please.", {"limit": limit})


def fold(text: str) -> str:
    """Lower case, without accents or punctuation, single spaces: how names are compared
    ("Côte d’Ivoire" and "cote d'ivoire" are the same)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(character for character in decomposed if not unicodedata.combining(character))
    return " ".join(re.sub(r"[^\w]+", " ", plain).replace("_", " ").split())


def clean_text(text: str, limit: int, shortest: int = 1) -> str | Refusal:
    value = "\n".join(" ".join(line.split()) for line in text.strip().splitlines()).strip()
    value = re.sub(r"\n{3,}", "\n\n", value)
    if sum(character.isalpha() for character in value) < shortest:
        if shortest > 1:
            return Refusal("That is too short: a few sentences, please.")
        return Refusal("Please send a few words.")
    if len(value) > limit:
        return too_long(limit)
    return value


def clean_title(text: str) -> str | Refusal:
    value = clean_text(text, MAX_TITLE)
    if isinstance(value, str) and "\n" in value:
        return " ".join(value.split())
    return value


def clean_summary(text: str) -> str | Refusal:
    return clean_text(text, MAX_SUMMARY, shortest=MIN_SUMMARY)


def clean_link(text: str) -> str | Refusal:
    """A web address (http or https, with a host), or a refusal saying what a link looks like."""
    value = text.strip()
    bad = Refusal("That is not a web link: send an address starting with https:// or http://, or press Skip.")
    if len(value) > MAX_LINK:
        return too_long(MAX_LINK)
    if any(character.isspace() for character in value):
        return bad
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        return bad
    host = parts.hostname or ""
    if parts.scheme.casefold() not in ("http", "https") or not port_ok or "." not in host.strip(".") and host != "localhost":
        return bad
    return value


def parse_sdgs(text: str) -> tuple[int, ...] | Refusal:
    """Goal numbers as typed ("1 4", "SDG 1, 4.2"): the first is the primary goal. A target
    such as 4.2 counts as its goal."""
    found: list[int] = []
    for word in re.split(r"[\s,;/]+", text.strip()):
        word = re.sub(r"(?i)^(sdg|odd|ods)[-#]?", "", word).lstrip("#")
        if not word:
            continue
        goal = word.split(".", 1)[0]
        if not goal.isdigit() or int(goal) not in SDGS:
            return Refusal("There is no SDG {value}: the goals are numbered 1 to 17. Send their numbers, "
                           "for example 1 4, or press Skip.", {"value": word[:12]})
        if int(goal) not in found:
            found.append(int(goal))
    if not found:
        return Refusal("Send the goals' numbers, for example 1 4, or press Skip.")
    return tuple(found)


def parse_status(text: str, names: dict[str, Status]) -> Status | None:
    """A status from its code or any of its names (`names`: folded name -> status)."""
    folded = fold(text)
    for status in Status:
        if folded == status.value:
            return status
    return names.get(folded)


CountryLookup = Callable[[str], "str | None"]


def parse_countries(text: str, lookup: CountryLookup) -> tuple[str, ...] | Refusal:
    """Country names separated by commas or semicolons, as ISO codes."""
    codes: list[str] = []
    for part in re.split(r"[,;\n]+", text):
        name = " ".join(part.split())
        if not name:
            continue
        code = lookup(name)
        if code is None:
            return Refusal("I do not know the country “{name}”: please write its name in full, separating "
                           "countries with commas.", {"name": name[:60]})
        if code not in codes:
            codes.append(code)
    if not codes:
        return Refusal("Please send at least one country, separating countries with commas.")
    if len(codes) > MAX_COUNTRIES:
        return Refusal("At most {limit} countries, please.", {"limit": MAX_COUNTRIES})
    return tuple(codes)


def parse_themes(text: str, taxonomy: tuple[str, ...], names: dict[str, str]) -> tuple[str, ...] | Refusal:
    """Themes typed by their number in the list shown, or their name (`names`: folded name in
    any of the network's languages -> theme)."""
    chosen: list[str] = []
    for part in re.split(r"[,;\n]+", text):
        for piece in ([part] if not part.strip().replace(" ", "").isdigit() else part.split()):
            word = " ".join(piece.split())
            if not word:
                continue
            if word.isdigit() and 1 <= int(word) <= len(taxonomy):
                theme: str | None = taxonomy[int(word) - 1]
            else:
                theme = names.get(fold(word))
            if theme is None:
                return Refusal("“{value}” is not one of the themes: choose them with the buttons, or send their "
                               "numbers.", {"value": word[:40]})
            if theme not in chosen:
                chosen.append(theme)
    if not chosen:
        return Refusal("Choose at least one theme.")
    return tuple(chosen)


def check_draft(draft: PracticeDraft) -> PracticeDraft | Refusal:
    """A whole practice checked at once (an imported row: the form checks each answer as it comes)."""
    title = clean_title(draft.title)
    if isinstance(title, Refusal):
        return Refusal("{column}: {reason}", {"column": "title", "reason": _said(title)})
    summary = clean_summary(draft.summary)
    if isinstance(summary, Refusal):
        return Refusal("{column}: {reason}", {"column": "summary", "reason": _said(summary)})
    if not draft.countries:
        return Refusal("{column}: {reason}", {"column": "countries", "reason": "at least one country"})
    if not draft.themes:
        return Refusal("{column}: {reason}", {"column": "themes", "reason": "at least one theme"})
    for name, value, limit in (("implementing_entities", draft.implementing_entities, MAX_ENTITIES),
                               ("source_organization", draft.source_organization, MAX_ORGANIZATION)):
        if len(value) > limit:
            return Refusal("{column}: {reason}", {"column": name, "reason": "at most " + str(limit) + " characters"})
    link = draft.source_link
    if link:
        checked = clean_link(link)
        if isinstance(checked, Refusal):
            return Refusal("{column}: {reason}", {"column": "source_link", "reason": "not an http:// or https:// address"})
        link = checked
    goals = (draft.primary_sdg, *draft.secondary_sdgs) if draft.primary_sdg else draft.secondary_sdgs
    if any(goal not in SDGS for goal in goals):
        return Refusal("{column}: {reason}", {"column": "sdg", "reason": "goals are numbered 1 to 17"})
    return replace(draft, title=title, summary=summary, source_link=link,
                   implementing_entities=" ".join(draft.implementing_entities.split()),
                   source_organization=" ".join(draft.source_organization.split()))


def _said(refusal: Refusal) -> str:
    return refusal.reason.format(**refusal.params)
