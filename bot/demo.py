"""The demo community behind `make demo`: facilitators and members from several countries,
a discussion open with replies, a question waiting for approval, two published consolidated
replies, and a discussion whose deadline passes a few minutes after the demo first starts.

It is written through the core's own services and stores, like any other change."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.domain.discussions import Discussion, State, title_of
from bot.domain.members import Identity, Member, Role
from bot.services.archive import Archive, ArchivedReply
from bot.services.broadcast import Broadcast
from bot.services.cards import Cards
from bot.services.conversation import UnitOfWork
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore

DAY = 86400.0


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name: str
    organization: str
    country: str
    language: str
    topics: tuple[str, ...]
    facilitator: bool = False
    # Languages a facilitator handles besides their own.
    handles: tuple[str, ...] = ()


PEOPLE = (
    DemoPerson("fatou", "Fatou Diop", "Network team", "Senegal", "fr", ("moderation", "social protection"), True,
               handles=("en",)),
    DemoPerson("rahul", "Rahul Mehta", "Network team", "India", "en", ("child poverty measurement",), True),
    DemoPerson("lucia", "Lucía Fernández", "Network team", "Argentina", "es", ("early childhood",), True),
    DemoPerson("amina", "Amina Yusuf", "Save the Children", "Nigeria", "en", ("cash transfers", "nutrition")),
    DemoPerson("kwame", "Kwame Mensah", "Ministry of Gender, Children and Social Protection", "Ghana", "en",
               ("social protection", "LEAP programme")),
    DemoPerson("maria", "Maria Santos", "ILO", "Brazil", "pt", ("child labour", "Bolsa Família")),
    DemoPerson("chen", "Chen Wei", "Beijing Normal University", "China", "en", ("child poverty measurement",)),
    DemoPerson("sofia", "Sofía Ramírez", "UNICEF", "Mexico", "es", ("cash plus", "adolescents")),
    DemoPerson("omar", "Omar Haddad", "UNICEF", "Jordan", "ar", ("refugee children", "cash transfers")),
    DemoPerson("claire", "Claire Dubois", "Ministère des Solidarités", "France", "fr", ("family benefits",)),
    DemoPerson("aroha", "Aroha Ngata", "Child Poverty Action Group", "New Zealand", "en", ("child poverty targets",)),
    DemoPerson("nadia", "Nadia Rahman", "BRAC", "Bangladesh", "en", ("graduation programmes", "girls' education")),
    DemoPerson("juan", "Juan Pérez", "CEPAL", "Chile", "es", ("universal child benefits",)),
    DemoPerson("grace", "Grace Wanjiru", "Kenya Institute for Public Policy Research", "Kenya", "en",
               ("disability", "social assistance")),
    DemoPerson("elena", "Elena Popescu", "World Vision", "Romania", "en", ("child protection",)),
)

OPEN_QUESTION = (
    "How are other countries reaching children with disabilities through their cash transfer programmes? "
    "We are redesigning our disability top-up and would value examples of eligibility rules and outreach."
)
OPEN_REPLIES = (
    ("grace", "Kenya's Cash Transfer for Persons with Severe Disabilities uses community committees to identify "
              "children. Outreach through health clinics doubled enrolment in two years."),
    ("maria", "In Brazil the BPC benefit covers children with disabilities in low-income families. "
              "The main barrier was the medical assessment, so mobile assessment teams now visit rural areas."),
)
WAITING_QUESTION = (
    "Does anyone have evidence on whether child benefits paid to mothers rather than fathers change how the "
    "money is spent? We are preparing a policy brief for the ministry."
)
CLOSING_QUESTION = (
    "What are good practices for adjusting child benefits to inflation? Our benefit has lost a third of its value "
    "since 2020."
)
CLOSING_REPLIES = (
    ("claire", "France indexes family benefits every April on the previous year's inflation. Automatic indexation "
               "takes the decision out of the yearly budget negotiation."),
    ("aroha", "New Zealand links the Family Tax Credit to inflation each year, which protected its value. "
              "Advocacy groups track the real value and publish it every budget."),
    ("juan", "In Chile the Universal Guaranteed Family Allowance is adjusted by law. A clear legal rule matters more "
             "than the exact index chosen."),
)
PUBLISHED = (
    ("amina", "How can cash transfer programmes improve child nutrition outcomes?",
     "Pairing cash with nutrition counselling improved diets more than cash alone (Nadia Rahman, BRAC, Bangladesh).\n"
     "Regular, predictable payments let families plan food purchases (Kwame Mensah, Ministry of Gender, Children and "
     "Social Protection, Ghana).\n"
     "Targeting the first 1,000 days gave the largest effects on stunting (Sofía Ramírez, UNICEF, Mexico).",
     "Nadia Rahman (BRAC, Bangladesh): In our graduation programme, cash plus nutrition counselling improved diets.\n\n"
     "Kwame Mensah (Ministry of Gender, Children and Social Protection, Ghana): LEAP payments became regular "
     "in 2019 and families now plan food purchases.\n\n"
     "Sofía Ramírez (UNICEF, Mexico): Programmes focused on the first 1,000 days showed the largest reductions in "
     "stunting.", 120 * DAY),
    ("omar", "What works to keep refugee children in school when families receive cash assistance?",
     "Labelling the cash for education raised enrolment without strict conditions (Omar Haddad, UNICEF, Jordan).\n"
     "Transport costs were the main barrier for secondary school (Elena Popescu, World Vision, Romania).\n"
     "Case management helped the most vulnerable families (Grace Wanjiru, Kenya Institute for Public Policy "
     "Research, Kenya).",
     "Omar Haddad (UNICEF, Jordan): The Hajati programme labelled the cash for education; enrolment rose.\n\n"
     "Elena Popescu (World Vision, Romania): For secondary school, transport was the main cost families cited.\n\n"
     "Grace Wanjiru (Kenya Institute for Public Policy Research, Kenya): Case workers followed up with the most "
     "vulnerable families.", 45 * DAY),
)


class Community(Protocol):
    """The parts of the running app the demo is written through."""

    settings: Settings
    clock: Clock
    database: UnitOfWork
    members: MemberStore
    discussions: DiscussionStore
    archive: Archive
    cards: Cards
    broadcast: Broadcast


def user_id(person: DemoPerson) -> str:
    return f"demo-{person.key}"


async def seed(services: Community, closing_in: float = 180.0) -> bool:
    """Fill the database with the demo community, unless it is there already; whether it did.

    All of it is one transaction: a seeding stopped part-way (killed, a full disk) leaves
    nothing, so the first demo person's presence means the whole community is there."""
    now = services.clock.now()
    window = services.settings.community.reply_window
    members: dict[str, Member] = {}
    async with services.database.transaction():
        if await services.members.find_by_identity("webchat", user_id(PEOPLE[0])) is not None:
            return False
        for person in PEOPLE:
            identity = Identity("webchat", user_id(person), user_id(person), last_seen_at=now)
            role = Role.FACILITATOR if person.facilitator else Role.MEMBER
            member = await services.members.create(identity, person.name, role, now - 200 * DAY)
            member = replace(member, organization=person.organization, country=person.country,
                             language=person.language, topics=person.topics, featured_consent=True,
                             handles=person.handles)
            await services.members.save(member)
            members[person.key] = member
        fatou = members["fatou"]

        for asker, question, summary, contributions, age in PUBLISHED:
            published_at = now - age
            discussion = await services.discussions.create(members[asker].id, question, "en", False,
                                                           published_at - 30 * DAY)
            await _move(services, discussion, state=State.PUBLISHED, state_by=fatou.id,
                        approved_at=published_at - 28 * DAY, deadline_at=published_at - 7 * DAY,
                        closed_at=published_at - 7 * DAY, published_at=published_at)
            await services.archive.add(ArchivedReply(discussion.id, title_of(question), question, summary,
                                                     contributions, "en", published_at))

        opened = await _open(services, members["kwame"], OPEN_QUESTION, fatou, now - 3 * DAY, now - 3 * DAY + window)
        for key, text in OPEN_REPLIES:
            await services.discussions.add_reply(opened.id, members[key].id, text, False, now - 2 * DAY)

        closing = await _open(services, members["chen"], CLOSING_QUESTION, members["rahul"], now - window + closing_in,
                              now + closing_in)
        for key, text in CLOSING_REPLIES:
            await services.discussions.add_reply(closing.id, members[key].id, text, False, now - DAY)

        waiting = await services.discussions.create(members["amina"].id, WAITING_QUESTION, "en", False, now - 3600)
        await services.cards.send_moderation(waiting, members["amina"])
    return True


async def _open(services: Community, asker: Member, question: str, by: Member, approved_at: float,
                deadline_at: float) -> Discussion:
    discussion = await services.discussions.create(asker.id, question, "en", False, approved_at - 3600)
    opened = await _move(services, discussion, state=State.APPROVED, state_by=by.id, approved_at=approved_at,
                         deadline_at=deadline_at)
    await services.broadcast.share(opened, asker)
    return opened


async def _move(services: Community, discussion: Discussion, **changes: object) -> Discussion:
    """Seed data is history, not a facilitator's action: it is written as it stands."""
    moved = replace(discussion, version=discussion.version + 1, **changes)  # type: ignore[arg-type]
    saved = await services.discussions.save(moved, discussion.version)
    assert saved
    return moved
