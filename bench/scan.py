"""Security-scan figures: seconds to scan pickle-based files, and how much of a GGUF file its header costs.

    python bench/scan.py [--mb 200]

Files are synthetic, written to a temporary folder: a torch.save-style zip (data.pkl plus one storage of
`--mb` MB), a legacy (non-zip) pickle of the same size holding raw bytes, and a GGUF file whose header carries
a 152k-token vocabulary, its scores and merges (the size of Qwen-class tokenizers) and a chat template.
Nothing is unpickled. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from whichmodel.hub.scan import read_gguf_templates, scan_pickle_file, template_issues  # noqa: E402

DATA_PKL = (
    b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02"
    b"ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05"
    b"X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08QK\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n"
    b"\x89h\x00)Rq\x0btq\x0cRq\rs."
)
TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
)


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_header(vocab: int = 152_000) -> bytes:
    """A GGUF v3 header shaped like a large-vocabulary model's (tokens, scores, types, merges, template)."""
    kv = [
        _s("general.architecture") + struct.pack("<I", 8) + _s("qwen2"),
        _s("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, vocab)
        + b"".join(_s(f"tok{i:06d}") for i in range(vocab)),
        _s("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, vocab) + struct.pack("<f", 0.0) * vocab,
        _s("tokenizer.ggml.token_type") + struct.pack("<IIQ", 9, 5, vocab) + struct.pack("<i", 1) * vocab,
        _s("tokenizer.ggml.merges")
        + struct.pack("<IIQ", 9, 8, vocab)
        + b"".join(_s(f"a{i} b{i}") for i in range(vocab)),
        _s("tokenizer.chat_template") + struct.pack("<I", 8) + _s(TEMPLATE),
    ]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv)


def timed(fn, *args):
    """Best of three runs, seconds."""
    best, result = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=200)
    args = parser.parse_args()
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        zipped = Path(tmp) / "pytorch_model.bin"
        with zipfile.ZipFile(zipped, "w") as z:
            z.writestr("archive/data.pkl", DATA_PKL)
            z.writestr("archive/data/0", b"\x00" * (args.mb << 20))
            z.writestr("archive/version", "3\n")
        seconds, (imports, _, _) = timed(scan_pickle_file, zipped, zipped.name)
        out["scan torch zip"] = {
            "value": round(seconds, 3),
            "unit": "s",
            "scale": f"{args.mb} MB, {len(imports)} globals",
        }

        legacy = Path(tmp) / "legacy.pkl"
        blob = b"\x00" * (args.mb << 20)
        legacy.write_bytes(b"\x80\x04\x8e" + struct.pack("<Q", len(blob)) + blob + b".")  # one BINBYTES8
        seconds, _ = timed(scan_pickle_file, legacy, legacy.name)
        out["scan legacy pickle"] = {"value": round(seconds, 3), "unit": "s", "scale": f"{args.mb} MB"}

    header = gguf_header()
    file = header + b"\x00" * (64 << 20)  # tensor data the reader must not touch
    requested: list[int] = []

    def fetch(start: int, length: int) -> bytes:
        requested.append(length)
        return file[start : start + length]

    seconds, templates = timed(read_gguf_templates, fetch)
    per_run = sum(requested) // 3
    out["gguf header read"] = {"value": round(seconds, 3), "unit": "s",
                               "scale": f"{len(header) / 2**20:.1f} MB header, 152k vocab"}  # fmt: skip
    scale = f"{len(requested) // 3} range requests, file {len(file) / 2**20:.0f} MB"
    out["gguf bytes fetched"] = {"value": round(per_run / 2**20, 2), "unit": "MB", "scale": scale}
    seconds, _ = timed(template_issues, templates["tokenizer.chat_template"])
    out["template check"] = {"value": round(seconds * 1000, 2), "unit": "ms", "scale": "one ChatML template"}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
