"""Evidence reaches the judge in the shapes agents hand it over: the judge reads the text, not the wrapping."""

import json

import pytest

from agentwatch.evaluators import Answer, HeuristicJudge, Source
from agentwatch.evaluators._evidence_text import is_conversation, split_conversation, unwrap

DOCUMENT = (
    "The Lighthouse Museum opened in 1987 in the old harbour master's house. It holds the lamp of the "
    "Kestrel Point light, which was decommissioned in 1962."
)
RIGHT = "The museum opened in 1987 and holds the Kestrel Point lamp."
WRONG = "The museum opened in 1994 and holds the Fairhaven lamp, which was decommissioned in 1971."
QUESTION = "What does the Lighthouse Museum hold?"

SHAPES = {
    "plain": DOCUMENT,
    "documents": json.dumps({"documents": [DOCUMENT]}),
    "chunks": json.dumps([{"title": "Lighthouse Museum", "content": s + "."} for s in DOCUMENT.split(". ")]),
    "search hits": json.dumps(
        {
            "query": QUESTION,
            "results": {"total": 1, "hits": [{"id": "doc-0", "score": 0.91, "document": {"page_content": DOCUMENT}}]},
        }
    ),
    "langchain documents": json.dumps([{"page_content": DOCUMENT, "metadata": {"source": "kb/museum.md"}}]),
    "string of json": json.dumps(json.dumps({"text": DOCUMENT})),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_wrapped_document_is_judged_as_the_plain_one(shape):
    judge = HeuristicJudge()

    def grounding(answer: str, source: str) -> float:
        return judge.score(Answer("t", "s", None, QUESTION, answer, [Source("tool", "search", source)]))[0].score

    assert grounding(RIGHT, SHAPES[shape]) >= 0.5
    assert grounding(WRONG, SHAPES[shape]) < 0.5
    assert abs(grounding(RIGHT, SHAPES[shape]) - grounding(RIGHT, DOCUMENT)) < 0.05


def test_long_strings_are_prose_short_ones_and_scalars_facts():
    found = unwrap(json.dumps({"order_id": "A-17", "total": 42.5, "paid": True, "note": DOCUMENT}))
    assert found.prose == (DOCUMENT,)
    assert found.facts == ("order_id: A-17", "total: 42.5", "paid: true")
    assert not found.structured


def test_a_record_is_structured():
    found = unwrap(json.dumps({"order_id": "A-17", "status": "delayed", "carrier": "DHL", "eta_days": 2}))
    assert found.structured and not found.prose


def test_a_python_dict_printed_as_text_is_read_as_data():
    found = unwrap(str({"order_id": "1093", "status": "delayed", "carrier": "DHL"}))
    assert found.facts == ("order_id: 1093", "status: delayed", "carrier: DHL")


def test_a_python_like_text_that_is_not_a_literal_stays_text():
    assert unwrap("{not: a literal} but prose").prose == ("{not: a literal} but prose",)


def test_a_markdown_table_is_facts_by_header_and_the_text_around_it_prose():
    table = (
        "Stock today:\n| sku | qty |\n|---|---:|\n| A-1 | 12 |\n| B-2 | 0 |\n"
        "Counted at the main warehouse this morning."
    )
    found = unwrap(table)
    assert found.facts == ("sku: A-1", "qty: 12", "sku: B-2", "qty: 0")
    assert found.prose == ("Stock today:", "Counted at the main warehouse this morning.")


def test_a_table_cell_that_states_facts_is_checked_against():
    table = "| order | status |\n|---|---|\n| A-1 | shipped with UPS |"
    judge = HeuristicJudge()
    ok = judge.score(
        Answer("t", "s", None, "Where is order A-1?", "Order A-1 shipped with UPS.", [Source("tool", "t", table)])
    )
    bad = judge.score(
        Answer("t", "s", None, "Where is order A-1?", "Order A-7 shipped with FedEx.", [Source("tool", "t", table)])
    )
    assert ok[0].score >= 0.5 and bad[0].score < 0.5


def test_a_search_tool_echoing_the_question_is_no_evidence_for_it():
    question = "Did Kestrel Point light close in 1962?"
    echo = [Source("tool", "search", json.dumps({"query": question, "results": []}))]
    answer = Answer("t", "s", None, question, "Yes, Kestrel Point light closed in 1962.", echo)
    grounding = HeuristicJudge().score(answer)[0]
    assert grounding.score < 0.5 or grounding.label != "grounded"


@pytest.mark.parametrize(
    "message",
    [
        "[Human]: Do you like Iron Man? [Assistant]: Sure, Robert Downey Jr. is great. [Human]: Was he in Zodiac?",
        "User: Do you like Iron Man?\nAssistant: Sure, Robert Downey Jr. is great.\nUser: Was he in Zodiac?",
        "human: Do you like Iron Man?\nAI: Sure, Robert Downey Jr. is great.\nhuman: Was he in Zodiac?",
    ],
)
def test_a_conversation_pasted_into_the_message_is_split_into_turns(message):
    question, history = split_conversation(message)
    assert question == "Was he in Zodiac?"
    assert history == "user: Do you like Iron Man?\nassistant: Sure, Robert Downey Jr. is great."


@pytest.mark.parametrize(
    "message",
    [
        "Note: the time is 10:00. Where is my order?",
        "User: where is my order A-1?",  # one speaker: no conversation
        "Summarize: [Human] wrote the report, not [Assistant].",
    ],
)
def test_a_message_that_is_not_a_conversation_is_left_alone(message):
    assert split_conversation(message) == (message, "")


def test_a_system_prompt_alone_is_no_conversation():
    assert not is_conversation("system: You are the order agent.\nAlways answer briefly.")
    assert is_conversation("system: You are the order agent.\nuser: hi\nassistant: hello")
    assert is_conversation("the customer asked about returns yesterday")  # free text a caller passed
    assert not is_conversation("  ")


def test_the_inline_conversation_is_judged_as_the_chat_messages_are():
    knowledge = "Iron Man is starring Robert Downey Jr. Robert Downey Jr. starred in Zodiac."
    history = "user: Do you like Iron Man?\nassistant: Sure do! Robert Downey Jr. is a favorite."
    inline = (
        "[Human]: Do you like Iron Man? [Assistant]: Sure do! Robert Downey Jr. is a favorite. "
        "[Human]: Was he in Zodiac?"
    )
    answer = "Yes, he starred in Zodiac."
    judge = HeuristicJudge()
    sources = [Source("tool", "knowledge", knowledge)]
    as_messages = judge.score(Answer("t", "s", None, "Was he in Zodiac?", answer, sources, history=history))
    as_inline = judge.score(Answer("t", "s", None, inline, answer, sources))
    assert [s.score for s in as_inline] == [s.score for s in as_messages]


def test_a_piece_said_twice_is_evidence_once_and_a_record_with_notes_stays_a_record():
    note = "the carrier reports it is on schedule, sorting centre scan ok"
    record = {"order": "A-0", "carrier": "DHL", "eta_days": 2, "events": [{"step": i, "note": note} for i in range(40)]}
    found = unwrap(json.dumps(record))
    assert found.prose == (note,) and found.structured  # its facts keep their rules (names, numbers, ids)
    assert found.facts.count("step: 3") == 1
