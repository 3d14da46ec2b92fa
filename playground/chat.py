"""The chat use case, without Streamlit: a conversation, its prompts and replies, and the one
place that writes them to the store.

`Chat(state, store)` works on a session's state (any MutableMapping: `st.session_state` in the
app) and a store scoped to the session's user. The page calls one method per user action:
`add_prompt`, `begin_reply` (then `ReplyRecorder.finish` when the reply ends, however it ends),
`edit_and_resend`, `regenerate`, `request_retry`, `open`, `new`, `restore`.

The conversation may be deleted in another tab or window while this one shows it: the store then
refuses to save in it (so nothing is written where it would go unseen and then be purged), and
this session says so (`deleted`): what was refused stays on the page, and `restore` undeletes the
conversation and saves it. What the user adds past their storage budget is refused the same way,
with the prompt back in the box.

A reply is finished through a `ReplyRecorder`, which holds the store, the conversation id and the
message list itself rather than the session state: Streamlit starts the next script run on a new
thread while an interrupted one (Stop, any widget) is still unwinding, and the unwinding run may
no longer touch session state, yet its partial reply must be saved. `settle()` makes the next run
wait until it is.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import state as keys
from . import tools
from .errors import PlaygroundError
from .messages import MB, Image, ImageRejected, Message, load_image, reply_message, system_message, wire
from .params import DEFAULT_SYSTEM_PROMPT, MORE_DEFAULTS, PARAMETERS, checked_more, clamped
from .providers import ModelChoice
from .store import ConversationDeleted, StorageFull
from .transports.base import ChatStream
from .types import Reply

SHOWN_STEP = 40  # drawing every message of a long conversation on each rerun is what makes it slow
DELETED_ELSEWHERE = "This conversation was deleted in another tab or window, so {what}. Restore the conversation " \
                    "to {then}, or start a new chat."


def defaults() -> dict[str, Any]:
    """Every Chat key's starting value."""
    return {
        keys.MESSAGES: [], keys.ERROR: None, keys.CONVERSATION_ID: None, keys.SHOWN: SHOWN_STEP,
        keys.DELETED: False, keys.SYSTEM_PROMPT: DEFAULT_SYSTEM_PROMPT,
        **{keys.CHAT + p.name: p.default for p in PARAMETERS},
        **{keys.CHAT + name: value for name, value in MORE_DEFAULTS.items()},
        keys.IMAGE_DETAIL: "auto", keys.VISION: {},
        **tools.defaults(),
    }


def sees_images(choice: ModelChoice, overrides: Mapping[str, bool]) -> bool:
    """Whether the model reads images: its catalog card says so, or else the user did for this endpoint."""
    known = choice.accepts_images
    return known if known is not None else bool(overrides.get(choice.provider.id, False))


def images_problem(choice: ModelChoice, overrides: Mapping[str, bool], messages: Sequence[Message],
                   label: str | None = None) -> str | None:
    """Why a request carrying images must not go to this model, or None."""
    if not any(m.images for m in messages) or sees_images(choice, overrides):
        return None
    name = label or choice.label
    if choice.accepts_images is False:
        return (f"{name} takes text only (its catalog entry lists no image input), and this conversation "
                "carries images. Pick a vision model, or start a new chat without images.")
    return (f"{name} is not marked as accepting images, and this conversation carries images. If the model "
            "reads images, tick \"This model accepts images\" in the sidebar and press Retry.")


@dataclass
class _Generation:
    """The reply a run is streaming, and the lock the next run waits on until it is saved."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    stream: ChatStream | None = None
    recorder: ReplyRecorder | None = None  # the last reply's, until the next run has read how its save went


@dataclass
class ReplyRecorder:
    """Finishes one reply: builds the message (metrics, status), saves it, appends it."""

    store: Any
    conversation_id: str
    messages: list[Message]
    label: str | None = None
    expect_json: bool = False
    deleted: bool = False  # the conversation was deleted before the reply ended: shown, not saved

    def finish(self, source: ChatStream | Reply | None, finish_reason: str | None,
               error: str | None = None) -> Message:
        message = reply_message(source, finish_reason, error, label=self.label, expect_json=self.expect_json)
        try:
            message.id = self.store.add_message(self.conversation_id, **message.stored())
        except ConversationDeleted:
            self.deleted = True  # this may be an interrupted run: the next one reads it (Chat.settle)
        finally:
            self.messages.append(message)  # shown even if the save failed
        return message


class Chat:
    def __init__(self, state: MutableMapping[str, Any], store: Any):
        self.state = state
        self.store = store
        for key, value in defaults().items():
            state.setdefault(key, value)

    # -- what the page shows ----------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        return self.state[keys.MESSAGES]

    @property
    def conversation_id(self) -> str | None:
        return self.state[keys.CONVERSATION_ID]

    @property
    def error(self) -> str | None:
        return self.state[keys.ERROR]

    @property
    def deleted(self) -> bool:
        """The conversation shown was deleted in another tab or window: nothing more is saved in it
        until `restore`."""
        return bool(self.state[keys.DELETED])

    @property
    def awaiting_reply(self) -> bool:
        """A reply is due (after an error, Retry sends it): the last message is the user's, or the
        result of the last of the reply's tool calls."""
        if not self.messages:
            return False
        last = self.messages[-1].role
        return last == "user" or (last == "tool" and not self.pending_tool_calls())

    @property
    def shown(self) -> int:
        """How many of the latest messages the page draws."""
        return self.state[keys.SHOWN]

    def show_earlier(self) -> None:
        self.state[keys.SHOWN] = self.state[keys.SHOWN] + SHOWN_STEP

    # -- the setup: system prompt and parameters ----------------------------------------------------

    def setup(self, choice: ModelChoice) -> dict[str, Any]:
        """What a saved conversation records about how it was made (never a key or token)."""
        return {
            "provider": choice.provider.id,
            "provider_label": choice.provider.label,
            "model": choice.model,
            "model_label": choice.label,
            "system_prompt": self.state[keys.SYSTEM_PROMPT],
            "parameters": {p.name: self.state[keys.CHAT + p.name] for p in PARAMETERS},
            "advanced": {name: self.state[keys.CHAT + name] for name in MORE_DEFAULTS},
            **tools.setup_of(self.state),
        }

    def apply_setup(self, setup: dict[str, Any]) -> None:
        """Take the system prompt and parameters of a saved setup or preset. Only known keys with
        values of the right type are taken: an imported file is untrusted."""
        if isinstance(setup.get("system_prompt"), str):
            self.state[keys.SYSTEM_PROMPT] = setup["system_prompt"]
        for name, value in clamped(setup.get("parameters")).items():
            self.state[keys.CHAT + name] = value
        for name, value in checked_more(setup.get("advanced")).items():
            self.state[keys.CHAT + name] = value
        tools.apply_setup(self.state, setup)

    def request(self) -> list[dict[str, Any]]:
        """What is sent: the system prompt (if any) and the conversation, in the wire form."""
        return wire(system_message(self.state[keys.SYSTEM_PROMPT]) + self.messages)

    # -- user actions -------------------------------------------------------------------------------

    def new(self) -> None:
        self.state.update({keys.MESSAGES: [], keys.ERROR: None, keys.CONVERSATION_ID: None,
                           keys.SHOWN: SHOWN_STEP, keys.DELETED: False})

    def restore(self) -> None:
        """Undelete the conversation shown (deleted in another tab or window) and save the messages
        that were refused meanwhile, in their order."""
        conversation_id = self.conversation_id
        if conversation_id is None:
            return
        self.store.undelete(conversation_id)
        try:
            for message in self.messages:
                if message.id is None:
                    message.id = self.store.add_message(conversation_id, **message.stored())
        except ConversationDeleted:  # deleted again meanwhile: still offered
            return
        self.state.update({keys.DELETED: False, keys.ERROR: None})

    def _deleted_elsewhere(self, what: str, then: str) -> str:
        """Say so until restored or a new chat: the error stays shown over the next runs."""
        message = DELETED_ELSEWHERE.format(what=what, then=then)
        self.state.update({keys.DELETED: True, keys.ERROR: message})
        return message

    def open(self, conversation_id: str) -> str | None:
        """Show a stored conversation with the setup it was made with. Returns its kind
        ("chat", "compare"), or None when there is no such conversation for this user."""
        if conversation_id == self.conversation_id:
            return "chat"
        conversation = self.store.get(conversation_id)
        if conversation is None or conversation.deleted_at:
            return None
        if conversation.kind != "chat":
            return conversation.kind
        self.new()
        self.state[keys.CONVERSATION_ID] = conversation.id
        self.state[keys.MESSAGES] = list(conversation.messages)
        self.apply_setup(conversation.setup)
        provider = conversation.setup.get("provider")
        if isinstance(provider, str):
            self.state[keys.PROVIDER] = provider
            if isinstance(conversation.setup.get("model"), str):
                self.state[keys.MODEL] = conversation.setup["model"]
        return "chat"

    def _conversation(self, choice: ModelChoice) -> str:
        """The stored conversation to write to: created on the first prompt, its setup kept current."""
        setup = self.setup(choice)
        if self.conversation_id is None:
            self.state[keys.CONVERSATION_ID] = self.store.create_conversation(setup)
        else:
            self.store.update_setup(self.conversation_id, setup)
        return self.state[keys.CONVERSATION_ID]

    def submit_prompt(self, choice: ModelChoice, text: str, files: Sequence[tuple[str, bytes]] = (), *,
                      max_image_mb: int, detail: str | None) -> str | None:
        """The prompt box's text and attached files (name, bytes): added as a prompt, or, when a
        file cannot be sent or a tool call awaits its result, nothing is added and the reason is
        returned (the page puts the text back in the box)."""
        pending = self.pending_tool_calls()
        if pending:
            names = ", ".join(sorted({tools.function_name(call) for call in pending}))
            return (f"The model is waiting for the result of {names}: send it under the reply first "
                    "(Send result), then type the next prompt.")
        try:
            images = [load_image(name, data, max_bytes=max_image_mb * MB, detail=detail) for name, data in files]
        except ImageRejected as rejected:
            return f"Not sent: {rejected} Your text is back in the box; attach another file or none."
        if not text.strip() and not images:
            return None
        try:
            self.add_prompt(choice, text, images)
        except ConversationDeleted:
            self._deleted_elsewhere("your prompt was not sent", "continue it")
            return "Not sent: your text is back in the box."
        except StorageFull as full:
            return f"Not sent: {full} Your text is back in the box."
        return None

    def add_prompt(self, choice: ModelChoice, text: str, images: Sequence[Image] = ()) -> Message:
        """The user's prompt, saved BEFORE it is sent: an error, a reload or a crash must not lose it."""
        message = Message("user", text, images=tuple(images))
        message.id = self.store.add_message(self._conversation(choice), **message.stored())
        self.messages.append(message)
        self.state[keys.RETRY] = True
        return message

    def add_tool_result(self, choice: ModelChoice, tool_call_id: str, content: str) -> Message | None:
        """The result of a tool call (typed by the user), saved, then the model continues; None
        when it cannot be saved (the reason is the error shown, the result stays in its box)."""
        message = Message("tool", content, tool_call_id=tool_call_id)
        try:
            message.id = self.store.add_message(self._conversation(choice), **message.stored())
        except ConversationDeleted:
            self.fail(self._deleted_elsewhere("the tool result was not sent", "continue it"))
            return None
        except StorageFull as full:
            self.fail(f"Not sent: {full}")
            return None
        self.messages.append(message)
        if not self.pending_tool_calls():
            self.state[keys.RETRY] = True
        return message

    def pending_tool_calls(self) -> list[dict[str, Any]]:
        """The last reply's tool calls that have no result yet."""
        answered = set()
        for message in reversed(self.messages):
            if message.role == "tool":
                answered.add(message.tool_call_id)
            elif message.role == "assistant":
                return [call for call in message.tool_calls if call.get("id") not in answered]
            else:
                break
        return []

    @property
    def sending(self) -> bool:
        """Whether this run is to send the conversation (see take_send), before it is taken."""
        return bool(self.state.get(keys.RETRY, False))

    def take_send(self) -> bool:
        """Whether this run must send the conversation (a new prompt, Retry, Edit, Regenerate)."""
        return bool(self.state.pop(keys.RETRY, False))

    def request_retry(self) -> None:
        self.state[keys.RETRY] = True

    def fail(self, message: str | None) -> None:
        self.state[keys.ERROR] = message

    def begin_reply(self, choice: ModelChoice, expect_json: bool = False) -> ReplyRecorder:
        """The recorder of the reply about to be requested; PlaygroundError (nothing sent) when the
        conversation can take no reply."""
        self.state[keys.ERROR] = None
        try:
            if self.deleted:
                raise ConversationDeleted(str(self.conversation_id))
            conversation_id = self._conversation(choice)
        except ConversationDeleted:
            raise PlaygroundError(self._deleted_elsewhere("nothing was sent", "continue it")) from None
        except StorageFull as full:
            raise PlaygroundError(f"Not sent: {full}") from None
        recorder = ReplyRecorder(self.store, conversation_id, self.messages, label=None, expect_json=expect_json)
        self.generation().recorder = recorder
        return recorder

    def edit_and_resend(self, index: int, text: str) -> None:
        """Replace user message `index`, drop everything after it, and send again."""
        message = self.messages[index]
        if self.conversation_id and message.id is not None:
            try:
                self.store.edit_message(self.conversation_id, message.id, text, drop_following=True)
            except ConversationDeleted:
                self.fail(self._deleted_elsewhere("the edit was not saved", "continue it"))
                return
            except StorageFull as full:
                self.fail(f"Not resent: {full}")
                return
        message.content = text
        self.state[keys.MESSAGES] = self.messages[:index + 1]
        self.request_retry()

    def regenerate(self) -> None:
        """Drop the last reply and ask again."""
        messages = self.messages
        if len(messages) >= 2 and messages[-1].role == "assistant":
            if self.conversation_id and messages[-2].id is not None:
                try:
                    self.store.truncate_after(self.conversation_id, messages[-2].id)
                except ConversationDeleted:
                    self.fail(self._deleted_elsewhere("nothing was regenerated", "continue it"))
                    return
            self.state[keys.MESSAGES] = messages[:-1]
            self.request_retry()

    # -- a reply streaming across script runs -------------------------------------------------------

    def generation(self) -> _Generation:
        if keys.GENERATION not in self.state:
            self.state[keys.GENERATION] = _Generation()
        return self.state[keys.GENERATION]

    def settle(self, timeout: float = 5.0) -> None:
        """Stop a reply an earlier run left streaming and wait until it is saved."""
        current = self.generation()
        if current.stream is not None:
            current.stream.cancel()
        if not current.lock.acquire(timeout=timeout):
            return  # still saving: a later run reads how it went
        current.lock.release()
        recorder, current.recorder = current.recorder, None
        if recorder is not None and recorder.deleted and recorder.conversation_id == self.conversation_id:
            self.fail(self._deleted_elsewhere("the reply above was not saved", "keep it"))
