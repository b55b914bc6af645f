"""The dashboard's pages as HTML: semantic, readable without JavaScript, every member text
escaped. The words are the page's own (marked with `ui` for the catalogs) and arrive
translated; the cards and their buttons are the core's, as on any chat."""

from __future__ import annotations

from html import escape
from typing import Callable, Iterable, Mapping, Sequence
from urllib.parse import urlencode

from bot.ports import Button, Card, DraftDesk, Found, Message, OpenDiscussion, Profile, QueueItem, Rows, Span, Viewer


def ui(text: str) -> str:
    """A word of the dashboard's own, in English, for the catalogs."""
    return text


TITLE = ui("Facilitators' dashboard")
QUEUE = ui("Queue")
DISCUSSIONS = ui("Open discussions")
DRAFTS = ui("Drafts")
ARCHIVE = ui("Archive")
MEMBERS = ui("Members")
SIGN_OUT = ui("Sign out")
SIGNED_IN_AS = ui("Signed in as {name}")
NOTHING_WAITS = ui("Nothing waits for approval.")
NOTHING_OPEN = ui("No discussion is open.")
NO_DRAFT = ui("No draft waits to be published.")
ASKED_BY = ui("Asked by")
MEMBER_SINCE = ui("Member since {date}")
QUESTIONS_ASKED = ui("Questions asked: {count}")
WAITING_SINCE = ui("Waiting since {when}")
SIMILAR = ui("Similar in the archive")
REJECT_WHY = ui("Reject: choose or write the reason the asker is told")
OTHER_REASON = ui("Or write another reason")
REJECT = ui("Reject")
CANCEL = ui("Cancel")
REPLIES = ui("Replies so far")
NO_REPLY = ui("No reply yet.")
CLOSES = ui("Closes {when}")
KEY_POINTS = ui("Key points, one per line")
SAVE_KEY_POINTS = ui("Save the key points")
WHOLE_TEXT = ui("The whole text, as it will be published")
SAVE_WHOLE_TEXT = ui("Save the whole text")
PREVIEW = ui("Preview, as members will see it")
SEARCH_ARCHIVE = ui("Search the archive")
SEARCH = ui("Search")
NOTHING_FOUND = ui("Nothing found.")
COUNTRY = ui("Country")
PLATFORM = ui("Platform")
LANGUAGE = ui("Language")
TOPIC = ui("Topic")
STATUS = ui("Status")
FILTER = ui("Filter")
CSV = ui("Download as CSV")
NAME = ui("Name")
ORGANIZATION = ui("Organization")
TOPICS = ui("Topics")
MUTED = ui("muted")
MUTE = ui("Mute")
UNMUTE = ui("Unmute")
REMOVE = ui("Remove")
WHY_MEMBER = ui("Why? The member is told.")
ANSWERS = ui("Answers from the bot")
SIGN_IN_TITLE = ui("Sign in to the dashboard")
SIGN_IN = ui("Sign in")
SIGN_IN_HOW = ui("Send /dashboard to the bot in your chat app: it answers with a one-time link that opens this "
                 "page signed in.")
DEMO_FACILITATORS = ui("Demo facilitators")
PICK = ui("Choose who you are to try the dashboard.")
SEND = ui("Send")
ANY = ui("any")
LIVE = ui("This page updates by itself.")
SHOWN_FIRST = ui("The first {count} are shown; the CSV has them all.")
ACTIVE = ui("active")
PAUSED = ui("paused")
LEFT = ui("left")
LINK_GONE = ui("This link was already used or is too old: send /dashboard to the bot again.")
CHOOSE_FIRST = ui("Sign in first.")
NOT_A_FACILITATOR = ui("Only facilitators can use the dashboard.")
OTHER_SITE = ui("This page may only be used from its own address.")
JSON_ONLY = ui("Send JSON, please.")
NOT_UNDERSTOOD = ui("I did not understand that.")
NOT_A_DEMO = ui("This dashboard is not a demo: sign in with a link from the bot.")

PAGES = {"queue": QUEUE, "discussions": DISCUSSIONS, "drafts": DRAFTS, "archive": ARCHIVE, "members": MEMBERS}
PAGE_WORDS = tuple(value for name, value in globals().items() if name.isupper() and isinstance(value, str)
                   and name not in ("PAGE_WORDS",))

Words = Callable[..., str]


def words_from(texts: Mapping[str, str]) -> Words:
    def word(text: str, **params: object) -> str:
        translated = texts.get(text, text)
        return translated.format(**params) if params else translated
    return word


def layout(w: Words, language: str, right_to_left: bool, viewer: Viewer | None, page: str, main: str,
           counts: Mapping[str, int] | None = None) -> str:
    nav = ""
    if viewer is not None:
        links = []
        for name, label in PAGES.items():
            count = (counts or {}).get(name)
            badge = f' <span class="badge">{count}</span>' if count else ""
            current = ' aria-current="page"' if name == page else ""
            links.append(f'<li><a href="/admin/{name}"{current}>{escape(w(label))}{badge}</a></li>')
        nav = (f'<nav aria-label="{escape(w(TITLE))}"><ul>{"".join(links)}</ul></nav>'
               f'<p class="who">{escape(w(SIGNED_IN_AS, name=viewer.name))} '
               f'<button type="button" class="quiet" data-sign-out>{escape(w(SIGN_OUT))}</button></p>')
    answers = ""
    if viewer is not None:
        answers = (f'<aside aria-labelledby="answers-title" class="answers"><h2 id="answers-title">'
                   f'{escape(w(ANSWERS))}</h2><ol id="answers" aria-live="polite"></ol></aside>')
    return (
        f'<!doctype html><html lang="{escape(language)}" dir="{"rtl" if right_to_left else "ltr"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(w(PAGES[page])) + " · " if page in PAGES else ""}{escape(w(TITLE))}</title>'
        '<link rel="stylesheet" href="/admin/static/admin.css"><script src="/admin/static/admin.js" defer></script>'
        f'</head><body data-page="{escape(page)}"><header><h1>{escape(w(TITLE))}</h1>{nav}</header>'
        f'<div class="layout"><main id="main">{main}</main>{answers}</div>'
        '<div id="toast" role="status" hidden></div></body></html>'
    )


def spans(items: Iterable[Span]) -> str:
    html = []
    for span in items:
        text = escape(span.text)
        if span.code:
            text = f"<code>{text}</code>"
        if span.bold:
            text = f"<strong>{text}</strong>"
        if span.italic:
            text = f"<em>{text}</em>"
        if span.link:
            text = f'<a href="{escape(span.link)}" rel="noopener noreferrer">{text}</a>'
        html.append(text)
    return "".join(html)


def buttons(rows: Rows, reject: str = "") -> str:
    if not rows:
        return ""
    html = []
    for row in rows:
        for button in row:
            html.append(_button(button, asks_reason=bool(reject) and button.token == reject))
    return f'<div class="actions">{"".join(html)}</div>'


def _button(button: Button, asks_reason: bool = False) -> str:
    style = f' class="{escape(button.style.value)}"' if button.style.value != "default" else ""
    extra = ' data-asks="reason"' if asks_reason else ""
    return f'<button type="button" data-token="{escape(button.token)}"{style}{extra}>{escape(button.label)}</button>'


def card(item: Card, reject: str = "", number: int | None = None) -> str:
    fields = "".join(f"<dt>{escape(f.label)}</dt><dd>{escape(f.value)}</dd>" for f in item.fields)
    status = f'<p class="status">{escape(item.status)}</p>' if item.status else ""
    body = f'<blockquote dir="auto">{spans(item.body)}</blockquote>' if item.body else ""
    anchor = f' id="q{number}"' if number is not None else ""
    return (f'<article class="card"{anchor}><h2>{escape(item.title)}</h2>{status}'
            f'{f"<dl>{fields}</dl>" if fields else ""}{body}{buttons(item.buttons, reject)}</article>')


def profile(w: Words, person: Profile) -> str:
    where = ", ".join(part for part in (person.organization, person.country) if part)
    details = [escape(w(MEMBER_SINCE, date=person.joined))]
    if person.topics:
        details.append(escape(", ".join(person.topics)))
    if person.language:
        details.append(escape(person.language))
    if person.platforms:
        details.append(escape(", ".join(person.platforms)))
    details.append(escape(w(QUESTIONS_ASKED, count=person.asked)))
    return (f'<section class="profile"><h3>{escape(w(ASKED_BY))}</h3><p><strong>{escape(person.name or "—")}'
            f'</strong> #{person.number}{f" · {escape(where)}" if where else ""}</p>'
            f'<p class="muted">{" · ".join(details)}</p></section>')


def queue(w: Words, items: Sequence[QueueItem]) -> str:
    if not items:
        return f'<h2 class="page">{escape(w(QUEUE))}</h2><p class="empty">{escape(w(NOTHING_WAITS))}</p>'
    html = [f'<h2 class="page">{escape(w(QUEUE))}</h2><p class="muted">{escape(w(LIVE))}</p>']
    for item in items:
        similar = ""
        if item.similar:
            found = "".join(f'<li>#{f.number} {escape(f.title)} <span class="muted">({escape(f.published)})</span></li>'
                            for f in item.similar)
            similar = f'<section class="similar"><h3>{escape(w(SIMILAR))}</h3><ul>{found}</ul></section>'
        reasons = "".join(f'<option>{escape(reason)}</option>' for reason in item.reasons)
        reject_form = (
            f'<form class="reason" data-token="{escape(item.reject)}" hidden>'
            f'<label>{escape(w(REJECT_WHY))}<select name="reason">{reasons}<option value="">{escape(w(OTHER_REASON))}'
            f'</option></select></label><label>{escape(w(OTHER_REASON))}<textarea name="other" rows="2"></textarea>'
            f'</label><div class="actions"><button type="submit" class="danger">{escape(w(REJECT))}</button>'
            f'<button type="button" data-close>{escape(w(CANCEL))}</button></div></form>'
        ) if item.reject else ""
        html.append(f'<section class="item" data-number="{item.number}">{card(item.card, item.reject, item.number)}'
                    f'{reject_form}<p class="muted">{escape(w(WAITING_SINCE, when=item.waiting))}</p>'
                    f'{profile(w, item.asker)}{similar}</section>')
    return "".join(html)


def discussions(w: Words, items: Sequence[OpenDiscussion]) -> str:
    html = [f'<h2 class="page">{escape(w(DISCUSSIONS))}</h2>']
    if not items:
        return html[0] + f'<p class="empty">{escape(w(NOTHING_OPEN))}</p>'
    for item in items:
        if item.replies:
            replies = "".join(f'<li><p><strong>{escape(r.author)}</strong> <span class="muted">{escape(r.when)}'
                              f'</span></p><p dir="auto">{escape(r.text)}</p></li>' for r in item.replies)
            replies = f'<ol class="replies">{replies}</ol>'
        else:
            replies = f'<p class="empty">{escape(w(NO_REPLY))}</p>'
        html.append(f'<section class="item" data-number="{item.number}">{card(item.card, number=item.number)}'
                    f'<p class="muted">{escape(w(CLOSES, when=item.deadline))} · {escape(item.reminder)}</p>'
                    f'<h3>{escape(w(REPLIES))} ({len(item.replies)})</h3>{replies}</section>')
    return "".join(html)


def drafts(w: Words, items: Sequence[DraftDesk]) -> str:
    html = [f'<h2 class="page">{escape(w(DRAFTS))}</h2>']
    if not items:
        return html[0] + f'<p class="empty">{escape(w(NO_DRAFT))}</p>'
    for item in items:
        preview: Message = item.preview
        html.append(
            f'<section class="item draft" data-number="{item.number}"><article class="card"><h2>'
            f'{escape(item.card.title)}</h2>{buttons(item.card.buttons)}</article>'
            f'<form class="editor" data-token="{escape(item.edit_key_points)}"><label>{escape(w(KEY_POINTS))}'
            f'<textarea name="text" rows="6" dir="auto">{escape(item.key_points)}</textarea></label>'
            f'<button type="submit">{escape(w(SAVE_KEY_POINTS))}</button></form>'
            f'<details><summary>{escape(w(WHOLE_TEXT))}</summary><form class="editor" '
            f'data-token="{escape(item.edit_whole_text)}"><label class="visually-hidden" for="whole{item.number}">'
            f'{escape(w(WHOLE_TEXT))}</label><textarea id="whole{item.number}" name="text" rows="14" dir="auto">'
            f'{escape(item.whole_text)}</textarea><button type="submit">{escape(w(SAVE_WHOLE_TEXT))}</button></form>'
            f'</details><section class="preview"><h3>{escape(w(PREVIEW))}</h3><div class="message" dir="auto">'
            f'<p><strong>{escape(preview.title)}</strong></p>{spans(preview.spans)}</div></section></section>')
    return "".join(html)


def archive(w: Words, query: str, found: Sequence[tuple[Found, Rows]]) -> str:
    form = (f'<form method="get" action="/admin/archive" class="search" role="search"><label>{escape(w(SEARCH_ARCHIVE))}'
            f'<input type="search" name="q" value="{escape(query)}"></label><button type="submit">{escape(w(SEARCH))}'
            '</button></form>')
    if not found:
        return f'<h2 class="page">{escape(w(ARCHIVE))}</h2>{form}<p class="empty">{escape(w(NOTHING_FOUND))}</p>'
    entries = "".join(
        f'<li class="found"><h3>#{entry.number} {escape(entry.title)}</h3><p class="muted">{escape(entry.published)}'
        f'</p><p dir="auto">{escape(entry.snippet)}</p>{buttons(rows)}</li>' for entry, rows in found)
    return f'<h2 class="page">{escape(w(ARCHIVE))}</h2>{form}<ol class="archive">{entries}</ol>'


FILTERS = (("country", COUNTRY), ("platform", PLATFORM), ("language", LANGUAGE), ("topic", TOPIC))


def members(w: Words, filters: Mapping[str, str], people: Sequence[Profile], limit: int) -> str:
    fields = "".join(f'<label>{escape(w(label))}<input name="{name}" value="{escape(filters.get(name, ""))}"></label>'
                     for name, label in FILTERS)
    statuses = "".join(
        f'<option value="{value}"{" selected" if filters.get("status", "") == value else ""}>{escape(w(label))}</option>'
        for value, label in (("", ANY), ("active", ACTIVE), ("paused", PAUSED), ("left", LEFT)))
    query = urlencode({k: v for k, v in filters.items() if v})
    form = (f'<form method="get" action="/admin/members" class="filters">{fields}<label>{escape(w(STATUS))}'
            f'<select name="status">{statuses}</select></label><button type="submit">{escape(w(FILTER))}</button>'
            f'<a class="button" href="/admin/members.csv{"?" + query if query else ""}" download>{escape(w(CSV))}</a>'
            '</form>')
    rows = []
    for person in people:
        action = (f'<button type="button" data-command="unmute" data-args="#{person.number}">{escape(w(UNMUTE))}'
                  '</button>') if person.muted else (
            f'<button type="button" data-command="mute" data-member="{person.number}">{escape(w(MUTE))}</button>')
        rows.append(
            f'<tr><td>#{person.number}</td><td>{escape(person.name or "—")}</td><td>{escape(person.organization)}</td>'
            f'<td>{escape(person.country)}</td><td>{escape(", ".join(person.platforms))}</td>'
            f'<td>{escape(person.language)}</td><td>{escape(", ".join(person.topics))}</td>'
            f'<td>{escape(person.status)}{" · " + escape(w(MUTED)) if person.muted else ""}</td>'
            f'<td class="row-actions">{action}<button type="button" class="danger" data-command="remove" '
            f'data-member="{person.number}">{escape(w(REMOVE))}</button></td></tr>')
    headers = "".join(f'<th scope="col">{escape(w(h))}</th>' for h in (NAME, ORGANIZATION, COUNTRY, PLATFORM,
                                                                          LANGUAGE, TOPICS, STATUS))
    more = f'<p class="muted">{escape(w(SHOWN_FIRST, count=limit))}</p>' if len(people) >= limit else ""
    why = (f'<form class="reason member-reason" hidden><label>{escape(w(WHY_MEMBER))}<textarea name="other" rows="2" '
           f'required></textarea></label><div class="actions"><button type="submit">{escape(w(SEND))}</button>'
           f'<button type="button" data-close>{escape(w(CANCEL))}</button></div></form>')
    return (f'<h2 class="page">{escape(w(MEMBERS))}</h2>{form}{why}{more}<div class="table"><table><thead><tr>'
            f'<th scope="col">#</th>{headers}<th scope="col"></th></tr></thead><tbody>{"".join(rows)}</tbody>'
            '</table></div>')


def sign_in(w: Words, token: str, demo_people: Sequence[Viewer], gone: bool = False) -> str:
    html = [f'<h2 class="page">{escape(w(SIGN_IN_TITLE))}</h2>']
    if token:
        html.append(f'<form class="sign-in" data-token="{escape(token)}"><button type="submit" class="primary">'
                    f'{escape(w(SIGN_IN))}</button></form>')
    elif gone:
        html.append(f'<p class="error">{escape(w(LINK_GONE))}</p>')
    html.append(f'<p>{escape(w(SIGN_IN_HOW))}</p>')
    if demo_people:
        people = "".join(f'<li><button type="button" data-pick="{viewer.member_id}">{escape(viewer.name)}</button></li>'
                         for viewer in demo_people)
        html.append(f'<section><h3>{escape(w(DEMO_FACILITATORS))}</h3><p>{escape(w(PICK))}</p>'
                    f'<ul class="people">{people}</ul></section>')
    return "".join(html)
