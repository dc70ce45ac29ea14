"""Hand-written fixtures: small wire-format records and cards, shaped like the Hub's API answers."""

from __future__ import annotations

import copy

from whichmodel.hub.facts import ModelFacts, parse_record

OBSERVED = "2025-04-22T00:00:00Z"

BASE_RECORD = {
    "id": "acme/widget-7b",
    "author": "acme",
    "sha": "0123456789abcdef0123456789abcdef01234567",
    "createdAt": "2024-01-10T00:00:00.000Z",
    "lastModified": "2025-03-01T00:00:00.000Z",
    "private": False,
    "gated": False,
    "disabled": False,
    "downloads": 5000,
    "likes": 20,
    "library_name": "transformers",
    "tags": ["transformers", "safetensors", "llama", "text-generation", "license:apache-2.0", "region:us"],
    "pipeline_tag": "text-generation",
    "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "tokenizer_config": {}},
    "cardData": {"license": "apache-2.0", "language": ["en"]},
    "siblings": [{"rfilename": n} for n in (".gitattributes", "README.md", "config.json", "model.safetensors")],
    "spaces": [],
    "usedStorage": 1000,
}

RICH_CARD = """---
license: apache-2.0
language: [en]
datasets: [acme/instructions]
metrics: [accuracy]
base_model: meta-llama/Llama-2-7b-hf
pipeline_tag: text-generation
tags: [chat]
---

# Widget 7B

Widget is a chat model fine-tuned from Llama 2 for customer support. See https://github.com/acme/widget.

## How to use

```python
from transformers import pipeline
pipe = pipeline("text-generation", model="acme/widget-7b")
```

## Training procedure

Trained with DPO on acme/instructions for 3 epochs, learning_rate 2e-5.

## Evaluation

Accuracy 71.2 on the held-out support set; MMLU 45.1.

## Limitations

Not intended for medical or legal advice; it reflects biases of its training data.

## Citation

Please cite arxiv.org/abs/2307.09288.
"""

TEMPLATE_CARD = """---
license: apache-2.0
---

# Model Card for Model ID

## Model Details

[More Information Needed]

## Training Details

[More Information Needed]

## Evaluation

[More Information Needed]
"""


def wire(**overrides) -> dict:
    """A complete wire-format record; keyword overrides replace fields (None deletes one)."""
    record = copy.deepcopy(BASE_RECORD)
    for key, value in overrides.items():
        key = {"model_index": "model-index"}.get(key, key)
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def files(*names: str) -> list[dict]:
    """A siblings list."""
    return [{"rfilename": n} for n in names]


def make_facts(card: str | None = None, observed: str = OBSERVED, **overrides) -> ModelFacts:
    """Facts parsed from `wire(**overrides)` and an optional card.

    As on the Hub, a record's `cardData` is its card's front matter, unless a test overrides it.
    """
    if card is not None and "cardData" not in overrides:
        from whichmodel.hub.card import split_front_matter

        front, _, _ = split_front_matter(card)
        overrides["cardData"] = front or None
    return parse_record(wire(**overrides), card_text=card, observed_at=observed)
