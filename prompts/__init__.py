"""Prompts: text files loaded by name and rendered strictly.

A prompt is `prompts/NAME.txt` using `$variable` placeholders (string.Template), so JSON braces in the text
need no escaping. Rendering fails loudly on a missing variable, and on an unknown one. This room is a
resource: any room may load a prompt.
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources


class PromptError(KeyError):
    """A prompt is missing, or rendered with missing or unexpected variables."""


@cache
def load(name: str) -> string.Template:
    """The template of prompts/NAME.txt."""
    try:
        return string.Template(resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PromptError(f"no prompt named {name!r}") from err


def variables(name: str) -> set[str]:
    """The placeholders a prompt expects."""
    return {m.group("named") or m.group("braced") for m in load(name).pattern.finditer(load(name).template)
            if m.group("named") or m.group("braced")}  # fmt: skip


def render(name: str, **values: object) -> str:
    """Render a prompt; every placeholder must be given, and nothing else."""
    expected = variables(name)
    missing, extra = expected - set(values), set(values) - expected
    if missing or extra:
        raise PromptError(f"prompt {name!r}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return load(name).substitute(**{k: str(v) for k, v in values.items()})
