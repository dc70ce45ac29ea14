"""The fence around third-party text on its way to an LLM: `<untrusted>` ... `</untrusted>`.

Card text and Hub metadata (ids, section titles, licenses, authors, finding evidence) are written by
strangers. Inside the fence they are data; the system prompt says so. The fence holds only if the text
cannot close it: stripping the marker once is not enough (`</untr</untrusted>usted>` rebuilds it, and
`</UNTRUSTED>` may read the same to a model), so every `<` in fenced text is escaped as `&lt;`. No marker,
in any case or spacing, can survive that, and the escape is one pass (nothing to repeat to a fixpoint).
"""

from __future__ import annotations

import json
from typing import Any

OPEN, CLOSE = "<untrusted>", "</untrusted>"


def neutralize(text: str | None) -> str:
    """`text` with every `<` escaped, so it can hold no tag at all (fence markers included)."""
    return (text or "").replace("<", "&lt;")


def fence(text: str | None) -> str:
    """Third-party text inside the fence, neutralized."""
    return f"{OPEN}{neutralize(text)}{CLOSE}"


def fence_json(data: Any) -> str:
    """A tool result for an LLM: its JSON, every string in it neutralized, inside one fence.

    The whole result is fenced because every part of it may carry Hub text (a license string, an author,
    a section title, a finding's evidence); the model reads the structure, never instructions, from it.
    """
    return fence(json.dumps(data, default=str, ensure_ascii=False))
