"""The domain's rules, with no event loop and no database."""

from dataclasses import replace

import pytest

from bot.domain.discussions import MAX_QUESTION_CHARS, Discussion, State, TRANSITIONS, check_text
from bot.domain.members import Identity, Member, Status, clean_field, clean_topics, has_words
from bot.domain.refusal import Refusal

ASKER, FACILITATOR = 1, 2
DAY = 86400.0


def question(**changes) -> Discussion:
    return replace(Discussion(id=7, asker_id=ASKER, text="How do cash transfers reach children?"), **changes)


def test_approval_opens_the_discussion_until_the_reply_window_ends():
    approved = question().approve(by=FACILITATOR, at=1000.0, reply_window=21 * DAY)
    assert isinstance(approved, Discussion)
    assert approved.state is State.APPROVED and approved.is_open
    assert approved.deadline_at == 1000.0 + 21 * DAY
    assert approved.state_by == FACILITATOR
    assert approved.version == 2


def test_a_question_cannot_be_approved_twice():
    approved = question().approve(FACILITATOR, 0.0, DAY)
    again = approved.approve(3, 1.0, DAY)
    assert isinstance(again, Refusal)
    assert "already been approved" in again.reason


@pytest.mark.parametrize("state", [State.REJECTED, State.PUBLISHED, State.WITHDRAWN])
def test_final_states_refuse_every_move(state):
    final = question(state=state)
    for attempt in (
        final.approve(FACILITATOR, 0.0, DAY),
        final.reject(FACILITATOR, "no"),
        final.close(0.0),
        final.publish(FACILITATOR, 0.0),
        final.ask_to_clarify(FACILITATOR, "what do you mean?"),
        final.withdraw(ASKER),
    ):
        assert isinstance(attempt, Refusal)


def test_transitions_are_exactly_those_of_the_design():
    assert TRANSITIONS[State.SUBMITTED] == {State.CLARIFYING, State.APPROVED, State.REJECTED, State.WITHDRAWN}
    assert TRANSITIONS[State.CLARIFYING] == {State.SUBMITTED, State.WITHDRAWN}
    assert TRANSITIONS[State.APPROVED] == {State.CLOSED, State.WITHDRAWN}
    # closed -> approved: a discussion that got no replies is shared again.
    assert TRANSITIONS[State.CLOSED] == {State.PUBLISHED, State.WITHDRAWN, State.APPROVED}


def test_only_a_discussion_without_replies_can_be_shared_again():
    closed = question(state=State.CLOSED)
    assert isinstance(closed.reshare(FACILITATOR, 10.0, DAY, replies=2), Refusal)
    reshared = closed.reshare(FACILITATOR, 10.0, DAY, replies=0)
    assert isinstance(reshared, Discussion) and reshared.is_open and reshared.deadline_at == 10.0 + DAY


def test_extension_moves_the_deadline_and_allows_a_new_reminder():
    open_one = question(state=State.APPROVED, deadline_at=100.0, reminded_at=50.0)
    extended = open_one.extend(FACILITATOR, 7 * DAY)
    assert isinstance(extended, Discussion)
    assert extended.deadline_at == 100.0 + 7 * DAY and extended.reminded_at is None
    assert isinstance(question(state=State.CLOSED).extend(FACILITATOR, DAY), Refusal)


def test_the_reminder_is_sent_once():
    reminded = question(state=State.APPROVED).remind(at=5.0)
    assert isinstance(reminded, Discussion) and reminded.reminded_at == 5.0
    assert isinstance(reminded.remind(at=6.0), Refusal)


def test_clarification_round_trip_adds_the_askers_answer_to_the_question():
    clarifying = question().ask_to_clarify(FACILITATOR, "Which country?")
    assert isinstance(clarifying, Discussion) and clarifying.state is State.CLARIFYING
    assert clarifying.reason == "Which country?"
    cannot_approve = clarifying.approve(FACILITATOR, 0.0, DAY)
    assert isinstance(cannot_approve, Refusal)
    answered = clarifying.clarify(ASKER, "Kenya, mostly rural counties.")
    assert isinstance(answered, Discussion) and answered.state is State.SUBMITTED
    assert answered.text.endswith("Kenya, mostly rural counties.")
    assert answered.text.startswith("How do cash transfers")


def test_only_the_asker_can_clarify_or_withdraw():
    clarifying = question(state=State.CLARIFYING)
    assert isinstance(clarifying.clarify(FACILITATOR, "x y"), Refusal)
    assert isinstance(question().withdraw(FACILITATOR), Refusal)
    assert question().withdraw(ASKER).state is State.WITHDRAWN  # type: ignore[union-attr]


def test_edit_replaces_text_only_before_approval():
    edited = question().edit(FACILITATOR, "  A better question?  ")
    assert isinstance(edited, Discussion) and edited.text == "A better question?"
    approved = question(state=State.APPROVED)
    assert isinstance(approved.edit(FACILITATOR, "late"), Refusal)


def test_withdrawal_is_possible_until_publication():
    for state in (State.SUBMITTED, State.CLARIFYING, State.APPROVED, State.CLOSED):
        assert question(state=state).withdraw(ASKER).state is State.WITHDRAWN  # type: ignore[union-attr]
    assert isinstance(question(state=State.PUBLISHED).withdraw(ASKER), Refusal)


def test_close_then_publish():
    closed = question(state=State.APPROVED).close(at=5.0)
    assert isinstance(closed, Discussion) and closed.closed_at == 5.0 and not closed.is_open
    published = closed.publish(FACILITATOR, at=6.0)
    assert isinstance(published, Discussion) and published.state is State.PUBLISHED


def test_replies_are_accepted_only_while_open():
    assert question(state=State.APPROVED).accepts_replies() is None
    assert isinstance(question(state=State.CLOSED).accepts_replies(), Refusal)
    assert isinstance(question(state=State.SUBMITTED).accepts_replies(), Refusal)


@pytest.mark.parametrize("text, expected", [
    ("", "empty"),
    ("   \n ", "empty"),
    ("😀🎉👍", "emoji"),
    ("x" * (MAX_QUESTION_CHARS + 1), "shorten"),
])
def test_unusable_texts_are_refused_with_a_reason(text, expected):
    refusal = check_text(text, MAX_QUESTION_CHARS)
    assert isinstance(refusal, Refusal)
    assert expected in refusal.reason


def test_right_to_left_text_is_a_valid_question():
    assert check_text("  كيف نصل إلى الأطفال في المناطق النائية؟ ", MAX_QUESTION_CHARS) == (
        "كيف نصل إلى الأطفال في المناطق النائية؟"
    )


def test_member_attribution_leaves_out_what_is_missing():
    assert Member(1, name="Amina", organization="UNICEF", country="Nigeria").attribution() == "Amina (UNICEF, Nigeria)"
    assert Member(1, name="Amina", country="Nigeria").attribution() == "Amina (Nigeria)"
    assert Member(1, name="Amina").attribution() == "Amina"


def test_member_status_changes_refuse_what_makes_no_sense():
    member = Member(1)
    paused = member.pause()
    assert isinstance(paused, Member) and paused.status is Status.PAUSED and not paused.receives_broadcasts
    assert isinstance(paused.pause(), Refusal)
    assert paused.resume().status is Status.ACTIVE  # type: ignore[union-attr]
    assert isinstance(member.resume(), Refusal)
    left = member.leave()
    assert isinstance(left, Member) and left.status is Status.LEFT
    assert isinstance(left.leave(), Refusal) and isinstance(left.pause(), Refusal)


def test_best_identity_is_the_reachable_one_used_last():
    member = Member(1, identities=(
        Identity("telegram", "1", last_seen_at=10.0),
        Identity("webchat", "w", last_seen_at=20.0, reachable=False),
        Identity("slack", "U1", last_seen_at=15.0),
    ))
    assert member.best_identity().platform == "slack"  # type: ignore[union-attr]
    assert Member(2, identities=(Identity("telegram", "1", reachable=False),)).best_identity() is None


def test_profile_fields_are_tidied_and_bounded():
    assert clean_field("name", "  Amina   Yusuf ") == "Amina Yusuf"
    assert isinstance(clean_field("name", "🙂"), Refusal)
    assert isinstance(clean_field("country", "x" * 61), Refusal)
    assert clean_topics("education, Child poverty; education\nsocial protection") == (
        "education", "Child poverty", "social protection")
    assert isinstance(clean_topics(" , ;"), Refusal)
    assert isinstance(clean_topics(",".join(f"topic {n}" for n in range(11))), Refusal)


def test_words_in_any_script_count_as_words():
    assert has_words("مرحبا") and has_words("你好") and has_words("42")
    assert not has_words("🙂🙂 !!") and not has_words("")
