"""File formats a name alone cannot tell: OpenVINO IR tensors and transformers' TensorFlow weights are not pickles.

The expected kinds come from the raw file lists of the shared snapshots, read here: an OpenVINO IR is a
`.xml` graph with a same-named `.bin` of raw tensors (the OpenVINO runtime reads both; nothing is unpickled),
and `tf_model.h5` is an HDF5 file of arrays that `load_weights` reads.
"""

from __future__ import annotations

import json

import pytest
from whichmodel.hub.facts import parse_record
from whichmodel.hub.scan import pickle_files
from whichmodel.scoring.engine import score_facts

PICKLE_EXTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz")


@pytest.fixture(scope="module")
def records(snapshot_dirs) -> dict[str, dict]:
    """The newest record with a file list of every model."""
    found: dict[str, dict] = {}
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").open(encoding="utf-8"):
            record = json.loads(line)
            if record.get("siblings"):
                found[record["id"]] = record
    return found


def names(record: dict) -> list[str]:
    return [s["rfilename"] for s in record["siblings"]]


def openvino_only(record: dict) -> bool:
    """Every pickle-looking file is a `.bin` whose same-named `.xml` graph sits beside it."""
    files = names(record)
    graphs = {f[:-4] for f in files if f.endswith(".xml")}
    suspects = [f for f in files if f.lower().endswith(PICKLE_EXTS) and "ggml" not in f.lower()]
    return bool(suspects) and all(f.endswith(".bin") and f[:-4] in graphs for f in suspects)


def test_openvino_ir_repos_have_no_pickle_files_and_pass_the_file_checks(records):
    repos = [r for r in records.values() if openvino_only(r)]
    assert len(repos) >= 5, [r["id"] for r in repos]  # OpenVINO/phi-2-fp16-ov and its kind
    for record in repos:
        facts = parse_record(record)
        assert pickle_files(facts) == [], record["id"]
        assert facts.file_kinds.get("openvino"), record["id"]
        findings = {f.check: f for c in score_facts(facts).categories.values() for f in c.findings}
        assert findings["unsafe_files"].outcome == "pass", (record["id"], findings["unsafe_files"].reason)
        assert findings["safetensors"].outcome == "pass", (record["id"], findings["safetensors"].reason)


def test_tensorflow_weights_are_not_code_and_real_pickles_still_count(records):
    record = records["sentence-transformers/distiluse-base-multilingual-cased-v1"]
    files = names(record)
    assert "tf_model.h5" in files
    facts = parse_record(record)
    assert "tf_model.h5" in facts.file_kinds["tf-weights"] and "keras" not in facts.file_kinds
    graphs = {f[:-4] for f in files if f.endswith(".xml")}
    expected = sorted(f for f in files if f.endswith(PICKLE_EXTS) and not (f.endswith(".bin") and f[:-4] in graphs))
    assert sorted(pickle_files(facts)) == expected and expected  # the two pytorch_model.bin files


def test_a_bin_without_its_graph_is_still_a_pickle():
    from whichmodel.hub.formats import file_kinds

    kinds = file_kinds(["model.bin", "other.xml", "openvino_model.bin", "keras_model.h5", "sub/net.bin", "sub/net.xml"])
    assert kinds["pickle"] == ["model.bin"]
    assert sorted(kinds["openvino"]) == ["openvino_model.bin", "sub/net.bin"]
    assert kinds["keras"] == ["keras_model.h5"]  # a full Keras model can carry Lambda layers


def test_a_diffusers_pipeline_is_not_sized_by_the_hubs_partial_count(records):
    """The Hub's safetensors total of a pipeline with component folders counts some components only."""
    weight_exts = (".safetensors", ".bin", ".ckpt", ".pt", ".onnx")
    pipelines = [r for r in records.values() if "model_index.json" in names(r)
                 and any("/" in f and f.endswith(weight_exts) for f in names(r))
                 and (r.get("safetensors") or {}).get("total")]  # fmt: skip
    assert pipelines, "prompthero/openjourney: 123M counted of a Stable Diffusion pipeline"
    for record in pipelines:
        facts = parse_record(record)
        assert facts.params is None or facts.params_source not in ("safetensors.total",), record["id"]
        assert facts.params_conflict and "pipeline" in facts.params_conflict, record["id"]
