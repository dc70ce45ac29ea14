"""Parse times for adversarial questions at the length limit, and for the 100 KB ones that used to hang.

Run: python bench/parse.py. Prints milliseconds per parse; the limit refuses longer questions at once.
"""

from __future__ import annotations

import time

from whichmodel.agent.parse import MAX_QUESTION_CHARS, QuestionTooLong, parse

CASES = {
    "is phi-2 is is ...": lambda n: "is phi-2 " + "is " * n,
    "trends after after ...": lambda n: "trends " + "after " * n,
    "one long word": lambda n: "a" * n,
    "phi-2 or phi-2 or ...": lambda n: "compare " + "phi-2 or " * n,
    "deepseek r1 deepseek r1 ...": lambda n: "fine-tunes of " + "deepseek r1 " * n,
    "which models for ...": lambda n: "which " + "models for " * n,
}


def main() -> None:
    """Print the parse time of each case at a tenth of the limit and at the limit."""
    for name, build in CASES.items():
        row = []
        for size in (MAX_QUESTION_CHARS // 10, MAX_QUESTION_CHARS):
            text = build(size)[:size]
            start = time.perf_counter()
            parse(text, lambda _: None, {})
            row.append(f"{size} chars {1000 * (time.perf_counter() - start):.1f} ms")
        start = time.perf_counter()
        try:
            parse(build(100_000), lambda _: None, {})
        except QuestionTooLong:
            row.append(f"100 KB refused in {1000 * (time.perf_counter() - start):.2f} ms")
        print(f"{name:<28} " + "; ".join(row))


if __name__ == "__main__":
    main()
