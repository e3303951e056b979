"""intake's rules without Flask or a database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from services.intake import rules as domain

T0 = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)


def _call(**kw):
    categories = domain.default_categories()
    for c in categories:
        for criterion in c["criteria"]:
            criterion.update(required=True, word_limit=3)
    base = dict(year=2026, status="open", opens_at=T0 - timedelta(days=100), closes_at=T0,
                categories=categories, documents=[])
    base.update(kw)
    return SimpleNamespace(**base)


def _application(**kw):
    base = dict(status="draft", category="leadership", title="t", summary="s", answers={})
    base.update(kw)
    return SimpleNamespace(**base)


def _exception(closes_at, revoked_at=None):
    return SimpleNamespace(closes_at=closes_at, revoked_at=revoked_at)


def test_word_count_counts_whitespace_separated_words():
    assert domain.word_count(" 高雄 harbour\n\tbuses  ") == 3
    assert domain.word_count(None) == 0


def test_default_categories_leadership_has_its_own_criteria_with_guidance():
    leadership = domain.default_categories()[2]
    assert [c["key"] for c in leadership["criteria"]] == ["vision", "impact", "collaboration", "influence"]
    assert all(c["guidance"] for c in leadership["criteria"])


def test_effective_closes_at_unrevoked_exception_extends():
    later = T0 + timedelta(days=3)
    assert domain.effective_closes_at(_call(), _exception(later)) == later


def test_effective_closes_at_revoked_exception_is_ignored():
    assert domain.effective_closes_at(_call(), _exception(T0 + timedelta(days=3), revoked_at=T0)) == T0


def test_effective_closes_at_exception_never_shortens():
    assert domain.effective_closes_at(_call(), _exception(T0 - timedelta(days=3))) == T0


def test_check_may_submit_after_closing_is_refused():
    with pytest.raises(domain.RuleViolation) as exc_info:
        domain.check_may_submit(_application(answers={k: "a" for k in ("vision", "impact", "collaboration", "influence")}),
                                _call(), T0 + timedelta(seconds=1))
    assert exc_info.value.status == 409


def test_check_may_submit_with_exception_time_is_allowed():
    answers = {k: "a" for k in ("vision", "impact", "collaboration", "influence")}
    domain.check_may_submit(_application(answers=answers), _call(), T0 + timedelta(hours=1),
                            closes_at=T0 + timedelta(days=1))


def test_missing_for_submission_names_answers_over_limit_and_documents():
    app = _application(title="", answers={"vision": "one two three four", "impact": "x",
                                          "collaboration": "x"})
    assert domain.missing_for_submission(app, _call(), ["application_form"]) == [
        "title", "answers.vision (over 3 words)", "answers.influence", "documents.application_form"]


def test_completeness_is_the_share_of_required_parts():
    call = _call(documents=[{"key": "application_form", "required": True}])
    app = _application(answers={"vision": "x", "impact": "y"})
    # title, summary, 2 of 4 answers filled; the document missing: 4 of 7
    assert domain.completeness(app, call, ["application_form"]) == round(100 * 4 / 7)


def test_unknown_answer_keys_are_listed_sorted():
    assert domain.unknown_answer_keys(_call(), "leadership", {"vision": "", "zeta": "", "problem": ""}) == ["problem", "zeta"]


def _update(stage, minutes):
    return SimpleNamespace(stage=stage, detail="", occurred_at=T0 + timedelta(minutes=minutes))


def test_timeline_hides_unreleased_rounds():
    app = SimpleNamespace(created_at=T0, submitted_at=T0, withdrawn_at=None)
    updates = [_update("eligible", 1), _update("finalist", 2), _update("winner", 3),
               _update("released:finalist", 4)]
    assert [s["stage"] for s in domain.timeline(app, updates)] == ["draft", "submitted", "eligible", "finalist"]
