"""Per-record limits on Hub input: repo ids by the Hub's own rules, counts that fit a signed 64-bit column.

Anything that crosses these limits is one bad record (a `RecordError` from `parse_record`), never a failed batch.
"""

from __future__ import annotations

import re
from typing import Any

from huggingface_hub.utils import HFValidationError, validate_repo_id

# SQLite and PostgreSQL BIGINT hold signed 64-bit integers; a larger count cannot be stored.
MAX_COUNT = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def repo_id_problem(model_id: str) -> str | None:
    """Why `model_id` is not a Hub model repo id ('org/name' or a legacy 'name'), or None when it is one."""
    if _CONTROL.search(model_id):
        return "contains control characters"
    try:
        validate_repo_id(model_id)
    except HFValidationError as err:
        return str(err).split(":", 1)[0]
    return None


def count_problem(value: Any) -> str | None:
    """Why an integer count cannot be stored (negative, or beyond 64 bits), or None when it can."""
    if value < 0:
        return f"is negative ({value})"
    if value > MAX_COUNT:
        return f"is larger than a 64-bit count ({str(value)[:24]}...)"
    return None
