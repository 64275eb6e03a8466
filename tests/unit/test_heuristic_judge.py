"""The heuristic judge on the labelled set: accuracy, precision and recall for the "ungrounded" label."""

from collections import Counter

from agentwatch.evaluators._model import Answer, Source
from agentwatch.evaluators.heuristic import HeuristicJudge

from .grounding_cases import build_cases


def _ungrounded(scores) -> bool:
    grounding = next(s for s in scores if s.metric == "grounding")
    return grounding.label == "ungrounded" or grounding.score < 0.5


def test_labelled_set_precision_recall(capsys):
    judge = HeuristicJudge()
    cases = build_cases()
    assert len(cases) >= 200
    tp = fp = fn = tn = 0
    misses = Counter()
    for case in cases:
        predicted = _ungrounded(judge.score(case.answer))
        if predicted and case.ungrounded:
            tp += 1
        elif predicted:
            fp += 1
            misses[f"false alarm: {case.kind}"] += 1
        elif case.ungrounded:
            fn += 1
            misses[f"missed: {case.kind}"] += 1
        else:
            tn += 1
    accuracy = (tp + tn) / len(cases)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    with capsys.disabled():
        print(
            f"\nheuristic judge on {len(cases)} labelled cases: accuracy {accuracy:.3f}, precision (ungrounded) "
            f"{precision:.3f}, recall (ungrounded) {recall:.3f}; {dict(misses)}"
        )
    assert accuracy >= 0.9 and precision >= 0.9 and recall >= 0.9


def test_calibration_penalises_confidence_over_failed_tools():
    judge = HeuristicJudge()
    failed = [Source("tool", "get_order", '{"error": "timeout"}', failed=True)]
    confident = judge.score(Answer("t", "s", None, "Where is my order?", "Your order A-1 arrives on Friday.", failed))
    honest = judge.score(
        Answer("t", "s", None, "Where is my order?", "I could not find your order; the lookup failed.", failed)
    )
    calibration = {s.metric: s for s in confident}["calibration"]
    assert calibration.score <= 0.2 and calibration.label == "overconfident"
    assert {s.metric: s for s in honest}["calibration"].score >= 0.9


def test_relevance_wants_the_kind_of_answer_asked_for():
    judge = HeuristicJudge()
    sources = [Source("tool", "stock", '{"in_stock": 12}')]
    on_topic = judge.score(
        Answer("t", "s", None, "How many kettles are in stock?", "There are 12 kettles in stock.", sources)
    )
    off_topic = judge.score(
        Answer("t", "s", None, "How many kettles are in stock?", "Our store opens at nine.", sources)
    )
    assert {s.metric: s for s in on_topic}["relevance"].score > 0.8
    assert {s.metric: s for s in off_topic}["relevance"].score < 0.4


def test_explanations_name_the_unsupported_specifics():
    judge = HeuristicJudge()
    scores = judge.score(
        Answer(
            "t",
            "s",
            None,
            "Price?",
            "The lamp costs $49.99 in Denver.",
            [Source("tool", "p", '{"price_usd": "39.99", "city": "Denver"}')],
        )
    )
    grounding = {s.metric: s for s in scores}["grounding"]
    assert "49.99" in grounding.explanation and grounding.label == "ungrounded"
