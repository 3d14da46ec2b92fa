"""Compare: one prompt, with the same history, sent to 2 or 3 model/parameter setups at once.

Logic only, no Streamlit: the model choices, the shared history and each column's request,
reopening a saved comparison, and the run. A run gives every column a worker thread
that calls `stream_chat` and consumes the stream into its buffer (`ChatStream.text` and metrics);
the page polls the workers and redraws. Workers never touch Streamlit: they only read the
stream and, when their reply ends, hand it to `on_reply` (`reply_saver`: the store). The user's
prompt is saved before anything is sent (`save_prompt`); `fold` moves finished replies into the
session's history.

History is one flat list of messages: user prompts (`column` None) shared by every column, and
replies carrying the `column` that wrote them. Column i is sent the system prompt,
every user prompt and its own replies only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import state as keys
from .chat import sees_images
from .errors import PlaygroundError
from .local_endpoint.model import MODEL_NAME
from .messages import MB, Image, ImageRejected, Message, load_image, reply_message, system_message, wire
from .params import DEFAULT_SYSTEM_PROMPT, PARAMETERS, SAMPLING_ONLY, clamped
from .providers import AZURE, EMBEDDED, GITHUB, ModelChoice, ModelListing, Provider, model_choices
from .transports.base import ChatStream
from .types import ChatParams

MIN_COLUMNS, MAX_COLUMNS = 2, 3


def parameter_key(name: str, column: int | None = None) -> str:
    """The shared parameter's key, or column `column`'s own."""
    key = keys.COMPARE + name
    return key if column is None else keys.column_key(key, column)


DEFAULTS: dict[str, Any] = {
    keys.COMPARE_COLUMNS: MIN_COLUMNS,
    keys.COMPARE_SAME: True,
    keys.COMPARE_SYSTEM_PROMPT: DEFAULT_SYSTEM_PROMPT,
    **{parameter_key(p.name, column): p.default for p in PARAMETERS for column in (None, *range(MAX_COLUMNS))},
}


def init(state: MutableMapping[str, Any]) -> None:
    for key, value in DEFAULTS.items():
        state.setdefault(key, value)
    state.setdefault(keys.COMPARE_HISTORY, [])
    state.setdefault(keys.COMPARE_CONVERSATION_ID, None)


def split_parameters(state: MutableMapping[str, Any]) -> None:
    """When the columns stop sharing parameters, each starts from the shared values."""
    if not state.get(keys.COMPARE_SAME):
        for parameter in PARAMETERS:
            for column in range(MAX_COLUMNS):
                state[parameter_key(parameter.name, column)] = state[parameter_key(parameter.name)]


def new_comparison(state: MutableMapping[str, Any]) -> None:
    """Stop any run and start over; what was said stays in the store."""
    run = state.pop(keys.COMPARE_RUN, None)
    if run is not None:
        run.cancel()
    state[keys.COMPARE_HISTORY] = []
    state[keys.COMPARE_CONVERSATION_ID] = None


def open_comparison(state: MutableMapping[str, Any], store: Any, conversation_id: str,
                    options: Mapping[str, ModelChoice]) -> str | None:
    """Show a saved comparison again: its prompts and every column's replies, the number of
    columns, each column's model (when this session can still reach it) and parameters, and
    the system prompt. Returns the conversation's kind ("compare", "chat"), or None when this
    user has no such conversation."""
    if state.get(keys.COMPARE_CONVERSATION_ID) == conversation_id:
        return "compare"
    conversation = store.get(conversation_id)
    if conversation is None or conversation.deleted_at:
        return None
    if conversation.kind != "compare":
        return conversation.kind
    new_comparison(state)
    state[keys.COMPARE_CONVERSATION_ID] = conversation.id
    state[keys.COMPARE_HISTORY] = [m for m in conversation.messages
                                   if m.role in ("user", "assistant")]
    setup = conversation.setup
    columns = [c for c in setup.get("columns") or () if isinstance(c, dict)][:MAX_COLUMNS]
    state[keys.COMPARE_COLUMNS] = min(max(len(columns), MIN_COLUMNS), MAX_COLUMNS)
    if isinstance(setup.get("system_prompt"), str):
        state[keys.COMPARE_SYSTEM_PROMPT] = setup["system_prompt"]
    by_label = {option_label(choice): key for key, choice in options.items()}
    state[keys.COMPARE_SAME] = False
    for index, column in enumerate(columns):
        if column.get("model") in by_label:
            state[keys.COMPARE_MODEL + str(index)] = by_label[column["model"]]
        for name, value in clamped(column.get("parameters")).items():
            state[parameter_key(name, index)] = value
    return "compare"


# -- model choices ----------------------------------------------------------------------------

CatalogLoader = Callable[[Provider], ModelListing]


def option_key(provider: Provider, model: str | None) -> str:
    return json.dumps([provider.id, model])


def option_label(choice: ModelChoice) -> str:
    """"provider · model", e.g. "Microsoft Foundry (OpenAI v1) · gpt-4o-mini" or "Embedded model (offline) ·
    SmolLM2-135M-Instruct"."""
    model: str | None
    if choice.card and not choice.entry:
        model = choice.card.name
    elif choice.provider.kind == EMBEDDED:
        model = choice.provider.model_name or MODEL_NAME
    else:
        model = choice.model or ("the deployment's model" if choice.provider.kind == AZURE else None)
    return f"{choice.provider.label} · {model}" if model else choice.provider.label


def model_options(providers: Sequence[Provider], load_listing: CatalogLoader) -> dict[str, ModelChoice]:
    """Every model a column can use, keyed by a stable string, in the providers' order: what each
    model-listing provider lists (or its built-in list when the list is unreachable), the others'
    one model. A provider with nothing to offer that can be sent (no model listed) offers none."""
    options: dict[str, ModelChoice] = {}
    for provider in providers:
        listing = load_listing(provider) if provider.lists_models else None
        for choice in model_choices(provider, listing):
            if not choice.model_problem:
                options[option_key(provider, choice.model)] = choice
    return options


def default_option(options: Mapping[str, ModelChoice], preferred_github_model: str | None = None) -> str:
    """The first provider's model (the Chat page's default order); for GitHub, the preferred model."""
    first = next(iter(options.values()))
    if first.provider.kind == GITHUB and preferred_github_model:
        key = option_key(first.provider, preferred_github_model)
        if key in options:
            return key
    return next(iter(options))


def chat_params(choice: ModelChoice, values: Mapping[str, float]) -> ChatParams:
    """A column's request parameters from the sliders' values (by parameter name). Reasoning
    models reject temperature, top_p and max_tokens: they are not sent."""
    sent: dict[str, Any] = {name: value for name, value in values.items()
                            if not (choice.is_reasoning and name in SAMPLING_ONLY)}
    if "max_tokens" in sent:
        sent["max_tokens"] = min(int(sent["max_tokens"]), choice.max_output_tokens)
    return ChatParams(**sent)


@dataclass(frozen=True)
class ColumnSetup:
    choice: ModelChoice
    params: ChatParams

    @property
    def label(self) -> str:
        return option_label(self.choice)

    def describe(self) -> dict[str, Any]:
        """For the store's setup: names and parameters, never an endpoint URL or key."""
        return {"model": self.label, "model_id": self.choice.model, "provider": self.choice.provider.label,
                "parameters": self.params.body()}


def conversation_setup(columns: Sequence[ColumnSetup], system_prompt: str) -> dict[str, Any]:
    return {"columns": [column.describe() for column in columns], "system_prompt": system_prompt}


# -- history ----------------------------------------------------------------------------------

def request_messages(history: Iterable[Message], system_prompt: str, column: int) -> list[dict[str, Any]]:
    """What column `column` is sent: the system prompt (if any), every user prompt, and that
    column's own replies (an empty one, from an error before any text, is left out)."""
    return wire(system_message(system_prompt) + [m for m in history if m.role == "user" or m.column == column])


@dataclass
class Turn:
    prompt: Message
    replies: dict[int, Message] = field(default_factory=dict)


def turns(history: Iterable[Message]) -> list[Turn]:
    """The history as rows: each user prompt with the replies each column gave it."""
    result: list[Turn] = []
    for message in history:
        if message.role == "user":
            result.append(Turn(message))
        elif message.role == "assistant" and result and message.column is not None:
            result[-1].replies[message.column] = message
    return result


def take_prompt(state: MutableMapping[str, Any], columns: Sequence[ColumnSetup], history: Sequence[Message],
                text: str, files: Sequence[tuple[str, bytes]], *, max_image_mb: int, detail: str | None) -> str | None:
    """The prompt box's text and files, checked before anything is saved: every attached file must be
    an image within the cap, and every column's model must read images when the comparison
    carries some. Accepted, it waits in the state for this run to send; refused, the reason."""
    try:
        images = [load_image(name, data, max_bytes=max_image_mb * MB, detail=detail) for name, data in files]
    except ImageRejected as rejected:
        return f"Not sent: {rejected} Your text is back in the box; attach another file or none."
    if images or any(m.images for m in history):
        overrides = state.get(keys.VISION) or {}
        blind = [f"column {i + 1} ({c.label})" for i, c in enumerate(columns) if not sees_images(c.choice, overrides)]
        if blind:
            return (f"Not sent: {', '.join(blind)} {'is' if len(blind) == 1 else 'are'} not marked as reading "
                    "images, and every column is sent the same images. Pick vision models, or tick \"This "
                    "model accepts images\" under Images in the sidebar if they read them.")
    if text.strip() or images:
        state[keys.COMPARE_ACCEPTED] = (text, tuple(images))
    return None


def save_prompt(store: Any, state: MutableMapping[str, Any], history: list[Message], prompt: str,
                columns: Sequence[ColumnSetup], system_prompt: str, images: Sequence[Image] = ()) -> str:
    """Save the user's prompt BEFORE it is sent (an error in every column must not lose it) and
    add it to `history`; the conversation is created on the first prompt, its setup kept current
    (a column may have changed model since the last one). Returns the conversation id."""
    setup = conversation_setup(columns, system_prompt)
    if state.get(keys.COMPARE_CONVERSATION_ID) is None:
        state[keys.COMPARE_CONVERSATION_ID] = store.create_conversation(setup, kind="compare")
    conversation_id = state[keys.COMPARE_CONVERSATION_ID]
    store.update_setup(conversation_id, setup)
    message = Message("user", prompt, images=tuple(images))
    message.id = store.add_message(conversation_id, **message.stored())
    history.append(message)
    return conversation_id


def reply_saver(store: Any, conversation_id: str) -> OnReply:
    """Saves each reply as soon as its column ends (on the worker thread: the store is thread-safe)."""
    def save(reply: Message) -> None:
        reply.id = store.add_message(conversation_id, **reply.stored())
    return save


def fold(state: MutableMapping[str, Any], run: CompareRun, history: list[Message]) -> None:
    """Move a run's finished replies into `history` (once: an interrupted script run and the
    next may both try) and forget the run. A column still running (it did not stop in time)
    still saves its reply in the store when it ends."""
    replies = run.take_replies(unfinished_too=True)
    if replies is not None:
        history.extend(replies)
    if state.get(keys.COMPARE_RUN) is run:
        del state[keys.COMPARE_RUN]


# -- the run ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnRequest:
    client: Any  # a Transport (anything with its stream_chat)
    messages: list[dict[str, Any]]
    params: ChatParams
    model: str | None = None
    label: str = ""
    on_headers: Callable[[Mapping[str, str]], None] | None = None  # e.g. a RequestBudget's (thread-safe)


@dataclass(frozen=True)
class ColumnState:
    """What the page draws for a column at one instant."""

    text: str
    phase: str  # "waiting" (no first token yet), "streaming" or "done"
    chunks: int
    elapsed: float  # seconds since the column's request started
    reply: Message | None  # the finished reply, once done


OnReply = Callable[[Message], None]


class ColumnWorker:
    """One column: a thread that sends the request and reads the stream into its buffer."""

    def __init__(self, index: int, request: ColumnRequest, on_reply: OnReply | None, on_done: Callable[[], None]):
        self.index = index
        self.request = request
        self.stream: ChatStream | None = None
        self.reply: Message | None = None
        self.save_error: str | None = None  # on_reply failed: the reply is shown but not stored
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.done = threading.Event()
        self._on_reply = on_reply
        self._on_done = on_done
        self._lock = threading.Lock()
        self._cancelled = False
        self.thread = threading.Thread(target=self._run, name=f"compare-column-{index}", daemon=True)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            stream = self.stream
        if stream is not None:
            stream.cancel()

    @property
    def text(self) -> str:
        stream = self.stream
        return stream.text if stream is not None else ""

    def state(self) -> ColumnState:
        reply = self.reply if self.done.is_set() else None
        stream = self.stream
        elapsed = (self.finished_at or time.monotonic()) - (self.started_at or time.monotonic())
        if reply is not None:
            return ColumnState(reply.content, "done", stream.chunks if stream else 0, elapsed, reply)
        if stream is None or stream.first_token_at is None:
            return ColumnState("", "waiting", 0, elapsed, None)
        return ColumnState(stream.text, "streaming", stream.chunks, elapsed, None)

    def _run(self) -> None:
        self.started_at = time.monotonic()
        request = self.request
        stream: ChatStream | None = None
        finish_reason: str | None = "error"  # replaced below unless something unforeseen ends the thread
        error: str | None = None
        try:
            extra = {"on_headers": request.on_headers} if request.on_headers else {}
            stream = request.client.stream_chat(request.messages, request.params, request.model, **extra)
            with self._lock:
                self.stream = stream
                cancelled = self._cancelled
            if cancelled:  # Stop came while the request waited for its first byte
                stream.cancel()
            for _ in stream:
                pass
            finish_reason = "stopped" if stream.cancelled else stream.finish_reason
        except PlaygroundError as exc:
            finish_reason, error = "error", exc.message
        except Exception as exc:  # a worker must always finish, whatever the client raised
            finish_reason, error = "error", f"Unexpected error: {exc}"
        finally:
            if stream is not None:
                stream.close()
            self.finished_at = time.monotonic()
            reply = reply_message(stream, finish_reason, error, label=request.label or None, column=self.index)
            if self._on_reply is not None:
                try:
                    self._on_reply(reply)
                except Exception as exc:
                    self.save_error = f"This reply could not be saved: {exc}"
            self.reply = reply
            self.done.set()
            self._on_done()


class CompareRun:
    """Every column's worker. `start()` starts them all at once; poll `states()` and `wait()`
    from the drawing thread; `cancel()` (Stop) from any thread; `take_replies()` once, at the end."""

    def __init__(self, requests: Sequence[ColumnRequest], on_reply: OnReply | None = None):
        self._lock = threading.Lock()
        self._remaining = len(requests)
        self._all_done = threading.Event()
        self._taken = False
        self.cancelled = False
        self.workers = [ColumnWorker(i, r, on_reply, self._column_done) for i, r in enumerate(requests)]
        if not requests:
            self._all_done.set()

    def _column_done(self) -> None:
        with self._lock:
            self._remaining -= 1
            if self._remaining == 0:
                self._all_done.set()

    def start(self) -> CompareRun:
        for worker in self.workers:
            worker.thread.start()
        return self

    def cancel(self) -> None:
        self.cancelled = True
        for worker in self.workers:
            worker.cancel()

    @property
    def done(self) -> bool:
        return self._all_done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every column has finished or `timeout` passed; True when all finished."""
        return self._all_done.wait(timeout)

    def states(self) -> list[ColumnState]:
        return [worker.state() for worker in self.workers]

    def take_replies(self, unfinished_too: bool = False) -> list[Message] | None:
        """The finished replies in column order, to the first caller only (None after that):
        an interrupted script run and the next one may both try. None while a column is still
        running, unless `unfinished_too`: then the finished columns' replies (giving up on the rest)."""
        with self._lock:
            if self._taken or not (self._all_done.is_set() or unfinished_too):
                return None
            self._taken = True
        return [worker.reply for worker in self.workers if worker.done.is_set() and worker.reply is not None]


def start_run(requests: Sequence[ColumnRequest], on_reply: OnReply | None = None) -> CompareRun:
    return CompareRun(requests, on_reply).start()
