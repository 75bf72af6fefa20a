"""The agent's chat-model interface: a local model as a langchain BaseChatModel, and the spec parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from codx.agent.chat_models import LocalChatModel, make_chat_model, to_openai_messages
from codx.errors import LanguageModelError
from codx.models.lm.generate import LocalLM

MESSAGES = [SystemMessage("You are a careful clinical assistant."), HumanMessage("What is a fever?")]


@pytest.mark.slow
def test_invoke_and_stream_agree(smollm: LocalLM):
    model = LocalChatModel(lm=smollm, max_new_tokens=10)
    answer = model.invoke(MESSAGES)
    assert isinstance(answer, AIMessage) and answer.content
    assert answer.usage_metadata["output_tokens"] == 10
    assert answer.response_metadata["finish_reason"] == "length"
    chunks = list(model.stream(MESSAGES))
    assert len(chunks) > 2
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole.content == answer.content
    assert whole.usage_metadata["output_tokens"] == 10
    assert whole.usage_metadata["input_tokens"] == answer.usage_metadata["input_tokens"]


@pytest.mark.slow
def test_stop_and_per_call_options(smollm: LocalLM):
    model = LocalChatModel(lm=smollm, max_new_tokens=8)
    full = model.invoke(MESSAGES).content
    word = full.split()[2]
    assert model.invoke(MESSAGES, stop=[word]).content == full[: full.index(word)]
    assert model.invoke(MESSAGES, max_new_tokens=3).usage_metadata["output_tokens"] == 3


@pytest.mark.slow
def test_make_chat_model_loads_local_models(smollm_data_dir: Path):
    models_dir = smollm_data_dir / "models"
    by_name = make_chat_model("smollm2-135m-instruct", models_dir, max_new_tokens=4)
    assert isinstance(by_name, LocalChatModel) and isinstance(by_name, BaseChatModel)
    assert by_name.lm.name == "smollm2-135m-instruct" and by_name.max_new_tokens == 4
    by_path = make_chat_model(str(models_dir / "lm" / "smollm2-135m-instruct"), models_dir)
    assert by_path.lm.name == "smollm2-135m-instruct"


def test_openai_specs_build_chat_openai(tmp_path: Path):
    from langchain_openai import ChatOpenAI

    model = make_chat_model("openai:http://gpu-box:8000/v1#Qwen/Qwen3-8B", tmp_path, max_new_tokens=64)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "Qwen/Qwen3-8B" and model.openai_api_base == "http://gpu-box:8000/v1"
    assert model.max_tokens == 64 and model.temperature == 0.0
    with pytest.raises(LanguageModelError, match="address"):
        make_chat_model("openai:gpu-box#m", tmp_path)
    with pytest.raises(LanguageModelError, match="is the server running"):
        make_chat_model("openai:http://127.0.0.1:9/v1", tmp_path)  # nothing listens on port 9
    with pytest.raises(LanguageModelError, match="smollm2-135m-instruct"):
        make_chat_model("no-such-model", tmp_path)


def test_message_roles():
    messages = [*MESSAGES, AIMessage("A raised temperature."), ToolMessage("42", tool_call_id="1")]
    assert [m["role"] for m in to_openai_messages(messages)] == ["system", "user", "assistant", "tool"]
