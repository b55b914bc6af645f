"""A member's data is theirs: /mydata gives them all of it as a file, /forget leaves nothing
in the database with their name or platform ids (read from every row, and from the SQLite
file's own bytes), and what people send loses its words after the retention period."""

import json
from pathlib import Path

import pytest

from bot.ports import Capabilities, Document, Message, Span
from bot.services.fitting import fit
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.storage_backend import ON_POSTGRES
from tests.storage_backend import rows as backend_rows
from tests.test_flow import ask

DAY = 86400.0
NAME = "Zanele Okonkwo-Baptiste"
USER = "zanele-4417"


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


def stored_bytes(network: Network) -> bytes:
    path = Path(network.settings.storage_path)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock()
    network = await Network(settings_for(tmp_path, reply_window=21 * DAY, reminder_before=2 * DAY), clock=clock).start()
    yield network, clock
    await network.stop()


async def a_published_discussion_with_zanele(network: Network):
    """Zanele asks a question and replies to Amina's; Amina's is published with her credit."""
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    zanele = await network.member(USER, NAME, "Child Welfare Trust", "South Africa")
    await ask(network, zanele, "Which birth registration campaigns reached nomadic families?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    question = await zanele.receives("Question #2")
    await zanele.presses("Reply", on=question)
    await zanele.says("Mobile money agents in each district worked well, says Zanele Okonkwo-Baptiste.")
    await zanele.receives("Thank you! Your reply was sent")
    card = await fatou.sees(lambda m: m.text.startswith("Question #2") and "Close now" in m.labels())
    await fatou.presses("Close now", on=card)
    await fatou.presses("Yes, close it", on=await fatou.sees(lambda m: "Yes, close it" in m.labels()))
    await fatou.presses("Publish", on=await fatou.receives("Draft consolidated reply"))
    await amina.receives("Consolidated reply:")
    return fatou, amina, zanele


async def test_mydata_sends_a_member_everything_held_about_them_as_a_json_file(manual):
    network, _ = manual
    fatou, amina, zanele = await a_published_discussion_with_zanele(network)
    await zanele.says("/mydata")
    sent = await zanele.receives("everything the network holds about you")
    document = sent.message.document
    assert document is not None and document.content_type == "application/json"
    assert document.filename.startswith("test-network-member-") and document.filename.endswith(".json")
    data = json.loads(document.data)
    assert data["profile"]["name"] == NAME
    assert data["profile"]["organization"] == "Child Welfare Trust"
    assert [a["user_id"] for a in data["accounts"]] == [USER]
    assert [q["text"] for q in data["questions"]] == ["Which birth registration campaigns reached nomadic families?"]
    assert data["replies"][0]["text"].startswith("Mobile money agents")
    assert data["consents"] == {"featured_in_member_stories": False, "found_in_member_directory": False}
    assert data["delivery"]["mode"] == "instant"
    assert any("nomadic" in m["body"] for m in data["messages_kept_word_for_word"])
    assert data["profile"]["joined_at"].endswith("+00:00")

    # Only a facilitator may ask for another member's data, and it is in the audit log.
    await amina.says(f"/mydata #{data['member_number']}")
    await amina.receives("Only facilitators can do that for another member")
    await fatou.says(f"/mydata #{data['member_number']}")
    for_them = await fatou.receives("for you to pass on to them")
    assert json.loads(for_them.message.document.data)["profile"]["name"] == NAME
    assert rows(network, "SELECT action, member_id FROM audit WHERE action = 'data'") == [
        ("data", data["member_number"])]


async def zanele_forgets_herself(network: Network, zanele) -> None:  # type: ignore[no-untyped-def]
    """Zanele, who asked, replied and was credited, forgets herself: her profile and accounts
    go, her words stay without her name."""
    [(number,)] = rows(network, f"SELECT member_id FROM identity WHERE user_id = '{USER}'")
    await zanele.says("/forget")
    confirm = await zanele.receives("Forget you?")
    assert rows(network, f"SELECT name FROM member WHERE id = {number}") == [(NAME,)]
    await zanele.presses("Yes, forget me", on=confirm)
    await zanele.receives("You are forgotten")
    await network.app.privacy.tidy()  # the farewell, once sent, goes too

    assert rows(network, f"SELECT name, organization, country, status FROM member WHERE id = {number}") == [
        ("", "", "", "left")]
    assert rows(network, f"SELECT count(*) FROM identity WHERE member_id = {number}") == [(0,)]
    [(contributions,)] = rows(network, "SELECT contributions FROM consolidated_reply")
    assert "Mobile money agents" in contributions and "a member" in contributions and "Zanele" not in contributions
    assert rows(network, f"SELECT anonymous FROM reply WHERE member_id = {number}") == [(1,)]
    assert rows(network, f"SELECT text, anonymous FROM discussion WHERE asker_id = {number}") == [
        ("Which birth registration campaigns reached nomadic families?", 1)]
    assert rows(network, "SELECT actor_id, detail FROM audit WHERE action = 'forget'") == [(None, "")]
    assert await network.app.archive.search("Okonkwo") == []


def rows_holding(network: Network, words: tuple[str, ...]) -> list[str]:
    """Every row of every table (search indexes too) where one of the words still is, in any
    case: "table: row"."""
    path = network.settings.storage_path
    if ON_POSTGRES:
        tables = backend_rows(path, "SELECT table_name FROM information_schema.tables"
                                    " WHERE table_schema = current_schema()")
    else:
        tables = backend_rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    found = []
    for (table,) in tables:
        for row in backend_rows(path, f'SELECT * FROM "{table}"'):
            text = " ".join(value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                            for value in row).lower()
            if any(word.lower() in text for word in words):
                found.append(f"{table}: {row}")
    return found


async def test_forget_leaves_no_name_or_platform_id_in_any_row(manual):
    network, _ = manual
    fatou, amina, zanele = await a_published_discussion_with_zanele(network)
    assert rows_holding(network, (NAME, USER))
    await zanele_forgets_herself(network, zanele)
    assert rows_holding(network, (NAME, "Okonkwo", USER, "Child Welfare Trust")) == []

    # Writing again from the same account is a new person, welcomed as such.
    await zanele.says("Hello?")
    await zanele.receives("What is your name")


@pytest.mark.sqlite_only  # what the file's bytes hold (PostgreSQL's rows: the test above)
async def test_forget_leaves_no_name_or_platform_id_anywhere_in_the_database_file(manual):
    network, _ = manual
    fatou, amina, zanele = await a_published_discussion_with_zanele(network)
    assert NAME.encode() in stored_bytes(network)
    await zanele_forgets_herself(network, zanele)
    raw = stored_bytes(network)
    assert NAME.encode() not in raw and USER.encode() not in raw and b"Child Welfare Trust" not in raw


async def test_a_facilitator_forgets_a_member_on_their_request_and_a_member_cannot(manual):
    network, _ = manual
    fatou, amina, zanele = await a_published_discussion_with_zanele(network)
    [(number,)] = rows(network, f"SELECT member_id FROM identity WHERE user_id = '{USER}'")
    await amina.says(f"/forget #{number}")
    await amina.receives("Only facilitators can do that for another member")
    await fatou.says(f"/forget #{number}")
    await fatou.presses("Yes, forget them", on=await fatou.receives(f"Forget member #{number}, at their request?"))
    await fatou.receives(f"Member #{number} is forgotten")
    assert rows(network, f"SELECT count(*) FROM identity WHERE member_id = {number}") == [(0,)]
    [(actor,)] = rows(network, "SELECT actor_name FROM audit WHERE action = 'forget'")
    assert actor == "Fatou"
    await fatou.says("/forget")
    await fatou.receives("You are a facilitator")


async def test_leave_says_what_is_kept_and_points_to_forget(manual):
    network, _ = manual
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await amina.says("/leave")
    answer = await amina.receives("Do you really want to leave")
    assert "/forget" in answer.text


async def test_received_texts_lose_their_words_after_the_retention_period(manual):
    network, clock = manual
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await amina.says("An old question about school feeding programmes in the Sahel?")
    await amina.receives("Here is your question")
    clock.advance(91 * DAY)
    await amina.says("A recent question about child marriage laws?")
    await amina.receives("Here is your question")
    await network.app.privacy.tidy()
    kept = [body for (body,) in rows(network, "SELECT body FROM inbound WHERE user_id = 'a1' ORDER BY id")]
    assert not any("school feeding" in body for body in kept)
    assert any("child marriage" in body for body in kept)
    assert rows(network, "SELECT count(*) FROM inbound WHERE user_id = 'a1' AND handled_at IS NULL") == [(0,)]


def test_a_platform_that_cannot_take_files_gets_the_file_in_the_text():
    document = Document("data.json", "application/json", b'{"name": "Amina"}')
    message = Message(spans=(Span("Your data:"),), document=document)
    no_files = Capabilities(max_text=4096, max_buttons=3, max_button_label=20, can_edit=False, can_reply_to=False)
    fitted = fit(message, no_files)
    assert fitted.document is None and '{"name": "Amina"}' in fitted.text
    with_files = Capabilities(max_text=4096, max_buttons=3, max_button_label=20, can_edit=False, can_reply_to=False,
                              can_send_documents=True, max_document_bytes=10)
    assert fit(message, with_files).document is None  # too big for the platform: in the text too
    roomy = Capabilities(max_text=4096, max_buttons=3, max_button_label=20, can_edit=False, can_reply_to=False,
                         can_send_documents=True)
    assert fit(message, roomy).document == document
