"""The consolidated reply's summary: extractive, offline, deterministic."""

from bot.domain.summary import summarize

QUESTION = "How do cash transfers reach children in remote areas?"
REPLIES = [
    ("Bola (Ghana)", "Mobile money agents in each district worked well for disbursement. "
                     "They also trained local staff to register families."),
    ("Carla (Peru)", "Community health workers carried enrolment forms to remote villages. "
                     "Mobile money agents in each district worked well for disbursement."),
    ("anonymous", "We paired transfers with parenting sessions on market days. Attendance was high."),
    ("Dina (Nepal)", "Radio announcements in local languages told families when payments were due. "
                     "Dr. Sharma's team, e.g. in Karnali, checked that every eligible child was listed."),
]


def test_the_summary_is_three_to_seven_credited_points():
    points = summarize(QUESTION, REPLIES)
    assert 3 <= len(points) <= 7
    sources = {author: text for author, text in REPLIES}
    for point in points:
        assert point.sentence in sources[point.author]


def test_the_same_replies_always_give_the_same_summary():
    assert summarize(QUESTION, REPLIES) == summarize(QUESTION, list(REPLIES))
    assert [p.sentence for p in summarize(QUESTION, REPLIES)] == [p.sentence for p in summarize(QUESTION, REPLIES)]


def test_near_duplicate_sentences_are_not_both_chosen():
    points = summarize(QUESTION, REPLIES)
    assert sum("Mobile money agents" in p.sentence for p in points) == 1


def test_points_cover_several_contributors():
    assert len({p.author for p in summarize(QUESTION, REPLIES)}) >= 3


def test_abbreviations_do_not_split_sentences():
    points = summarize(QUESTION, [("Dina", REPLIES[3][1])], most=7)
    assert any("Dr. Sharma's team, e.g. in Karnali" in p.sentence for p in points)


def test_french_and_arabic_replies_are_summarised_too():
    french = [("Claire", "La revalorisation automatique protège la valeur des prestations. Le gouvernement "
                         "publie chaque année le montant. Les familles savent ainsi à quoi s'attendre.")]
    arabic = [("Omar", "ساعدت التحويلات النقدية الأسر على إرسال الأطفال إلى المدارس. كان النقل هو العائق الرئيسي؟ "
                       "قدمت البلديات حافلات مجانية للطلاب.")]
    assert len(summarize("Comment indexer les prestations ?", french)) == 3
    assert len(summarize("كيف نبقي الأطفال في المدارس؟", arabic)) == 3


def test_little_input_gives_what_there_is():
    assert summarize(QUESTION, []) == []
    assert [p.sentence for p in summarize(QUESTION, [("Bola", "Use mobile money agents.")])] == [
        "Use mobile money agents."]
