"""The evaluators of a prompt file: string rules, LLM judges, and the built-in `github/*` judges.

String rules follow gh models exactly: `equals` is case-sensitive, `contains`, `startsWith` and
`endsWith` are not; the score is 1 or 0. A judge's answer is searched for the choices in the
order the file lists them: the first choice whose text appears in the answer (ignoring case)
gives the score, and the evaluator passes when that score is above 0. An answer holding none of
them scores 0 and fails, and the details quote it.

The built-in judges are this project's own prompts in the spirit of gh models' (which adapt
promptflow's): a 1-5 rating, mapped to 0, .25, .5, .75 and 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..promptfile import Choice, Evaluator, LLMEvaluator, StringEvaluator, render

RATING_CHOICES = [Choice(str(stars), (stars - 1) / 4) for stars in range(1, 6)]
COMPLETION = "completion"


@dataclass
class EvaluatorResult:
    evaluator: str  # the evaluator's name in the file
    score: float
    passed: bool
    details: str
    kind: str = "string"  # string | llm | uses
    judge_answer: str | None = None  # what the judge said (llm and uses)
    prompt_tokens: int | None = None  # the judge call's usage
    completion_tokens: int | None = None
    latency: float | None = None  # the judge call's seconds

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- string rules -----------------------------------------------------------------------------

_RULE_WORDS = {"equals": "exactly", "contains": "to contain", "startsWith": "to start with",
               "endsWith": "to end with"}


def check_string(rule: str, expected: str, output: str) -> bool:
    if rule == "equals":
        return output == expected
    low_output, low_expected = output.lower(), expected.lower()
    if rule == "contains":
        return low_expected in low_output
    if rule == "startsWith":
        return low_output.startswith(low_expected)
    if rule == "endsWith":
        return low_output.endswith(low_expected)
    raise ValueError(f"unknown string rule {rule!r}")


def string_result(name: str, rule: StringEvaluator, values: Mapping[str, Any], output: str) -> EvaluatorResult:
    expected = render(rule.value, values)
    passed = check_string(rule.rule, expected, output)
    words = _RULE_WORDS[rule.rule]
    details = f"Expected {words} {expected!r}" + ("" if passed else f"; the output was {_preview(output)!r}")
    return EvaluatorResult(name, 1.0 if passed else 0.0, passed, details, "string")


def _preview(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- judges -----------------------------------------------------------------------------------

def judge_messages(llm: LLMEvaluator, values: Mapping[str, Any], output: str) -> list[dict[str, str]]:
    """The judge's request: the system prompt as it is, the prompt with the test data and the
    model's output (`{{completion}}`) filled in."""
    data = {**values, COMPLETION: output}
    messages = []
    if llm.system_prompt:
        messages.append({"role": "system", "content": llm.system_prompt})
    messages.append({"role": "user", "content": render(llm.prompt, data)})
    return messages


def match_choice(choices: Sequence[Choice], answer: str) -> tuple[Choice | None, str]:
    """The first choice (in the file's order) whose text is in the answer, ignoring case."""
    low = answer.strip().lower()
    for choice in choices:
        if choice.choice.lower() in low:
            return choice, f"The judge's answer {_preview(answer.strip())!r} matched choice {choice.choice!r}"
    return None, f"The judge's answer {_preview(answer.strip())!r} matched none of the choices " \
                 f"({', '.join(repr(c.choice) for c in choices)})"


def judge_result(name: str, kind: str, choices: Sequence[Choice], answer: str) -> EvaluatorResult:
    choice, details = match_choice(choices, answer)
    score = choice.score if choice else 0.0
    return EvaluatorResult(name, score, score > 0, details, kind, judge_answer=answer)


def judge_spec(evaluator: Evaluator) -> LLMEvaluator | None:
    """The judge an evaluator asks for: its own `llm`, a built-in for `uses`, None for string rules."""
    if evaluator.llm:
        return evaluator.llm
    if evaluator.uses:
        return BUILTINS[evaluator.uses]
    return None


# -- built-in judges --------------------------------------------------------------------------

_SYSTEM = ("You grade the answers of an AI assistant. You are given a definition of one quality and a "
           "1 to 5 scale. Read the data, decide, and reply with the rating only: a single digit from 1 to 5, "
           "no words.")

_SCALE_END = "\n\nReply with one digit from 1 to 5.\nRating:"


def _builtin(prompt: str) -> LLMEvaluator:
    return LLMEvaluator(model_id="openai/gpt-4o", prompt=prompt + _SCALE_END, choices=list(RATING_CHOICES),
                        system_prompt=_SYSTEM)


BUILTINS: dict[str, LLMEvaluator] = {
    "github/similarity": _builtin(
        "Quality: SIMILARITY. How close the PREDICTED answer is in meaning to the CORRECT answer for the "
        "QUESTION. Wording may differ; facts and conclusions should match.\n"
        "1 = nothing in common or contradicts it; 2 = mostly different; 3 = partly the same; "
        "4 = mostly the same, small gaps; 5 = the same meaning.\n\n"
        "Example: QUESTION: What do bees make? CORRECT: Honey and wax. PREDICTED: They make honey and "
        "beeswax. Rating: 5\n"
        "Example: QUESTION: What do bees make? CORRECT: Honey and wax. PREDICTED: Silk. Rating: 1\n\n"
        "QUESTION: {{input}}\nCORRECT: {{expected}}\nPREDICTED: {{completion}}"),
    "github/coherence": _builtin(
        "Quality: COHERENCE. Whether the RESPONSE reads as an ordered, logical whole that a reader can "
        "follow: sentences connect, ideas come in a sensible sequence, and it addresses the QUERY.\n"
        "1 = disjointed words, no meaning; 2 = fragments, hard to follow; 3 = understandable but jumpy; "
        "4 = clear with minor lapses; 5 = clear, well organised throughout.\n\n"
        "QUERY: {{input}}\nRESPONSE: {{completion}}"),
    "github/fluency": _builtin(
        "Quality: FLUENCY. How well the RESPONSE is written as language, regardless of whether it is right: "
        "grammar, vocabulary, sentence flow.\n"
        "1 = barely readable; 2 = many errors, simple words; 3 = readable with some errors; "
        "4 = well written, rare errors; 5 = polished and natural.\n\n"
        "RESPONSE: {{completion}}"),
    "github/relevance": _builtin(
        "Quality: RELEVANCE. How well the RESPONSE answers the QUERY: on topic, complete, with the "
        "information that was asked for.\n"
        "1 = off topic; 2 = touches the topic but misses the question; 3 = partly answers it; "
        "4 = answers it with small omissions; 5 = answers it fully and directly.\n\n"
        "QUERY: {{input}}\nRESPONSE: {{completion}}"),
    "github/groundedness": _builtin(
        "Quality: GROUNDEDNESS. Whether everything the RESPONSE claims is supported by the CONTEXT, "
        "and nothing is made up or contradicts it.\n"
        "1 = unrelated to or contradicts the context; 2 = mostly unsupported claims; 3 = partly supported; "
        "4 = supported with a minor unsupported detail; 5 = fully supported by the context.\n\n"
        "CONTEXT: {{expected}}\nQUERY: {{input}}\nRESPONSE: {{completion}}"),
}
