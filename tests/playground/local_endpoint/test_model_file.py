"""Bring your own model: `--model FILE.gguf` / PLAYGROUND_LOCAL_MODEL, with the shipped GGUF
copied (and its metadata edited in place) to temporary paths, served by the real endpoint."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys

import pytest
from azure.core.exceptions import HttpResponseError

from playground.client import PlaygroundError
from playground.embedded import ensure_embedded_endpoint
from playground.local_endpoint.model import default_model_path
from playground.settings import Settings, load_settings
from tests.conftest import ROOT, TEST_THREADS, start_endpoint
from tests.playground.local_endpoint.test_openai_api import oai
from tests.playground.local_endpoint.test_server import USER, raw, sdk
from tests.support.app_server import free_port

METADATA_NAME = "Smollm2 135M 8k Lc100K Mix1 Ep2"  # general.name in the shipped file


def edited_copy(directory, filename: str, context_length: int | None = None, blank_name: bool = False):
    """A copy of the shipped GGUF with its context length (a uint32) or name (a string, blanked
    with spaces of the same length) changed in place."""
    path = directory / filename
    shutil.copyfile(default_model_path(), path)
    with open(path, "r+b") as handle:
        head = handle.read(4 * 1024 * 1024)  # the metadata comes first
        if context_length is not None:
            at = head.index(b"llama.context_length") + len(b"llama.context_length")
            assert struct.unpack_from("<II", head, at) == (4, 8192)  # type uint32, value
            handle.seek(at + 4)
            handle.write(struct.pack("<I", context_length))
        if blank_name:
            at = head.index(METADATA_NAME.encode())
            handle.seek(at)
            handle.write(b" " * len(METADATA_NAME))
    return path


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("own-model")
    path = edited_copy(directory, "my-model.gguf", context_length=4096)
    running = start_endpoint(directory / "endpoint", "--model", str(path), *TEST_THREADS)
    yield running
    running.stop()


def test_name_and_context_length_come_from_the_files_metadata(own_model):
    info = sdk(own_model.url).get_model_info()
    assert info.model_name == METADATA_NAME and info.model_provider_name == "HuggingFaceTB"
    assert [m.id for m in oai(own_model.url + "/v1").models.list().data] == [METADATA_NAME]
    result = sdk(own_model.url).complete(messages=USER, max_tokens=3)
    assert result.model == METADATA_NAME and result.usage.completion_tokens > 0
    # 4096 from the edited metadata: a prompt of about 5,000 tokens no longer fits.
    with pytest.raises(HttpResponseError) as caught:
        sdk(own_model.url).complete(messages=[{"role": "user", "content": "word " * 5000}])
    assert caught.value.error.code == "context_length_exceeded" and "4096" in caught.value.error.message


def test_a_file_without_a_name_is_named_after_its_stem(tmp_path):
    path = edited_copy(tmp_path, "Tiny-Sea-Model.Q4.gguf", blank_name=True)
    running = start_endpoint(tmp_path / "endpoint", "--model", str(path), *TEST_THREADS)
    try:
        status, _, data = raw(running.url + "/info")
        assert status == 200 and json.loads(data)["model_name"] == "Tiny-Sea-Model.Q4"
        assert "8192" in str(pytest.raises(HttpResponseError, sdk(running.url).complete,
                                           messages=[{"role": "user", "content": "word " * 9000}]).value)
    finally:
        running.stop()


def run_endpoint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "playground.local_endpoint", "--port", "0", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("kind", ["missing", "not gguf", "directory"])
def test_a_file_it_cannot_serve_stops_the_endpoint_with_a_message(tmp_path, kind):
    path = tmp_path / "model.gguf"
    if kind == "not gguf":
        path.write_text("<html>a download that went wrong</html>")
    elif kind == "directory":
        path.mkdir()
    done = run_endpoint("--model", str(path))
    assert done.returncode != 0
    assert "PLAYGROUND_LOCAL_MODEL" in done.stderr and str(path) in done.stderr
    assert "Traceback" not in done.stderr


def test_a_truncated_gguf_is_refused_by_llama_cpp_with_a_message(tmp_path):
    path = tmp_path / "cut.gguf"
    path.write_bytes(default_model_path().read_bytes()[:1_000_000])
    done = run_endpoint("--model", str(path), *TEST_THREADS)
    assert done.returncode != 0
    assert "PLAYGROUND_LOCAL_MODEL" in done.stderr and str(path) in done.stderr
    assert "Traceback" not in done.stderr


def test_the_variable_is_read_from_the_environment():
    assert load_settings({"PLAYGROUND_LOCAL_MODEL": "/models/x.gguf"}, dotenv_path=None).local_model == "/models/x.gguf"
    assert load_settings({}, dotenv_path=None).local_model is None


@pytest.mark.parametrize("kind", ["missing", "not gguf"])
def test_the_app_reports_a_bad_model_file_naming_the_variable(tmp_path, kind):
    path = tmp_path / "model.gguf"
    if kind == "not gguf":
        path.write_bytes(b"\x00" * 64)
    with pytest.raises(PlaygroundError) as caught:
        ensure_embedded_endpoint(Settings(local_port=free_port(), local_model=str(path)))
    assert "PLAYGROUND_LOCAL_MODEL" in caught.value.message and str(path) in caught.value.message


def test_the_app_starts_the_endpoint_on_the_variables_model(tmp_path):
    path = edited_copy(tmp_path, "my-model.gguf")
    embedded = ensure_embedded_endpoint(Settings(local_port=free_port(), local_model=str(path),
                                                 local_threads=1, local_parallel=1))
    try:
        assert embedded.process is not None
        status, _, data = raw(embedded.url + "/info")
        assert status == 200 and json.loads(data)["model_name"] == METADATA_NAME
        assert "--model" in embedded.process.args and str(path) in embedded.process.args
        # Started again with the same settings, the app reuses the running endpoint.
        again = ensure_embedded_endpoint(Settings(local_port=int(embedded.url.rsplit(":", 1)[1]),
                                                  local_model=str(path)))
        assert again.process is None
    finally:
        embedded.stop()


def test_context_length_can_be_lowered_but_not_raised(tmp_path):
    running = start_endpoint(tmp_path / "short", "--context-length", "1024", *TEST_THREADS)
    try:
        with pytest.raises(HttpResponseError) as caught:
            sdk(running.url).complete(messages=[{"role": "user", "content": "word " * 1100}])
        assert "1024" in caught.value.error.message
        assert sdk(running.url).complete(messages=USER, max_tokens=2).usage.completion_tokens > 0
    finally:
        running.stop()
    done = run_endpoint("--context-length", "99999", *TEST_THREADS)
    assert done.returncode != 0 and "--context-length" in done.stderr and "8192" in done.stderr


def test_a_chat_template_that_refuses_the_conversation_is_a_400():
    """Some GGUF templates (Mistral's, Gemma's) raise on roles they do not take, such as `tool`."""
    from llama_cpp.llama_chat_format import MISTRAL_INSTRUCT_CHAT_TEMPLATE, Jinja2ChatFormatter

    from playground.local_endpoint.model import LocalModel
    from playground.local_endpoint.validation import RequestError, validate_chat_request

    model = LocalModel(n_threads=1, n_ctx=512)
    model._formatter = Jinja2ChatFormatter(template=MISTRAL_INSTRUCT_CHAT_TEMPLATE, eos_token="</s>", bos_token="<s>")
    request = validate_chat_request({"messages": [{"role": "user", "content": "Hi"},
                                                  {"role": "tool", "tool_call_id": "call_1", "content": "24"}]},
                                    512, None)
    with pytest.raises(RequestError) as caught:
        model.check_fits(request)
    assert caught.value.status == 400 and caught.value.param == "messages"
    assert "Only user and assistant roles are supported" in caught.value.message
