"""LocalLM: whole and streamed answers agree, stop strings, the plain-prompt fallback, bad requests."""

from __future__ import annotations

import copy

import pytest

from codx.errors import LanguageModelRequestError
from codx.models.lm.generate import (
    PLAIN_STOPS,
    LocalLM,
    _first_stop,
    _held_back,
    normalise_messages,
    plain_prompt,
)

pytestmark = pytest.mark.slow

QUESTION = [
    {"role": "system", "content": "You are a careful clinical assistant."},
    {"role": "user", "content": "What can cause a fever with a cough?"},
]


def test_chat_and_stream_agree(smollm: LocalLM):
    whole = smollm.chat(QUESTION, max_new_tokens=12)
    stream = smollm.stream(QUESTION, max_new_tokens=12)
    pieces = list(stream)
    assert len(pieces) > 1 and whole.text
    assert "".join(pieces) == whole.text
    assert stream.result is not None
    assert stream.result.text == whole.text
    assert (stream.result.prompt_tokens, stream.result.completion_tokens) == (whole.prompt_tokens, 12)
    assert whole.completion_tokens == 12 and whole.finish_reason == stream.result.finish_reason == "length"
    assert whole.prompt_tokens == smollm.count_tokens(smollm.render(QUESTION))


def test_stop_strings_cut_the_answer_whole_and_streamed(smollm: LocalLM):
    full = smollm.chat(QUESTION, max_new_tokens=10).text
    stop = full.split()[3]  # a word the greedy answer contains
    cut = smollm.chat(QUESTION, max_new_tokens=10, stop=[stop])
    assert cut.text == full[: full.index(stop)] and cut.finish_reason == "stop"
    assert cut.completion_tokens < 10
    stream = smollm.stream(QUESTION, max_new_tokens=10, stop=stop)
    assert "".join(stream) == cut.text
    assert stream.result is not None and stream.result.finish_reason == "stop"


def test_closing_a_stream_early_frees_the_model(smollm: LocalLM):
    stream = smollm.stream(QUESTION, max_new_tokens=200)
    assert next(stream)
    stream.close()
    assert smollm.chat(QUESTION, max_new_tokens=2).completion_tokens == 2  # the lock was released


def test_sampling_runs(smollm: LocalLM):
    r = smollm.chat(QUESTION, max_new_tokens=4, temperature=0.8)
    assert r.completion_tokens <= 4


def test_a_model_without_chat_template_gets_plain_prompts(smollm: LocalLM):
    tokenizer = copy.deepcopy(smollm.tokenizer)
    tokenizer.chat_template = None
    base = LocalLM(smollm.model, tokenizer, name="base-like")
    assert base.prompt_format == "plain" and "no chat template" in base.notes[0]
    prompt = base.render(QUESTION)
    assert (
        prompt
        == "system: You are a careful clinical assistant.\nuser: What can cause a fever with a cough?\nassistant:"
    )
    r = base.chat(QUESTION, max_new_tokens=12)
    assert not any(s in r.text for s in PLAIN_STOPS)
    assert "".join(base.stream(QUESTION, max_new_tokens=12)) == r.text


@pytest.mark.parametrize(
    ("messages", "kwargs", "match"),
    [
        ([], {}, "empty"),
        ("hello", {}, "list"),
        ([{"role": "doctor", "content": "x"}], {}, "role"),
        ([{"role": "user", "content": [{"type": "image_url"}]}], {}, "only text"),
        ([{"role": "user", "content": "x"}], {"max_new_tokens": 0}, "positive"),
        ([{"role": "user", "content": "x"}], {"max_new_tokens": 10**6}, "reads at most 8192"),
        ([{"role": "user", "content": "x"}], {"temperature": 5.0}, "temperature"),
        ([{"role": "user", "content": "x"}], {"stop": [""]}, "stop"),
    ],
)
def test_bad_requests_are_refused_before_generating(smollm: LocalLM, messages, kwargs, match):
    with pytest.raises(LanguageModelRequestError, match=match):
        smollm.chat(messages, **kwargs)
    with pytest.raises(LanguageModelRequestError, match=match):
        smollm.stream(messages, **kwargs)


def test_message_shapes():
    parts = [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    assert normalise_messages(parts) == [{"role": "user", "content": "a\nb"}]
    assert normalise_messages([{"role": "assistant", "content": None}]) == [{"role": "assistant", "content": ""}]
    assert plain_prompt([{"role": "user", "content": "hi"}]) == "user: hi\nassistant:"


def test_stop_helpers():
    assert _first_stop("abc. user: x", ["user:", "."]) == 3
    assert _first_stop("abc", ["x"]) == -1
    assert _held_back("answer\nus", ["\nuser:"]) == 3
    assert _held_back("answer", ["\nuser:"]) == 0
