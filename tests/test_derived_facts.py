"""Derived facts beyond the shared data: packed quantized weights, MoE names, adapters on their base, the
effective license along the lineage, rank values, the no-weights veto, rescore history and the schema upgrade.

Expected values are worked out here from the records' own numbers (dtype counts, bit widths, base sizes).
"""

import sqlite3

import pytest
from factories import make_facts
from sqlalchemy import func, select
from whichmodel.agent.parse import parse_slots
from whichmodel.hub.card import size_sentence
from whichmodel.hub.facts import size_from_name
from whichmodel.hub.snapshot import Parsed
from whichmodel.scoring.context import ScoringContext
from whichmodel.scoring.engine import score_facts
from whichmodel.scoring.lineage import apply_lineage
from whichmodel.scoring.method import load_method, parse_method, read_data
from whichmodel.store.ingest import ingest_items, score_pending
from whichmodel.store.models import AssessmentRow, ModelRow
from whichmodel.store.queries import SearchFilters, scorecard, search_models

OBSERVED = "2025-04-22T00:00:00Z"


def files(*names):
    return [{"rfilename": n} for n in names]


# ------------------------------------------------------------------------------------------------ parameters
def test_mlx_4bit_weights_are_unpacked_by_dtype():
    # 32B at 4 bits: eight weights per U32 element, scales and biases in BF16 (what the Hub "measures" as 5B).
    record = dict(
        id="mlx-community/EXAONE-Deep-32B-4bit",
        safetensors={"parameters": {"U32": 4_000_000_000, "BF16": 1_000_000_000}, "total": 5_000_000_000},
    )
    facts = make_facts(**record)
    assert facts.params == 1_000_000_000 + 4_000_000_000 * 8
    assert facts.size_class == "32B" and facts.params_conflict is None
    with_config = make_facts(**record, config={"quantization": {"group_size": 64, "bits": 4}})
    assert with_config.params == facts.params


def test_gptq_and_bitsandbytes_packing_follow_the_configured_bits():
    gptq = make_facts(
        id="a/Foo-13B-GPTQ",
        safetensors={"parameters": {"I32": 1_600_000_000, "F16": 300_000_000}, "total": 1_900_000_000},
        config={"quantization_config": {"bits": 4, "quant_method": "gptq"}},
    )
    assert gptq.params == 300_000_000 + 1_600_000_000 * 8 and gptq.size_class == "13B"
    bnb = make_facts(
        id="a/llama-7b-bnb-4bit",
        safetensors={"parameters": {"U8": 3_300_000_000, "F16": 260_000_000}, "total": 3_560_000_000},
        config={"quantization_config": {"load_in_4bit": True, "quant_method": "bitsandbytes"}},
    )
    assert bnb.params == 260_000_000 + 3_300_000_000 * 2
    # GPT-NeoX stores attention masks as U8 and is not quantized: nothing is unpacked.
    neox = make_facts(
        id="EleutherAI/gpt-neox-20b",
        safetensors={"parameters": {"F16": 20_554_568_208, "U8": 184_549_376}, "total": 20_739_117_584},
    )
    assert neox.params == 20_739_117_584


def test_a_full_width_mlx_conversion_is_not_a_quantized_copy():
    tags = ["base_model:finetune:acme/Widget-24B"]
    assert make_facts(id="a/Widget-24B-mlx-fp16", tags=tags).base_relation == "finetune"
    assert make_facts(id="a/Widget-24B-mlx-4bit", tags=tags).base_relation == "quantized"


def test_packed_weights_of_unknown_width_are_not_a_measurement():
    facts = make_facts(
        id="a/Widget-13B-quantized-exl2",
        safetensors={"parameters": {"I32": 10}, "total": 10},
        tags=["base_model:quantized:acme/Widget-13B"],
    )
    # exl2 has no fixed width and the config says none: the name (13B) stands, no conflict is claimed.
    assert facts.params_measured is None and facts.params == 13_000_000_000


def test_moe_names_keep_active_and_total():
    scout = make_facts(
        id="meta-llama/Llama-4-Scout-17B-16E",
        safetensors={"parameters": {"BF16": 109_000_000_000}, "total": 109_000_000_000},
    )
    assert (scout.params, scout.params_active, scout.size_class) == (109_000_000_000, 17_000_000_000, "17B-16E")
    assert scout.params_conflict is None
    qwen = make_facts(
        id="Qwen/Qwen3-30B-A3B", safetensors={"parameters": {"BF16": 30_500_000_000}, "total": 30_500_000_000}
    )
    assert (qwen.params_active, qwen.size_class) == (3_000_000_000, "30B-A3B")
    mixtral = make_facts(
        id="mistralai/Mixtral-8x7B-v0.1", safetensors={"parameters": {"BF16": 46_700_000_000}, "total": 46_700_000_000}
    )
    assert mixtral.size_class == "8x7B" and mixtral.params == 46_700_000_000


def test_a_measurement_more_than_twice_off_the_name_wins_and_is_recorded():
    facts = make_facts(
        id="a/llama_2_judge_llama_3_70B_full",
        safetensors={"parameters": {"BF16": 6_738_415_616}, "total": 6_738_415_616},
    )
    assert facts.params == 6_738_415_616 and facts.size_class == "7B"
    assert "70B" in facts.params_conflict and "6.7B" in facts.params_conflict


def test_an_underscore_between_digits_is_read_as_the_measurement_says():
    measured = make_facts(
        id="teddy-f-47/phi-pl-2_7B-v_0_1", safetensors={"parameters": {"F32": 2_775_049_335}, "total": 2_775_049_335}
    )
    assert measured.size_class == "2.7B" and measured.params_conflict is None
    llama = make_facts(
        id="a/llama_2_7b_chat", safetensors={"parameters": {"F16": 6_738_415_616}, "total": 6_738_415_616}
    )
    assert llama.size_class == "7B"
    assert size_from_name("phi-pl-2_7B") == ("7B", 7.0)  # no measurement: the plain reading


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Phi-2 showcased state-of-the-art performance among models with less than 13 billion parameters.", None),
        ("Llama 2 is a collection of models ranging in scale from 7 billion to 70 billion parameters.", None),
        ("We release 20 models across 8 sizes, ranging from 590M to 70B parameters.", None),
        ("It works as well as models with 7B parameters or more.", None),
        ("It is small and efficient with a size of 2.7 billion parameters.", 2.7),
        ("Meditron-7B is a 7 billion parameters model adapted to the medical domain.", 7.0),
        ("- **Model type:** A 8.5B parameter GPT-like model fine-tuned on public data", 8.5),
        ("| **Model Size** | 8 billion parameters |", 8.0),
    ],
)
def test_a_card_number_counts_only_when_it_states_this_models_size(sentence, expected):
    found = size_sentence(sentence)
    assert (found[0] if found else None) == expected


def test_an_adapter_is_as_large_as_its_base_and_keeps_its_own_count():
    adapter = make_facts(
        id="a/my-lora",
        library_name="peft",
        safetensors={"parameters": {"F32": 171_000_000}, "total": 171_000_000},
        siblings=files("README.md", "adapter_config.json", "adapter_model.safetensors"),
        tags=["peft", "base_model:adapter:meta-llama/Llama-2-7b-hf"],
    )
    assert adapter.base_relation == "adapter" and adapter.adapter_params == 171_000_000
    assert (adapter.params, adapter.size_class) == (7_000_000_000, "7B")  # from the base's name, until it is known
    ctx = ScoringContext.curated(base_params={"meta-llama/Llama-2-7b-hf": (6_738_415_616, "7B")})
    apply_lineage(adapter, ctx)
    assert adapter.params == 6_738_415_616 and adapter.adapter_params == 171_000_000
    # Full weights beside a leftover adapter_config.json: a full model, measured as such.
    merged = make_facts(
        id="a/merged",
        safetensors={"parameters": {"BF16": 32_763_876_352}, "total": 32_763_876_352},
        siblings=files("adapter_config.json", "adapter_model.safetensors", "model.safetensors"),
    )
    assert merged.base_relation != "adapter" and merged.params == 32_763_876_352


def test_search_filters_and_size_class_agree_with_the_adapters_usable_size(engine):
    base = make_facts(
        id="meta-llama/Llama-2-7b-hf",
        safetensors={"parameters": {"F16": 6_738_415_616}, "total": 6_738_415_616},
        cardData={"license": "llama2"},
        tags=["license:llama2"],
    )
    lora = make_facts(
        id="a/tiny-lora",
        library_name="peft",
        safetensors={"parameters": {"F32": 171_000_000}, "total": 171_000_000},
        siblings=files("adapter_config.json", "adapter_model.safetensors"),
        tags=["peft", "base_model:adapter:meta-llama/Llama-2-7b-hf"],
        cardData={"license": "mit"},
    )
    ingest_items(
        engine, [Parsed(1, base, None), Parsed(2, lora, None)], source="t", kind="snapshot", observed_at=OBSERVED
    )
    score_pending(engine)
    small = search_models(engine, SearchFilters(max_params=3_000_000_000, limit=10))
    assert "a/tiny-lora" not in [r["model_id"] for r in small["results"]]
    seven = {r["model_id"]: r for r in search_models(engine, SearchFilters(size="7B", limit=10))["results"]}
    assert seven["a/tiny-lora"]["params"] == 6_738_415_616 and seven["a/tiny-lora"]["adapter_params"] == 171_000_000
    # mit on a Llama 2 adapter: effectively custom; "permissive" does not find it, the conflict is named.
    assert seven["a/tiny-lora"]["license_class"] == "custom"
    assert seven["a/tiny-lora"]["license_class_declared"] == "permissive"
    assert "meta-llama/Llama-2-7b-hf" in seven["a/tiny-lora"]["license_conflict"]
    permissive = search_models(engine, SearchFilters(license_class="permissive"))
    assert permissive["total_matched"] == 0


# ------------------------------------------------------------------------------------------------ licenses
def test_the_effective_license_is_the_strictest_up_the_chain(engine):
    root = make_facts(id="vendor/root", cardData={"license": "cc-by-nc-4.0"}, tags=[])
    middle = make_facts(id="b/middle", cardData={"license": "llama2"}, tags=["base_model:finetune:vendor/root"])
    leaf = make_facts(id="c/leaf", cardData={"license": "apache-2.0"}, tags=["base_model:finetune:b/middle"])
    ingest_items(
        engine,
        [Parsed(i, f, None) for i, f in enumerate((root, middle, leaf))],
        source="t",
        kind="snapshot",
        observed_at=OBSERVED,
    )
    score_pending(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(ModelRow.id, ModelRow.license_class)).all())
    assert rows == {"vendor/root": "non-commercial", "b/middle": "non-commercial", "c/leaf": "non-commercial"}
    facts = scorecard(engine, "c/leaf")["facts"]
    assert facts["license_class"] == "permissive" and facts["license_class_effective"] == "non-commercial"


# ------------------------------------------------------------------------------------------------ ranking
def _rank(score, coverage, prior=5.0):
    return prior if score is None else round(coverage * score + (1 - coverage) * prior, 3)


def test_low_coverage_cannot_tie_full_evidence():
    method = load_method()
    full = score_facts(make_facts(), method=method)
    sparse = score_facts(make_facts(siblings=None, config=None, tags=None, cardData=None), method=method)
    f, s = full.categories["security"], sparse.categories["security"]
    assert f.coverage > s.coverage
    assert f.rank == _rank(f.score, f.coverage) and s.rank == _rank(s.score, s.coverage)
    assert f.score == 10.0 and f.rank > s.rank


def test_a_repo_without_weights_is_vetoed_on_security():
    readme_only = score_facts(make_facts(siblings=files(".gitattributes", "README.md", "config.json")))
    security = readme_only.categories["security"]
    assert security.score == 0.0 and security.rank == 0.0 and security.vetoed_by == "weights_present"
    passed = [f.check for f in security.findings if f.outcome == "pass"]
    assert "code_files" in passed  # other checks passed, and still nothing here is safe


def test_search_ranks_by_rank_then_coverage_and_counts_what_it_left_out(engine):
    items = [
        make_facts(id="a/full", downloads=10),
        make_facts(id="a/sparse", siblings=None, config=None, downloads=1000),
        make_facts(id="a/readme-only", siblings=files("README.md"), downloads=10**6),
    ]
    ingest_items(
        engine, [Parsed(i, f, None) for i, f in enumerate(items)], source="t", kind="snapshot", observed_at=OBSERVED
    )
    score_pending(engine)
    result = search_models(engine, SearchFilters(sort="security"))
    ids = [r["model_id"] for r in result["results"]]
    assert ids == ["a/full", "a/sparse"] and result["left_out_no_weights"] == 1
    for row in result["results"]:
        assert row["security_rank"] == _rank(row["security"], row["security_coverage"])
    everything = search_models(engine, SearchFilters(sort="security", include_no_weights=True))
    assert everything["results"][-1]["model_id"] == "a/readme-only"
    assert everything["results"][-1]["security"] == 0.0
    by_downloads = search_models(engine, SearchFilters(sort="downloads", include_no_weights=True))
    assert [r["model_id"] for r in by_downloads["results"]] == ["a/readme-only", "a/sparse", "a/full"]


def test_most_downloaded_sorts_by_downloads_not_popularity():
    assert parse_slots("most downloaded text generation model")["sort"] == "downloads"
    assert parse_slots("most popular embedding model")["sort"] == "popularity"


@pytest.mark.parametrize(
    "question",
    ["best 7B chat model usable without requesting access", "a model I can use without asking for access"],
)
def test_usable_without_requesting_access_leaves_gated_models_out(question):
    assert parse_slots(question)["exclude_gated"] is True


# ------------------------------------------------------------------------------------------------ versions
def test_rescore_brings_scores_to_the_new_method_and_history_keeps_both(engine):
    current = f'version: "{load_method().version}"'.encode()
    older = parse_method(read_data("method.yaml").replace(current, b'version: "1.9.0"'))
    assert older.version == "1.9.0"
    ingest_items(engine, [Parsed(1, make_facts(), None)], source="t", kind="snapshot", observed_at=OBSERVED)
    score_pending(engine, method=older)
    from whichmodel.store.ingest import mark_for_rescore

    mark_for_rescore(engine)
    assert score_pending(engine) == 1
    with engine.connect() as conn:
        versions = set(conn.execute(select(AssessmentRow.method_version).distinct()).scalars())
        stored = conn.execute(select(ModelRow.method_version)).scalar_one()
    assert versions == {"1.9.0", load_method().version} and stored == load_method().version


def test_a_new_method_version_scores_every_observation_again_without_mark_for_rescore(engine):
    """Observations scored under another version are unscored again once (the unscored index holds only
    the unscored), then scored under the current one; the older version's rows stay as history."""
    current = f'version: "{load_method().version}"'.encode()
    older = parse_method(read_data("method.yaml").replace(current, b'version: "1.9.0"'))
    for day in ("2025-04-01T00:00:00Z", "2025-04-02T00:00:00Z"):
        ingest_items(engine, [Parsed(1, make_facts(), None)], source="t", kind="snapshot", observed_at=day)
    assert score_pending(engine, method=older) == 2
    assert score_pending(engine, method=older) == 0  # nothing left under that version
    assert score_pending(engine) == 2  # the shipped version: both again
    assert score_pending(engine) == 0
    with engine.connect() as conn:
        versions = set(conn.execute(select(AssessmentRow.method_version).distinct()).scalars())
    assert versions == {"1.9.0", load_method().version}


def test_a_schema_5_database_is_upgraded_in_place(tmp_path):
    """A home from before revision 0006 (schema 5, before Alembic) gets the derived-fact columns, filled."""
    from test_migration_0007 import load_home, to_schema_5
    from whichmodel.store.db import make_engine
    from whichmodel.store.models import COVERAGE_COLUMNS, RANK_COLUMNS, SCHEMA_VERSION

    path = tmp_path / "v5.db"
    load_home(path)  # a real home at 0006: its columns are what 0006 computes from the stored scores
    columns = [*RANK_COLUMNS.values(), *COVERAGE_COLUMNS.values(), "license_class_declared"]
    with sqlite3.connect(path) as conn:
        expected = {row[0]: dict(zip(columns, row[1:], strict=True))
                    for row in conn.execute(f"SELECT id, {', '.join(columns)} FROM models")}  # fmt: skip
    to_schema_5(path)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT value FROM meta WHERE key = 'schema_version'").scalar() == SCHEMA_VERSION
        assert conn.execute(select(func.count()).select_from(ModelRow)).scalar_one() == len(expected) == 5
    upgraded = {r["model_id"]: r for r in search_models(engine, SearchFilters(include_no_weights=True))["results"]}
    for model_id, row in expected.items():  # ranks and coverage come back from the stored scores
        for column in columns:
            if model_id == "delta/readme-only" and column in ("security_rank", "overall_rank"):
                continue  # a veto is a finding's verdict, not a stored column: it returns with the rescore
            # SQL rounds the rank to 3 places as the database's decimal arithmetic does, Python as binary floats do.
            assert upgraded[model_id][column] == pytest.approx(row[column], abs=0.0011), (model_id, column)
    # Weights present arrives with the rescore the method bump calls for; then the facet counts hold again.
    from whichmodel.store.ingest import mark_for_rescore

    mark_for_rescore(engine)
    score_pending(engine)
    default = search_models(engine, SearchFilters())
    assert (default["total_matched"], default["left_out_no_weights"]) == (4, 1)


def test_a_partial_record_takes_its_revisions_files_from_an_earlier_full_record(snapshot_dirs):
    """Raw 2025-04-16 partial lines whose sha an earlier full line has: filled, their file list, dates and
    derived sizes are the full record's, and gate and likes stay unknown; a different sha fills nothing."""
    import json

    from whichmodel.hub.facts import fill_from_revision, is_partial, parse_record

    full, pairs = {}, []
    for snap in snapshot_dirs:
        for line in (snap / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            if "siblings" in record:
                full[(record["id"], record.get("sha"))] = record
            elif (record["id"], record.get("sha")) in full:
                pairs.append((record, full[(record["id"], record["sha"])]))
    assert len(pairs) > 100
    for partial_raw, full_raw in pairs:
        partial, earlier = parse_record(partial_raw), parse_record(full_raw)
        assert is_partial(partial) and not is_partial(earlier)
        assert fill_from_revision(partial, earlier)
        assert partial.files == [s["rfilename"] for s in full_raw["siblings"]]
        assert partial.has_weights == earlier.has_weights and partial.params == earlier.params
        assert partial.created_at == earlier.created_at and partial.gated is None and partial.likes is None
    other = parse_record({**pairs[0][0], "sha": "0" * 40})
    assert not fill_from_revision(other, parse_record(pairs[0][1])) and other.files is None
