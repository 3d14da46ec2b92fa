"""Driving a page with streamlit.testing as a user would: open it (optionally at `?c=`), send prompts."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

CHAT = str(ROOT / "pages" / "chat.py")
COMPARE = str(ROOT / "pages" / "compare.py")
MODEL_INFO = str(ROOT / "pages" / "model_info.py")


def open_page(path: str = CHAT, conversation_id: str | None = None, timeout: float = 120) -> AppTest:
    at = AppTest.from_file(path, default_timeout=timeout)
    if conversation_id:
        at.query_params["c"] = conversation_id
    at.run()
    assert not at.exception, at.exception
    return at


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


def open_lazy(at: AppTest, key: str) -> AppTest:
    """What a click on a lazily filled expander or popover (components.lazy) does: mark it open and rerun."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, at.exception
    return at


def shown(text: str) -> str:
    """What the browser shows for markdown the page escaped (components.plain_text.plain): the
    characters, without their backslashes."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def facts(at: AppTest) -> dict[str, str]:
    """The model info page's facts table (components.model_info.render_facts) as label -> value."""
    for block in at.markdown:
        lines = block.value.splitlines()
        if len(lines) == 3 and lines[1].startswith("| ---"):
            def cells(line: str) -> list[str]:  # the page escapes markdown: undo it
                return [shown(cell.strip().strip("*")) for cell in line.strip("|").split("|")]
            labels, values = cells(lines[0]), cells(lines[2])
            return dict(zip(labels, values, strict=True))
    return {}
