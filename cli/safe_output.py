"""What the CLI writes: terminal text without control sequences, and strict JSON.

Model ids, card text and leaderboard fields are third-party text: printed raw, an escape sequence in them
could recolour the terminal, retitle the window (OSC) or ring the bell. And a stored average of `inf` or
`nan` printed with Python's defaults is `Infinity` / `NaN`, which strict JSON parsers refuse.
"""

from __future__ import annotations

import io
import json
import math
import re
from typing import Any, TextIO

# ESC-introduced sequences first (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ESC \\`, two-byte escapes), then
# any remaining C0 control but tab and newline, DEL and the C1 controls (U+0080-U+009F, which some terminals
# also read as CSI/OSC introducers). Each pattern is linear: no nested quantifiers.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, terminated by BEL or ST (or cut off)
    r"|\x1b[P^_X][^\x1b]*(?:\x1b\\)?"  # DCS, PM, APC, SOS strings
    r"|\x1b[ -/]*[0-~]?"  # other escapes, or a lone ESC
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: Any) -> str:
    """`text` as a string that is safe to print on a terminal: escape sequences and control characters removed."""
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def finite(data: Any) -> Any:
    """`data` with every non-finite float (inf, -inf, nan) replaced by None, so it serializes as strict JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite(v) for v in data]
    return data


def strict_json(data: Any, **kwargs: Any) -> str:
    """JSON that strict parsers accept: non-finite numbers become null (`allow_nan=False` guards the rest)."""
    return json.dumps(finite(data), allow_nan=False, default=str, **kwargs)


class TerminalWriter(io.TextIOBase):
    """A text stream that cleans everything written through it (see `clean`); JSON passes unchanged.

    The CLI's stdout goes through one of these, so no print of third-party text can forget to clean it.
    """

    def __init__(self, inner: TextIO):
        self._inner = inner

    def write(self, text: str) -> int:
        """Write `text` without control sequences; returns the length given, as `print` expects."""
        self._inner.write(clean(text))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._inner.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        return self._inner.isatty()

    def writable(self) -> bool:
        """Always writable."""
        return True
