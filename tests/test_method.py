from pathlib import Path

import pytest
from whichmodel.scoring.docs import render
from whichmodel.scoring.method import load_method, parse_method, read_data

ROOT = Path(__file__).resolve().parents[1]


def test_docs_are_generated_from_the_current_method():
    expected = render(load_method())
    hint = "run: python -m whichmodel.scoring.docs > docs/scoring.md"
    assert (ROOT / "docs" / "scoring.md").read_text() == expected, hint


def test_method_hash_changes_with_any_edit():
    raw = read_data("method.yaml")
    edited = parse_method(raw.replace(b"weight: 3", b"weight: 4", 1))
    assert edited.weights_hash != load_method().weights_hash


def test_method_rejects_duplicate_or_miscategorised_checks():
    raw = read_data("method.yaml")
    with pytest.raises(ValueError, match="unknown category"):
        parse_method(raw.replace(b"category: popularity", b"category: vibes", 1))
    with pytest.raises(ValueError, match="defined twice"):
        parse_method(raw.replace(b"- id: likes", b"- id: downloads", 1))


def test_every_check_documents_itself():
    for spec in load_method().checks:
        assert spec.question.endswith("?") and spec.motivation and spec.remediation and spec.weight > 0


def test_every_curated_provider_has_a_kind_and_a_whole_reason():
    """A flow mapping splits at commas: 'why: releases (Phi, DeBERTa)' unquoted became 'releases (Phi'."""
    from whichmodel.scoring.context import load_providers

    providers = load_providers()
    assert providers
    for org, entry in providers.items():
        assert set(entry) == {"kind", "why"}, (org, entry)
        assert entry["why"].count("(") == entry["why"].count(")"), (org, entry["why"])
