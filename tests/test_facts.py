import json

import pytest
from factories import RICH_CARD, TEMPLATE_CARD, files, make_facts, wire
from whichmodel.hub.card import parse_card
from whichmodel.hub.facts import RecordError, parse_record, parse_size_label, size_from_name, snap_size_class
from whichmodel.hub.licenses import classify_license, is_looser


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Llama-2-7b-chat-hf", ("7B", 7.0)),
        ("Mixtral-8x7B-Instruct-v0.1", ("8x7B", 56.0)),
        ("deepseek-coder-1.3b-base", ("1.3B", 1.3)),
        ("pythia-350m", ("350M", 0.35)),
        ("gemma-7b", ("7B", 7.0)),
        ("phi-2", None),
        ("bert-base-uncased", None),
        ("Qwen2.5-72B_Instruct", ("72B", 72.0)),
    ],
)
def test_size_from_name(name, expected):
    assert size_from_name(name) == expected


def test_size_classes_snap_in_log_space_and_parse_back():
    assert snap_size_class(6.74) == "7B"
    assert snap_size_class(2.78) == "2.7B"  # phi-2, as the community names it
    assert snap_size_class(3.1) == "3B"
    assert snap_size_class(0.124) == "125M"  # GPT-2 small, as it is known
    assert snap_size_class(0.0227) == "20M" and snap_size_class(0.0268) == "30M"  # MiniLM-L6 ~ 22.7M
    assert snap_size_class(9.24) == "9B" and snap_size_class(12.2) == "12B"  # gemma-2-9b, Mistral NeMo
    # The sizes these releases are known by: Mistral Small (23.57B), BLOOM (176.2B), SmolLM / distiluse (~135M).
    assert snap_size_class(23.57) == "24B" and snap_size_class(176.2) == "176B" and snap_size_class(0.1347) == "135M"
    assert parse_size_label("8x7B") == 56
    assert parse_size_label("350m") == pytest.approx(0.35)
    assert parse_size_label("seven") is None


def test_nominal_size_comes_from_the_name_not_the_parameter_count():
    # gemma-7b has 8.5B parameters but everyone calls it a 7B model.
    facts = make_facts(id="google/gemma-7b", safetensors={"parameters": {"BF16": 8537680896}, "total": 8537680896})
    assert (facts.params, facts.params_source) == (8537680896, "safetensors.total")
    assert (facts.size_class, facts.size_class_source) == ("7B", "name")


def test_parameter_sources_in_priority_order():
    assert make_facts(id="a/plain", gguf={"total": 2_000_000_000}).params_source == "gguf.total"
    assert make_facts(id="a/thing-13b").params == 13_000_000_000
    from_card = make_facts(id="a/plain", card="# Plain\n\nA 1.5B parameter model for tests.\n")
    assert (from_card.params, from_card.params_source, from_card.size_class) == (1_500_000_000, "card", "1.5B")
    assert make_facts(id="a/plain").params is None


@pytest.mark.parametrize(
    ("license_id", "name", "cls"),
    [
        ("apache-2.0", None, "permissive"),
        ("MIT", None, "permissive"),
        ("gpl-3.0", None, "copyleft"),
        ("creativeml-openrail-m", None, "responsible-ai"),
        ("llama3.3", None, "custom"),
        ("gemma", None, "custom"),
        ("cc-by-nc-4.0", None, "non-commercial"),
        ("other", "gemma-terms-of-use", "custom"),
        ("other", "intel-research-use-license", "non-commercial"),
        ("other", None, "unknown"),
        ("unknown", None, "unknown"),
        (None, None, "unknown"),
    ],
)
def test_license_classes(license_id, name, cls):
    assert classify_license(license_id, name) == cls


# Commercial use by license id, as the licenses' own texts grant it (written out here, not computed): every id
# the shared snapshots declare must be listed, so a new one is decided by a person, not by a default.
COMMERCIAL_BY_ID = {
    **dict.fromkeys(["mit", "apache-2.0", "afl-3.0", "artistic-2.0", "bsd-3-clause", "bsl-1.0", "ms-pl", "pddl",
                     "unlicense", "wtfpl", "cc-by-4.0", "bsd-2-clause", "cc0-1.0", "openrail-permissive"], "yes"),
    # share alike (GPL family, CC BY-SA, GFDL, MPL) or use restrictions (OpenRAIL): allowed, with conditions
    **dict.fromkeys(["gpl-2.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0", "gfdl", "cc-by-sa-4.0",
                     "cc-by-sa-3.0", "openrail", "openrail++", "creativeml-openrail-m", "bigscience-openrail-m",
                     "bigcode-openrail-m", "bigscience-bloom-rail-1.0"], "yes-with-conditions"),
    # vendor community terms: Llama (700M MAU, acceptable use policy), Gemma (prohibited use policy)
    **dict.fromkeys(["llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "gemma"], "yes-with-conditions"),
    "cc-by-nd-4.0": "yes-with-conditions",  # no derivatives, but business use is granted
    **dict.fromkeys(["cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0",
                     "deepfloyd-if-license", "fair-noncommercial-research-license"], "no"),
    **dict.fromkeys(["other", "unknown", "c-uda"], "unknown"),  # terms whichmodel cannot read
}


def _raw_license(record):
    card = record.get("cardData") or {}
    lic = card.get("license")
    if isinstance(lic, list):
        lic = lic[0] if lic else None
    if isinstance(lic, str) and lic:
        return lic.lower(), card.get("license_name")
    tagged = [t[len("license:"):] for t in record.get("tags") or [] if t.startswith("license:")]
    return (tagged[0].lower(), None) if tagged else (None, None)


def test_commercial_use_of_every_license_the_snapshots_declare(snapshot_dirs):
    seen = {}
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            lic, name = _raw_license(record)
            if lic is not None:
                seen.setdefault((lic, name), record)
    ids = {lic for lic, _ in seen}
    assert {"llama2", "gemma", "creativeml-openrail-m", "mit", "cc-by-nc-4.0"} <= ids
    assert ids <= set(COMMERCIAL_BY_ID), f"decide commercial use for: {ids - set(COMMERCIAL_BY_ID)}"
    for (lic, name), record in seen.items():
        facts = parse_record(record)
        expected = COMMERCIAL_BY_ID[lic]
        if lic == "other" and name and any(w in name.lower() for w in ("research", "non-commercial", "noncommercial")):
            expected = "no"  # an `other` license whose name says research-only or non-commercial
        assert facts.commercial_use == expected, (record["id"], lic, name)
        assert (facts.commercial_conditions is not None) == (expected == "yes-with-conditions"), record["id"]
    assert parse_record({"id": "a/b", "tags": []}).commercial_use == "unknown"  # no license declared
    assert parse_record({"id": "a/b"}).commercial_use is None  # nothing read where a license would be


def test_looser_license_ordering():
    assert is_looser("permissive", "custom") is True
    assert is_looser("custom", "permissive") is False
    assert is_looser("permissive", "unknown") is None


def test_base_model_relations():
    quantized = make_facts(tags=["base_model:quantized:meta-llama/Llama-2-7b-hf"])
    assert (quantized.base_models, quantized.base_relation) == (["meta-llama/Llama-2-7b-hf"], "quantized")
    from_card = make_facts(tags=[], cardData={"base_model": ["a/b", "c/d"]}, id="x/merged-model")
    assert (from_card.base_models, from_card.base_source, from_card.base_relation) == (
        ["a/b", "c/d"],
        "cardData.base_model",
        "merge",
    )
    assert make_facts().base_models is None


def test_merge_tags_make_a_default_finetune_link_a_merge():
    link = ["base_model:google/gemma-7b", "base_model:finetune:google/gemma-7b"]
    assert make_facts(tags=["merge", "mergekit", *link]).base_relation == "merge"
    assert make_facts(tags=link).base_relation == "finetune"
    said = make_facts(tags=["mergekit", *link], cardData={"base_model": "google/gemma-7b",
                                                          "base_model_relation": "finetune"})  # fmt: skip
    assert said.base_relation == "finetune", "the card's own relation wins"
    gguf = make_facts(tags=["merge", "base_model:quantized:a/merged-7b"])
    assert gguf.base_relation == "quantized", "a quantized copy of a merge is a quantized copy"
    assert make_facts(tags=["base_model:merge:a/b", "base_model:finetune:c/d"]).base_relation == "merge"


def test_chat_rules_are_named():
    assert make_facts(tags=["conversational"]).chat_rule == "tag 'conversational'"
    template = make_facts(config={"tokenizer_config": {"chat_template": "{{ messages }}"}})
    assert (template.chat, template.chat_rule) == (True, "tokenizer has a chat template")
    assert make_facts(id="a/Foo-7B-Instruct").chat is True
    assert make_facts(id="a/Foo-7B").chat is False
    assert make_facts(pipeline_tag="text-to-image", tags=["conversational"]).chat is False


def test_file_inventory_by_kind():
    facts = make_facts(siblings=files("model.safetensors", "pytorch_model.bin", "modeling.py", "config.json", "x.gguf"))
    assert facts.file_kinds["safetensors"] == ["model.safetensors"]
    assert facts.file_kinds["pickle"] == ["pytorch_model.bin"]
    assert facts.file_kinds["code"] == ["modeling.py"]
    assert facts.file_kinds["gguf"] == ["x.gguf"]


def test_partial_record_yields_facts_with_the_rest_not_available():
    record = {"id": "a/b", "modelId": "a/b", "sha": "1", "downloads": 3, "tags": ["license:mit"], "pipeline_tag": None}
    facts = parse_record(record)
    assert facts.downloads == 3 and facts.license == "mit" and facts.org == "a"
    data = facts.to_dict()
    for missing in ("likes", "created_at", "files", "spaces", "gated", "card"):
        assert missing in data["not_available"]
    assert "downloads" not in data["not_available"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([1, 2], "JSON object"),
        ({"sha": "x"}, "no 'id'"),
        ({"id": 42}, "'id' should be a string, got int"),
        ({"id": "has space/x"}, "not a Hub repo id"),
        ({"id": "a/b", "downloads": "many"}, "'downloads' should be an integer"),
        ({"id": "a/b", "downloads": True}, "'downloads' should be an integer"),
        ({"id": "a/b", "tags": "text"}, "'tags' should be a list"),
        ({"id": "a/b", "gated": "sometimes"}, "'gated'"),
        ({"id": "a/b", "createdAt": "yesterday"}, "not a date"),
    ],
)
def test_wrong_types_are_rejected_with_a_reason(record, message):
    with pytest.raises(RecordError, match=message):
        parse_record(record)


def test_facts_round_trip_through_json():
    facts = make_facts(card=RICH_CARD)
    again = type(facts).from_dict(json.loads(json.dumps(facts.to_dict())))
    assert again == facts


def test_card_parsing_sections_code_and_placeholders():
    card = parse_card(RICH_CARD)
    assert card.front_matter["license"] == "apache-2.0"
    assert [b.lang for b in card.code_blocks] == ["python"]
    assert "Limitations" in [s.heading for s in card.prose_sections]
    template = parse_card(TEMPLATE_CARD)
    assert [s.heading for s in template.prose_sections] == [], "headings with placeholder text are not prose"


def test_card_with_bad_front_matter_is_reported_not_raised():
    card = parse_card("---\nlicense: [unclosed\n---\n# Title\n\nText here.\n")
    assert card.front_matter == {} and card.front_matter_error.startswith("front matter is not valid YAML")
    assert card.prose_sections[0].heading == "Title"


def test_card_facts_carry_quotes_and_places():
    facts = make_facts(card=RICH_CARD).card.facts
    assert facts["training"].present and "DPO" in facts["training"].quote
    assert facts["training"].where == "section 'Training procedure'"
    assert facts["datasets"].where == "front matter `datasets`"
    assert facts["example_code"].quote.startswith("from transformers import pipeline")


# ------------------------------------------------------------------------------------- golden: raw API samples
def _samples(shared_data):
    raw = json.loads((shared_data / "hub-api-samples" / "api_models_responses_2025-01-22.json").read_text())
    return {item["body"]["id"]: item["body"] for item in raw}


GOLDEN = {
    "google-bert/bert-base-uncased": {
        "license": "apache-2.0",
        "license_class": "permissive",
        "pipeline_tag": "fill-mask",
        "base_models": None,
        "chat": False,
        "arxiv_ids": ["1810.04805"],
        "datasets": ["bookcorpus", "wikipedia"],
        "remote_code": False,
        "kinds": {"safetensors", "pickle"},
    },
    "deepset/roberta-base-squad2": {
        "license": "cc-by-4.0",
        "license_class": "permissive",
        "base_models": ["FacebookAI/roberta-base"],
        "base_relation": "finetune",
        "pipeline_tag": "question-answering",
        "chat": False,
    },
    "sentence-transformers/paraphrase-albert-small-v2": {
        "license": "apache-2.0",
        "pipeline_tag": "sentence-similarity",
        "library_name": "sentence-transformers",
    },
    "stabilityai/stable-diffusion-2-1": {
        "license": "openrail++",
        "license_class": "responsible-ai",
        "pipeline_tag": "text-to-image",
        "chat": False,
        "kinds": {"safetensors", "pickle"},
    },
}


@pytest.mark.parametrize("model_id", sorted(GOLDEN))
def test_golden_api_samples(shared_data, model_id):
    body = _samples(shared_data)[model_id]
    facts = parse_record(body, observed_at="2025-01-22T00:00:00Z")
    expected = dict(GOLDEN[model_id])
    kinds = expected.pop("kinds", None)
    for key, value in expected.items():
        assert getattr(facts, key) == value, key
    if kinds:
        assert kinds <= set(facts.file_kinds)


def test_golden_samples_score_as_expected(shared_data):
    from whichmodel.scoring.engine import score_facts

    cards = {
        mid: score_facts(parse_record(b, observed_at="2025-01-22T00:00:00Z"))
        for mid, b in _samples(shared_data).items()
    }
    outcome = {mid: {f.check: f.outcome for f in c.findings()} for mid, c in cards.items()}
    bert = outcome["google-bert/bert-base-uncased"]
    assert bert["safetensors"] == "pass" and bert["unsafe_files"] == "fail"  # safetensors beside pytorch_model.bin
    assert bert["reputable_provider"] == "pass" and bert["typosquatting"] == "pass"
    assert outcome["stabilityai/stable-diffusion-2-1"]["license_type"] == "pass"
    for card in cards.values():
        assert card.overall is not None and 0 <= card.overall <= 10
        # No card text was recorded with the samples: card checks are unknown, never failed.
        assert {f.outcome for f in card.findings() if f.check in ("card_length", "limitations")} == {"not_available"}


def test_modelinfo_round_trips_to_wire(shared_data):
    """The live client's ModelInfo -> wire conversion feeds the same parser with the same result."""
    from huggingface_hub.hf_api import ModelInfo
    from whichmodel.hub.client import modelinfo_to_wire

    for body in _samples(shared_data).values():
        direct = parse_record(body, observed_at="2025-01-22T00:00:00Z")
        via_api = parse_record(modelinfo_to_wire(ModelInfo(**body)), observed_at="2025-01-22T00:00:00Z")
        for key in (
            "license",
            "license_class",
            "files",
            "tags",
            "pipeline_tag",
            "base_models",
            "chat",
            "params",
            "remote_code",
            "downloads",
            "likes",
            "gated",
            "last_modified",
        ):
            assert getattr(via_api, key) == getattr(direct, key), (body["id"], key)


def test_wire_factory_is_valid():
    assert parse_record(wire()).id == "acme/widget-7b"
