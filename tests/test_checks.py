"""Table-driven tests: one row per (check, situation), each asserting the outcome and the points share."""

import pytest
from factories import RICH_CARD, TEMPLATE_CARD, files, make_facts
from whichmodel.scoring.checks import CHECKS
from whichmodel.scoring.context import Reference, ScoringContext
from whichmodel.scoring.findings import FAIL, NOT_APPLICABLE, NOT_AVAILABLE, PASS
from whichmodel.scoring.method import load_method

METHOD = load_method()
PARTIAL = {  # what list_models returns without expand: id, sha, downloads, tags, pipeline_tag only
    k: None
    for k in ("author", "createdAt", "lastModified", "private", "gated", "disabled", "likes", "library_name",
              "config", "cardData", "siblings", "spaces", "usedStorage")
}  # fmt: skip


def run(check_id, card=None, ctx=None, **overrides):
    ctx = ctx or ScoringContext.curated()
    spec = METHOD.check(check_id)
    ctx.typo_params = METHOD.check("typosquatting").params
    scan = overrides.pop("security_scan", None)  # not a wire field: what hub/scan.py attaches after a fetch
    facts = make_facts(card, **overrides)
    facts.security_scan = scan
    return CHECKS[check_id](facts, ctx, spec.params)


def scan(hub=(), done=True, files_=(), hub_status=True):
    """A `security_scan` fact: the Hub's flagged (path, level) pairs and scanned file entries."""
    verdict = {"scans_done": done, "files": [{"path": p, "level": lvl} for p, lvl in hub]} if hub_status else None
    return {"scanned_at": "2025-04-22T00:00:00Z", "scanner": "picklescan 1.0.5", "max_mb": 500, "revision": "x",
            "hub_status": verdict, "hub_error": None if hub_status else "HTTP 503", "files": list(files_)}  # fmt: skip


def pickle_entry(path, *imports, status="scanned", size=None):
    """A scanned pickle: imports as (module.name, picklescan safety)."""
    listed = [{"module": g.rsplit(".", 1)[0], "name": g.rsplit(".", 1)[1], "safety": s} for g, s in imports]
    return {"path": path, "kind": "pickle", "status": status, "size": size, "imports": listed, "partial": False,
            "templates": [], "error": None if status == "scanned" else "why"}  # fmt: skip


def gguf_entry(path, *issues, status="scanned"):
    template = {"key": "tokenizer.chat_template", "chars": 100, "issues": list(issues), "error": None}
    return {"path": path, "kind": "gguf", "status": status, "size": None, "imports": [], "partial": False,
            "templates": [template] if status == "scanned" else [], "error": None}  # fmt: skip


TENSOR_GLOBALS = (("collections.OrderedDict", "innocuous"), ("torch._utils._rebuild_tensor_v2", "innocuous"))
PICKLED = {"siblings": files("pytorch_model.bin")}
GGUFS = {"siblings": files("m.Q4.gguf", "m.Q8.gguf")}


CASES = [
    # check, situation, card, overrides, outcome, fraction (None: don't care)
    ("downloads", "none", None, {"downloads": 0}, FAIL, 0.0),
    ("downloads", "a million saturates", None, {"downloads": 1_000_000}, PASS, 1.0),
    ("downloads", "a thousand passes partially", None, {"downloads": 1000}, PASS, pytest.approx(0.5, abs=0.01)),
    ("downloads", "missing is not zero", None, {"downloads": None}, NOT_AVAILABLE, 0.0),
    ("likes", "few", None, {"likes": 3}, FAIL, None),
    ("likes", "missing", None, {"likes": None}, NOT_AVAILABLE, 0.0),
    ("papers", "arxiv tag", None, {"tags": ["arxiv:2307.09288", "license:mit"]}, PASS, 1.0),
    ("papers", "paper link in card", RICH_CARD, {}, PASS, 1.0),
    ("papers", "no tags at all", None, {"tags": None, "cardData": None}, NOT_AVAILABLE, 0.0),
    ("papers", "tags without paper", None, {}, FAIL, 0.0),
    ("github_repo", "linked in card", RICH_CARD, {}, PASS, 1.0),
    ("github_repo", "card without link", TEMPLATE_CARD, {}, FAIL, 0.0),
    ("github_repo", "no card, no card data", None, {"cardData": None}, NOT_AVAILABLE, 0.0),
    ("spaces", "none", None, {"spaces": []}, FAIL, 0.0),
    ("spaces", "a hundred saturate", None, {"spaces": [f"u/s{i}" for i in range(100)]}, PASS, 1.0),
    ("spaces", "not collected", None, {"spaces": None}, NOT_AVAILABLE, 0.0),
    ("discussions", "not collected", None, {}, NOT_AVAILABLE, 0.0),
    ("discussions", "lively", None, {"discussions": 50}, PASS, 1.0),
    ("pull_requests", "none", None, {"pullRequests": 0}, FAIL, 0.0),
    ("commit_recency", "changed last week", None, {"lastModified": "2025-04-15T00:00:00Z"}, PASS, 1.0),
    ("commit_recency", "three years idle", None, {"lastModified": "2022-03-01T00:00:00Z"}, FAIL, 0.0),
    ("commit_recency", "unknown", None, {"lastModified": None}, NOT_AVAILABLE, 0.0),
    ("reputable_provider", "curated vendor", None, {"id": "google/gemma-7b", "author": "google"}, PASS, 1.0),
    ("reputable_provider", "unknown author", None, {}, FAIL, 0.0),
    (
        "reputable_provider",
        "author from the id when the field is missing",
        None,
        {"id": "mistralai/x", "author": None},
        PASS,
        1.0,
    ),
    ("model_age", "one week old", None, {"createdAt": "2025-04-15T00:00:00Z"}, FAIL, 0.3),
    ("model_age", "mature and maintained", None, {}, PASS, 1.0),
    (
        "model_age",
        "stale for years",
        None,
        {"createdAt": "2020-01-01T00:00:00Z", "lastModified": "2021-01-01T00:00:00Z"},
        FAIL,
        0.5,
    ),
    ("model_age", "unknown", None, {"createdAt": None}, NOT_AVAILABLE, 0.0),
    ("gating", "open", None, {}, PASS, 1.0),
    ("gating", "automatic approval", None, {"gated": "auto"}, PASS, 0.7),
    ("gating", "manual approval", None, {"gated": "manual"}, FAIL, 0.3),
    ("gating", "unknown", None, {"gated": None}, NOT_AVAILABLE, 0.0),
    ("license_present", "declared", None, {}, PASS, 1.0),
    ("license_present", "absent where it would be", None, {"tags": ["transformers"], "cardData": {}}, FAIL, 0.0),
    ("license_present", "partial record without license tag", None, {**PARTIAL, "tags": ["transformers"]}, FAIL, 0.0),
    ("license_type", "permissive", None, {}, PASS, 1.0),
    ("license_type", "non-commercial", None, {"cardData": {"license": "cc-by-nc-4.0"}}, FAIL, 0.2),
    ("license_type", "vendor terms", None, {"cardData": {"license": "llama2"}}, PASS, 0.5),
    ("license_type", "none declared", None, {"tags": [], "cardData": {}}, NOT_APPLICABLE, 0.0),
    ("license_consistency", "not a derivative", None, {}, NOT_APPLICABLE, 0.0),
    (
        "license_consistency",
        "base license unknown to the database",
        None,
        {"tags": ["base_model:meta-llama/Llama-2-7b-hf", "license:apache-2.0"]},
        NOT_AVAILABLE,
        0.0,
    ),
    ("metric_info", "front matter metrics", RICH_CARD, {}, PASS, 1.0),
    ("metric_info", "template card says nothing", TEMPLATE_CARD, {"cardData": {"license": "mit"}}, FAIL, 0.0),
    ("metric_info", "no card text", None, {}, NOT_AVAILABLE, 0.0),
    ("metric_info", "no README at all", None, {"siblings": files("config.json")}, FAIL, 0.0),
    ("dataset_info", "dataset tag", None, {"tags": ["dataset:squad", "license:mit"]}, PASS, 1.0),
    ("base_model_info", "declared", None, {"tags": ["base_model:finetune:meta-llama/Llama-2-7b-hf"]}, PASS, 1.0),
    ("base_model_info", "fine-tune by name without base", None, {"id": "acme/widget-7b-finetuned-lora"}, FAIL, 0.0),
    ("base_model_info", "original model", None, {}, NOT_APPLICABLE, 0.0),
    ("training_info", "training section", RICH_CARD, {}, PASS, 1.0),
    ("training_info", "placeholder only", TEMPLATE_CARD, {}, FAIL, 0.0),
    (
        "evaluation_results",
        "model-index results",
        None,
        {"model_index": [{"name": "w", "results": [{"metrics": [{"type": "acc", "value": 0.7}]}]}]},
        PASS,
        1.0,
    ),
    ("evaluation_results", "prose results", RICH_CARD, {}, PASS, 1.0),
    ("safetensors", "safetensors weights", None, {}, PASS, 1.0),
    ("safetensors", "pickle only", None, {"siblings": files("README.md", "pytorch_model.bin")}, FAIL, 0.0),
    # No weights is not safe: a README- or config-only repo fails, and weights_present vetoes the category.
    ("safetensors", "no weights at all", None, {"siblings": files("README.md", "config.json")}, FAIL, 0.0),
    ("safetensors", "GGUF loads without code", None, {"siblings": files("m.Q4_K_M.gguf")}, PASS, 1.0),
    ("safetensors", "GGML named .bin", None, {"siblings": files("llama-2-7b.ggmlv3.q4_0.bin")}, PASS, 1.0),
    ("safetensors", "paddle only", None, {"siblings": files("model_state.pdparams")}, FAIL, 0.0),
    ("weights_present", "README only", None, {"siblings": files("README.md", ".gitattributes")}, FAIL, 0.0),
    ("weights_present", "config and code only", None, {"siblings": files("config.json", "x.py")}, FAIL, 0.0),
    ("weights_present", "training state is not weights", None, {"siblings": files("training_args.bin")}, FAIL, 0.0),
    # A retrieval app's FAISS store is pickled documents: unsafe to load, but not weights (no model here).
    (
        "weights_present",
        "a vector-store pickle is not weights",
        None,
        {"siblings": files("app.py", "vectorstores/db_faiss/index.faiss", "vectorstores/db_faiss/index.pkl")},
        FAIL,
        0.0,
    ),
    ("unsafe_files", "a vector-store pickle is still pickle", None, {"siblings": files("db/index.pkl")}, FAIL, 0.0),
    ("safetensors", "a vector store beside safetensors", None,
     {"siblings": files("model.safetensors", "faiss_index/index.pkl")}, PASS, 1.0),  # fmt: skip
    ("weights_present", "a llamafile", None, {"siblings": files("phi-2.Q4_0.llamafile")}, PASS, 1.0),
    ("weights_present", "unknown files", None, {"siblings": None}, NOT_AVAILABLE, 0.0),
    ("unsafe_files", "GGML .bin is not pickle", None, {"siblings": files("ggml-model-q4_0.bin")}, PASS, 1.0),
    ("unsafe_files", "nemo is pickle-based", None, {"siblings": files("model.nemo")}, FAIL, 0.0),
    ("unsafe_files", "keras carries code", None, {"siblings": files("model.keras")}, FAIL, 0.0),
    ("unsafe_files", "numpy arrays", None, {"siblings": files("weights.npz")}, FAIL, 0.0),
    ("code_files", "a llamafile runs when used", None, {"siblings": files("phi-2.Q4_0.llamafile")}, FAIL, 0.0),
    ("safetensors", "partial record with safetensors tag", None, {**PARTIAL, "tags": ["safetensors"]}, PASS, 1.0),
    ("safetensors", "partial record without file list", None, {**PARTIAL, "tags": ["pytorch"]}, NOT_AVAILABLE, 0.0),
    ("unsafe_files", "clean", None, {}, PASS, 1.0),
    (
        "unsafe_files",
        "pickle beside safetensors",
        None,
        {"siblings": files("model.safetensors", "pytorch_model.bin")},
        FAIL,
        0.5,
    ),
    ("unsafe_files", "pickle only", None, {"siblings": files("model.ckpt", "optimizer.pt")}, FAIL, 0.0),
    ("unsafe_files", "joblib counts as pickle", None, {"siblings": files("model.joblib")}, FAIL, 0.0),
    ("unsafe_files", "unknown files", None, {"siblings": None}, NOT_AVAILABLE, 0.0),
    ("code_files", "none", None, {}, PASS, 1.0),
    ("code_files", "a modeling file", None, {"siblings": files("modeling_x.py", "model.safetensors")}, FAIL, 0.3),
    (
        "remote_code",
        "auto_map needs remote code",
        None,
        {"config": {"auto_map": {"AutoModel": "modeling_x.X"}}},
        FAIL,
        0.0,
    ),
    (
        "remote_code",
        "custom class",
        None,
        {"config": {}, "transformersInfo": {"auto_model": "AutoModel", "custom_class": "X"}},
        FAIL,
        0.0,
    ),
    ("remote_code", "library code", None, {}, PASS, 1.0),
    ("remote_code", "config not collected", None, {"config": None}, NOT_AVAILABLE, 0.0),
    ("example_code", "python example", RICH_CARD, {}, PASS, 1.0),
    ("example_code", "no code", TEMPLATE_CARD, {}, FAIL, 0.0),
    ("example_code", "no card text", None, {}, NOT_AVAILABLE, 0.0),
    ("typosquatting", "ordinary fine-tune", None, {}, PASS, 1.0),
    (
        "typosquatting",
        "org near miss of a curated model",
        None,
        {"id": "meta-lama/Llama-2-7b-chat-hf", "author": "meta-lama"},
        FAIL,
        0.0,
    ),
    (
        "typosquatting",
        "look-alike org characters",
        None,
        {"id": "mistra1ai/Mistral-7B-v0.1", "author": "mistra1ai"},
        FAIL,
        0.0,
    ),
    ("typosquatting", "name near miss by another author", None, {"id": "someone/Lama-2-7b-chat-hf"}, FAIL, 0.0),
    (
        "typosquatting",
        "same name re-upload that declares no base: impersonation risk",
        None,
        {"id": "someone/Llama-2-7b-chat-hf"},
        FAIL,
        0.0,
    ),
    (
        "typosquatting",
        "same name copy that declares the original as its base",
        None,
        {"id": "someone/Llama-2-7b-chat-hf", "tags": ["base_model:finetune:meta-llama/Llama-2-7b-chat-hf"]},
        PASS,
        1.0,
    ),
    ("typosquatting", "digit-only difference is a sibling", None, {"id": "someone/gemma-9b"}, PASS, 1.0),
    ("typosquatting", "the original itself", None, {"id": "google/gemma-7b", "author": "google"}, PASS, 1.0),
    ("card_present", "README in files", None, {}, PASS, 1.0),
    ("card_present", "no README", None, {"siblings": files("config.json")}, FAIL, 0.0),
    ("card_present", "files unknown", None, {"siblings": None}, NOT_AVAILABLE, 0.0),
    ("card_length", "rich card", RICH_CARD, {}, FAIL, None),
    ("card_length", "no text", None, {}, NOT_AVAILABLE, 0.0),
    ("card_sections", "rich card covers all topics", RICH_CARD, {}, PASS, 1.0),
    ("card_sections", "template headings without prose count for nothing", TEMPLATE_CARD, {}, FAIL, 0.0),
    ("card_metadata", "rich front matter", RICH_CARD, {"cardData": None}, PASS, 1.0),
    ("card_metadata", "license only", None, {"cardData": {"license": "mit"}}, FAIL, pytest.approx(1 / 6, abs=1e-3)),
    ("limitations", "section", RICH_CARD, {}, PASS, 1.0),
    ("limitations", "absent", TEMPLATE_CARD, {}, FAIL, 0.0),
    ("evaluation_consistency", "prose without model-index", RICH_CARD, {}, FAIL, 0.5),
    ("evaluation_consistency", "nothing claimed", TEMPLATE_CARD, {}, NOT_APPLICABLE, 0.0),
    ("hub_scan", "no scan (snapshot data) is never a pass", None, {}, NOT_AVAILABLE, 0.0),
    ("hub_scan", "scans done, nothing flagged", None, {"security_scan": scan()}, PASS, 1.0),
    ("hub_scan", "a file flagged unsafe", None, {"security_scan": scan(hub=[("a.bin", "unsafe")])}, FAIL, 0.0),
    ("hub_scan", "a file marked for caution", None, {"security_scan": scan(hub=[("a.bin", "caution")])}, FAIL, 0.5),
    ("hub_scan", "scans still running", None, {"security_scan": scan(done=False)}, NOT_AVAILABLE, 0.0),
    ("hub_scan", "the Hub gave no status", None, {"security_scan": scan(hub_status=False)}, NOT_AVAILABLE, 0.0),
    ("pickle_imports", "no pickle-based files", None, {"security_scan": scan()}, NOT_APPLICABLE, 0.0),
    ("pickle_imports", "pickles but no scan", None, PICKLED, NOT_AVAILABLE, 0.0),
    ("pickle_imports", "unknown file list", None, {"siblings": None}, NOT_AVAILABLE, 0.0),
    ("pickle_imports", "tensor globals only", None,
     {**PICKLED, "security_scan": scan(files_=[pickle_entry("pytorch_model.bin", *TENSOR_GLOBALS)])}, PASS, 1.0),
    ("pickle_imports", "os.system", None,
     {**PICKLED, "security_scan": scan(files_=[pickle_entry("pytorch_model.bin", ("os.system", "dangerous"))])},
     FAIL, 0.0),
    ("pickle_imports", "a resolver picklescan only calls suspicious", None,
     {**PICKLED, "security_scan": scan(files_=[pickle_entry("pytorch_model.bin", ("importlib.import_module",
                                                                                  "suspicious"))])},
     FAIL, 0.0),
    ("pickle_imports", "a class outside the known-safe set", None,
     {**PICKLED, "security_scan": scan(files_=[pickle_entry("pytorch_model.bin", ("transformers.X", "suspicious"))])},
     PASS, 0.6),
    ("pickle_imports", "above the size limit", None,
     {**PICKLED, "security_scan": scan(files_=[pickle_entry("pytorch_model.bin", status="too_large", size=2**31)])},
     NOT_AVAILABLE, 0.0),
    ("pickle_imports", "file missing from the scan", None, {**PICKLED, "security_scan": scan()}, NOT_AVAILABLE, 0.0),
    ("gguf_template", "no GGUF files", None, {"security_scan": scan()}, NOT_APPLICABLE, 0.0),
    ("gguf_template", "GGUF but no scan", None, GGUFS, NOT_AVAILABLE, 0.0),
    ("gguf_template", "templates only format", None,
     {**GGUFS, "security_scan": scan(files_=[gguf_entry("m.Q4.gguf"), gguf_entry("m.Q8.gguf")])}, PASS, 1.0),
    ("gguf_template", "one template reaches __globals__", None,
     {**GGUFS, "security_scan": scan(files_=[gguf_entry("m.Q4.gguf"),
                                             gguf_entry("m.Q8.gguf", "attribute __globals__")])},
     FAIL, 0.0),
    ("gguf_template", "one header not read", None,
     {**GGUFS, "security_scan": scan(files_=[gguf_entry("m.Q4.gguf"), gguf_entry("m.Q8.gguf", status="failed")])},
     NOT_AVAILABLE, 0.0),
]


@pytest.mark.parametrize(
    ("check_id", "situation", "card", "overrides", "outcome", "fraction"),
    CASES,
    ids=[f"{c[0]}: {c[1]}" for c in CASES],
)
def test_check(check_id, situation, card, overrides, outcome, fraction):
    result = run(check_id, card=card, **overrides)
    assert result.outcome == outcome, result.reason
    if fraction is not None:
        assert result.fraction == fraction
    assert result.reason.endswith("."), "a reason is one sentence"
    assert isinstance(result.evidence, list)


def test_every_check_in_the_method_is_implemented_and_tabled():
    assert {c.id for c in METHOD.checks} == set(CHECKS)
    tabled = {c[0] for c in CASES}
    assert tabled == set(CHECKS), f"checks without table rows: {set(CHECKS) - tabled}"


def test_license_consistency_uses_the_base_license_from_context():
    ctx = ScoringContext.curated(base_license_class={"meta-llama/Llama-2-7b-hf": "custom"})
    overrides = {"tags": ["base_model:finetune:meta-llama/Llama-2-7b-hf", "license:apache-2.0"]}
    looser = run("license_consistency", ctx=ctx, **overrides)
    assert looser.outcome == FAIL and "looser" in looser.reason
    same = run("license_consistency", ctx=ctx, cardData={"license": "llama2"}, tags=overrides["tags"])
    assert same.outcome == PASS


def test_reputable_provider_from_database_record():
    ctx = ScoringContext.curated(strong_authors={"acme": (12, 5_000_000)})
    result = run("reputable_provider", ctx=ctx)
    assert result.outcome == PASS and result.fraction == 0.8
    assert {"field": "database", "value": {"models": 12, "downloads_at_least": 1_000_000}} in result.evidence
    # The total's power of ten: the finding stays as it is while the author's downloads move.
    moved = run("reputable_provider", ctx=ScoringContext.curated(strong_authors={"acme": (12, 9_874_311)}))
    assert moved == result and "at least 1,000,000 downloads" in moved.reason


def test_typosquat_needs_a_far_more_popular_reference():
    popular = ScoringContext(references=[Reference("bigorg/awesome-model", 100_000)], providers={})
    # The impostor is itself popular: not "far less popular", so not flagged.
    impostor = {"id": "bigorq/awesome-model", "author": "bigorq"}
    assert run("typosquatting", ctx=popular, **impostor, downloads=50_000).outcome == PASS
    assert run("typosquatting", ctx=popular, id="bigorq/awesome-model", author="bigorq", downloads=1).outcome == FAIL


def test_typosquat_target_must_be_genuinely_popular():
    floor = METHOD.check("typosquatting").params["min_reference_downloads"]
    below = ScoringContext(references=[Reference("bigorg/awesome-model", floor - 1)], providers={})
    at = ScoringContext(references=[Reference("bigorg/awesome-model", floor)], providers={})
    # Far more popular than the suspect (0 downloads) but not popular at all: nobody imitates it.
    assert run("typosquatting", ctx=below, id="bigorq/awesome-model", author="bigorq", downloads=0).outcome == PASS
    assert run("typosquatting", ctx=at, id="bigorq/awesome-model", author="bigorq", downloads=0).outcome == FAIL


@pytest.mark.parametrize("name", ["outputs", "output", "test-model", "checkpoint-500", "my_model_2", "results"])
def test_generic_names_are_not_typosquats(name):
    refs = [Reference("bigorg/output", 10**6), Reference("bigorg/test_model", 10**6),
            Reference("bigorg/checkpoint-50", 10**6), Reference("bigorg/my-model", 10**6),
            Reference("bigorg/result", 10**6)]  # fmt: skip
    ctx = ScoringContext(references=refs, providers={})
    assert run("typosquatting", ctx=ctx, id=f"someone/{name}", author="someone", downloads=0).outcome == PASS
    # A specific name close to a popular one is still caught.
    ctx = ScoringContext(references=[Reference("bigorg/Llama-3-Instruct", 10**6)], providers={})
    assert run("typosquatting", ctx=ctx, id="someone/Llama-3-Instruc", author="someone", downloads=0).outcome == FAIL


def test_a_derivative_of_the_targets_family_is_not_a_typosquat():
    ctx = ScoringContext(references=[Reference("nvidia/DeepSeek-R1-FP4", 58_000)], providers={})
    plain = {"id": "someone/deepseek-r1-dpo", "author": "someone", "downloads": 0}
    derived = {**plain, "tags": ["base_model:adapter:deepseek-ai/DeepSeek-R1"]}
    assert run("typosquatting", ctx=ctx, **plain).outcome == FAIL
    assert run("typosquatting", ctx=ctx, **derived).outcome == PASS


def test_no_generic_name_or_unpopular_target_flagged_in_the_snapshots(ingested, snapshot_dirs):
    """From the raw records: no repo named only with generic words is a typosquat, and every flagged repo's
    target had at least the documented download floor in some snapshot."""
    import json
    import re

    from sqlalchemy import select
    from whichmodel.store.models import Observation
    from whichmodel.store.records import findings_of

    generic = re.compile(r"^(?:outputs?|models?|tests?|checkpoints?|results?)(?:[-_]?\d+)?$", re.I)
    downloads, generic_ids = {}, set()
    for snap in snapshot_dirs:
        for line in (snap / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            downloads[record["id"]] = max(downloads.get(record["id"], 0), record.get("downloads") or 0)
            if generic.match(record["id"].split("/", 1)[-1]):
                generic_ids.add(record["id"])
    assert generic_ids, "the shared snapshots hold generically named repos"
    engine, _, _ = ingested
    obs = Observation.__table__
    flagged = {}
    with engine.connect() as conn:
        for obs_id, model_id, version in conn.execute(select(obs.c.id, obs.c.model_id, obs.c.scored_version)).all():
            squat = next(f for f in findings_of(conn, obs_id, version) if f.check == "typosquatting")
            if squat.outcome == "fail":
                flagged[model_id] = squat.evidence
    assert not generic_ids & set(flagged)
    floor = METHOD.check("typosquatting").params["min_reference_downloads"]
    for model, evidence in flagged.items():
        target = next(e["value"] for e in evidence if e["field"] == "imitates")
        assert target not in downloads or downloads[target] >= floor, (model, target)


# ---------------------------------------------------------------------------------------------- partial records
def _raw_partial_and_full(snapshot_dirs):
    """(partial record, card text, observed date, earlier full record of the same sha) from the raw snapshots."""
    import json

    full, pairs = {}, []
    for snap in snapshot_dirs:
        cards = {}
        if (snap / "cards.jsonl").is_file():
            cards = {c["id"]: c["readme"] for c in map(json.loads, (snap / "cards.jsonl").open(encoding="utf-8"))}
        for line in (snap / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            if "siblings" in record:
                full[(record["id"], record.get("sha"))] = record
            elif (record["id"], record.get("sha")) in full:
                pairs.append((record, cards.get(record["id"]), snap.name, full[(record["id"], record["sha"])]))
    return pairs


def test_a_partial_record_reads_as_unknown_never_as_safe(snapshot_dirs):
    """Raw 2025-04-16 lines hold no file list, likes or gate: every check that reads those is not_available,
    security (whose veto check reads the file list) and the overall score have no value, and the same repo's
    earlier full record (same sha) has both."""
    from whichmodel.hub.facts import parse_record
    from whichmodel.scoring.engine import score_facts

    pairs = _raw_partial_and_full(snapshot_dirs)
    assert len(pairs) > 100, "the shared snapshots hold partial re-observations of full records"
    for partial, card, day, full in pairs:
        missing = {k for k in ("siblings", "likes", "gated", "config", "createdAt", "lastModified") if k not in partial}
        assert missing == {"siblings", "likes", "gated", "config", "createdAt", "lastModified"}
        facts = parse_record(partial, card, f"{day}T00:00:00Z")
        card_ = score_facts(facts)
        findings = {f.check: f for c in card_.categories.values() for f in c.findings}
        for check in ("unsafe_files", "code_files", "weights_present", "pickle_imports", "gguf_template",
                      "likes", "gating", "remote_code", "model_age", "commit_recency"):  # fmt: skip
            assert findings[check].outcome == NOT_AVAILABLE, (partial["id"], check)
        assert card_.categories["security"].score is None and card_.overall is None, partial["id"]
        assert card_.categories["security"].rank == METHOD.prior
        earlier = score_facts(parse_record(full, None, "2025-04-08T00:00:00Z"))
        assert earlier.categories["security"].score is not None and earlier.overall is not None


# ---------------------------------------------------------------------------------------------- re-uploads
def test_an_exact_name_re_upload_under_another_org_fails_unless_it_declares_the_original():
    ctx = ScoringContext.curated()
    copy = {"id": "joepramatha09/Llama-2-7b-chat-hf", "author": "joepramatha09", "downloads": 0}
    result = run("typosquatting", ctx=ctx, **copy)
    assert result.outcome == FAIL and "Re-upload of meta-llama/Llama-2-7b-chat-hf" in result.reason
    assert {"field": "imitates", "value": "meta-llama/Llama-2-7b-chat-hf"} in result.evidence
    declared = {**copy, "tags": ["base_model:quantized:meta-llama/Llama-2-7b-chat-hf"]}
    assert run("typosquatting", ctx=ctx, **declared).outcome == PASS
    original = {"id": "meta-llama/Llama-2-7b-chat-hf", "author": "meta-llama", "downloads": 0}
    assert run("typosquatting", ctx=ctx, **original).outcome == PASS


def test_exact_name_copies_in_the_snapshots(ingested, snapshot_dirs):
    """From the raw records: a repo named exactly like a curated well-known model by another org fails the check
    unless it is a declared derivative that holds weights: one that declares no base is a re-upload, one that
    declares the original but lists only a README (joepramatha09/Llama-2-7b-chat-hf) an empty copy."""
    import json

    from sqlalchemy import select
    from whichmodel.scoring.context import load_well_known
    from whichmodel.store.models import Observation
    from whichmodel.store.records import findings_of

    weight_ext = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt", ".h5", ".onnx", ".msgpack", ".npz")
    well_known = {m.split("/", 1)[1].casefold(): m for m in load_well_known()}
    expected = {}  # (model id, date) -> (outcome, imitated id)
    for snap in snapshot_dirs:
        for line in (snap / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            org, _, name = record["id"].partition("/")
            ref = well_known.get(name.casefold())
            if ref is None or ref.split("/")[0].casefold() == org.casefold() or "siblings" not in record:
                continue
            bases = {t.split(":")[-1] for t in record.get("tags") or [] if t.startswith("base_model:")}
            weights = any(s["rfilename"].lower().endswith(weight_ext) for s in record["siblings"])
            if not bases:
                expected[(record["id"], snap.name)] = (FAIL, ref)
            elif ref in bases:
                expected[(record["id"], snap.name)] = (PASS if weights else FAIL, ref)
    assert expected[("joepramatha09/Llama-2-7b-chat-hf", "2025-04-22")] == (FAIL, "meta-llama/Llama-2-7b-chat-hf")
    engine, _, _ = ingested
    obs = Observation.__table__
    ids = sorted({m for m, _ in expected})
    with engine.connect() as conn:
        rows = conn.execute(select(obs.c.id, obs.c.model_id, obs.c.observed_at, obs.c.scored_version)
                            .where(obs.c.model_id.in_(ids))).all()  # fmt: skip
        checked = 0
        for obs_id, model_id, observed_at, version in rows:
            want = expected.get((model_id, observed_at[:10]))
            if want is None:
                continue
            squat = next(f for f in findings_of(conn, obs_id, version) if f.check == "typosquatting")
            assert squat.outcome == want[0], (model_id, observed_at, squat.reason)
            if want[0] == FAIL:
                assert {"field": "imitates", "value": want[1]} in squat.evidence
            checked += 1
    assert checked >= len(expected) - 1


def test_the_publishers_own_release_is_not_asked_for_a_base_model():
    """Llama-2-7b-chat-hf's card says its models are fine-tuned: from meta-llama that is the original release;
    the same card under another org still reads as a derivative that names no base."""
    card = "# Llama 2\n\n## Training\n\nLlama-2-Chat models are fine-tuned with RLHF on public data.\n"
    ctx = ScoringContext.curated()
    original = run("base_model_info", card=card, ctx=ctx, id="meta-llama/Llama-2-7b-chat-hf", author="meta-llama")
    assert original.outcome == NOT_APPLICABLE, original.reason
    copy = run("base_model_info", card=card, ctx=ctx, id="someone/Llama-2-7b-chat-hf", author="someone")
    assert copy.outcome == FAIL


def test_a_card_that_was_read_decides_the_card_checks_without_card_data():
    """A partial record (no cardData) with its card text: the card was read, so metric and evaluation checks
    conclude from it, as card length does, instead of calling the card text unavailable."""
    card = "# A model\n\nSome words about the model and what it does, with no metrics and no results.\n"
    for check_id in ("metric_info", "evaluation_results", "card_length"):
        result = run(check_id, card=card, **{**PARTIAL, "tags": ["text-generation"]})
        assert result.outcome == FAIL, (check_id, result.reason)
        assert "not available" not in result.reason
