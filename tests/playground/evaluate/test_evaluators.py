"""String rules exactly as gh models applies them, and how a judge's answer becomes a score."""

from __future__ import annotations

import pytest

from playground.evaluate.evaluators import (
    BUILTINS,
    RATING_CHOICES,
    check_string,
    judge_messages,
    judge_result,
    match_choice,
    string_result,
)
from playground.promptfile import BUILTIN_EVALUATORS, Choice, StringEvaluator

YES_NO = [Choice("yes", 1.0), Choice("no", 0.0)]


@pytest.mark.parametrize("rule, expected, output, passed", [
    ("equals", "Paris", "Paris", True),
    ("equals", "Paris", "paris", False),  # equals is case-sensitive
    ("equals", "Paris", "Paris.", False),
    ("contains", "PARIS", "It is paris, France", True),  # the others are not
    ("contains", "Lyon", "It is Paris", False),
    ("startsWith", "the answer", "The Answer is 4", True),
    ("startsWith", "answer", "The answer is 4", False),
    ("endsWith", "FOUR", "the answer is four", True),
    ("endsWith", "four", "four is the answer", False),
])
def test_string_rules(rule, expected, output, passed):
    assert check_string(rule, expected, output) is passed
    result = string_result("rule", StringEvaluator(rule, expected), {}, output)
    assert (result.score, result.passed) == ((1.0, True) if passed else (0.0, False))


def test_string_values_are_templated_with_the_test_data():
    rule = StringEvaluator("contains", "{{expected}}")
    result = string_result("has it", rule, {"expected": "Tokyo"}, "The capital is TOKYO")
    assert (result.evaluator, result.score, result.passed) == ("has it", 1.0, True)
    assert result.details == "Expected to contain 'Tokyo'"
    failed = string_result("has it", rule, {"expected": "Kyoto"}, "The capital is Tokyo")
    assert not failed.passed and failed.details == "Expected to contain 'Kyoto'; the output was 'The capital is Tokyo'"
    number = string_result("n", StringEvaluator("equals", "{{n}}"), {"n": 4}, "4")
    assert number.passed
    unknown = string_result("u", StringEvaluator("equals", "{{missing}}"), {}, "{{missing}}")
    assert unknown.passed  # unknown placeholders stay as they are


@pytest.mark.parametrize("answer, choice, score", [
    ("Yes.", "yes", 1.0),
    ("NO", "no", 0.0),
    ("no... well, yes", "yes", 1.0),  # several choices: the first in the file's order wins, not the first in the text
    ("I'd give it 4, not 2", "2", 0.25),
    ("Rating: 5 out of 5", "5", 1.0),
    ("3/5", "3", 0.5),
    ("I cannot tell", "no", 0.0),  # a plain substring search, as gh models does: "cannot" holds "no"
])
def test_the_first_listed_choice_found_in_the_answer_gives_the_score(answer, choice, score):
    choices = YES_NO if choice in ("yes", "no") else RATING_CHOICES
    result = judge_result("judge", "llm", choices, answer)
    assert (result.score, result.passed) == (score, score > 0)
    assert result.details == f"The judge's answer {answer.strip()!r} matched choice {choice!r}"
    assert result.judge_answer == answer


def test_an_answer_with_no_choice_scores_zero_and_quotes_the_answer():
    result = judge_result("judge", "llm", YES_NO, "  Unclear to me. ")
    assert (result.score, result.passed) == (0.0, False)
    assert result.details == "The judge's answer 'Unclear to me.' matched none of the choices ('yes', 'no')"
    assert match_choice(YES_NO, "")[0] is None


def test_judge_prompt_gets_the_test_data_and_the_completion():
    llm = BUILTINS["github/similarity"]
    messages = judge_messages(llm, {"input": "2+2?", "expected": "4"}, "four")
    assert messages[0]["role"] == "system" and "1 to 5" in messages[0]["content"]
    assert "QUESTION: 2+2?\nCORRECT: 4\nPREDICTED: four" in messages[1]["content"]
    assert "{{" not in messages[1]["content"]


def test_every_builtin_rates_one_to_five():
    assert set(BUILTINS) == set(BUILTIN_EVALUATORS)
    for llm in BUILTINS.values():
        assert [(c.choice, c.score) for c in llm.choices] == [("1", 0.0), ("2", 0.25), ("3", 0.5), ("4", 0.75),
                                                               ("5", 1.0)]
        assert "{{completion}}" in llm.prompt
