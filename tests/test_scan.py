"""Security verdicts from the files themselves, against a fake Hub on 127.0.0.1.

Every file here is built byte by byte in the test (pickle opcodes, a torch-style zip, GGUF headers) and is
never loaded: the autouse fixture makes pickle.load/loads, Unpickler (Python and C) and `import torch` raise
for the whole module, so a scan that tried to unpickle would fail loudly.
"""

import _pickle
import io
import json
import pickle
import pickletools
import struct
import sys
import zipfile

import pytest
from factories import wire
from fake_hub import file_answer, json_answer, security_status, sibling
from whichmodel.cli.main import main
from whichmodel.config import Settings
from whichmodel.hub.client import HubClient
from whichmodel.hub.facts import parse_record
from whichmodel.hub.scan import (
    FAILED,
    SCANNED,
    TOO_LARGE,
    UNREADABLE,
    SecurityScan,
    attach_scan,
    read_gguf_templates,
    template_issues,
)
from whichmodel.scoring.engine import score_facts

SHA = "0123456789abcdef0123456789abcdef01234567"
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------------ no unpickling
class _Forbidden:
    def __init__(self, *args, **kwargs):
        raise AssertionError("a scan must never unpickle")


def _forbidden(*args, **kwargs):
    raise AssertionError("a scan must never unpickle")


@pytest.fixture(autouse=True)
def no_unpickling(monkeypatch):
    for module in (pickle, _pickle):
        monkeypatch.setattr(module, "load", _forbidden)
        monkeypatch.setattr(module, "loads", _forbidden)
        monkeypatch.setattr(module, "Unpickler", _Forbidden)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError: no torch.load either


def test_the_guard_itself_refuses_to_unpickle():
    with pytest.raises(AssertionError):
        pickle.loads(pickle.dumps(1))
    with pytest.raises(ImportError):
        import torch  # noqa: F401


# ------------------------------------------------------------------------------------------------ file builders
def os_system_pickle() -> bytes:
    """Protocol 2: GLOBAL os.system, the argument 'echo pwned', REDUCE: os.system('echo pwned') on load."""
    return b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


def stack_global_exec_pickle() -> bytes:
    """Protocol 4: builtins.exec reached with STACK_GLOBAL (module and name pushed as strings)."""
    def short(text: bytes) -> bytes:  # SHORT_BINUNICODE, then MEMOIZE
        return b"\x8c" + bytes([len(text)]) + text + b"\x94"

    return b"\x80\x04" + short(b"builtins") + short(b"exec") + b"\x93\x94" + short(b"print('hi')") + b"\x85\x94R\x94."


def tensor_state_dict_pickle() -> bytes:
    """What torch.save writes for {'weight': 2x2 float tensor}: OrderedDict, _rebuild_tensor_v2, FloatStorage."""
    return (
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01"
        b"X\x06\x00\x00\x00weightq\x02"
        b"ctorch._utils\n_rebuild_tensor_v2\nq\x03"
        b"((X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06"
        b"X\x03\x00\x00\x00cpuq\x07K\x04tq\x08Q"
        b"K\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n\x89h\x00)Rq\x0btq\x0cRq\r"
        b"s."
    )


def torch_zip(data_pkl: bytes) -> bytes:
    """A torch.save-style zip: archive/data.pkl, one storage, the version record."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def _gguf_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_file(template: str | None, vocab: int = 2000, scores: int = 300_000, data_mb: int = 4) -> bytes:
    """A GGUF v3 file: architecture, a token list, a float array past the first 1 MB read, the chat template
    last (as llama.cpp writes it), then tensor data the scanner must not read."""
    kv = [_gguf_string("general.architecture") + struct.pack("<I", 8) + _gguf_string("llama"),
          _gguf_string("llama.context_length") + struct.pack("<I", 4) + struct.pack("<I", 4096),
          _gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, vocab)
          + b"".join(_gguf_string(f"tok{i}") for i in range(vocab)),
          _gguf_string("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, scores)
          + struct.pack("<f", 1.0) * scores]  # fmt: skip
    if template is not None:
        kv.append(_gguf_string("tokenizer.chat_template") + struct.pack("<I", 8) + _gguf_string(template))
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv)
    return header + b"\x00" * (data_mb * MB)


HARMLESS_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim"
    " + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# The published GGUF template-injection payload shape: walk to a class's module builtins and call os.popen.
MALICIOUS_TEMPLATE = (
    "{% for x in ().__class__.__base__.__subclasses__() %}{% if 'warning' in x.__name__ %}"
    "{{ x()._module.__builtins__['__import__']('os').popen('touch /tmp/pwned').read() }}{% endif %}{% endfor %}"
    + HARMLESS_TEMPLATE
)


def test_the_hand_built_files_are_well_formed_pickles_and_ggufs():
    # pickletools.dis simulates the stack (it raises on a malformed pickle) without importing anything.
    for data in (os_system_pickle(), stack_global_exec_pickle(), tensor_state_dict_pickle()):
        pickletools.dis(data, out=io.StringIO())
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops(os_system_pickle())]
    assert ("GLOBAL", "os system") in ops
    body = gguf_file(HARMLESS_TEMPLATE)
    assert read_gguf_templates(lambda start, n: body[start : start + n]) == {
        "tokenizer.chat_template": HARMLESS_TEMPLATE
    }


# ------------------------------------------------------------------------------------------------ fake Hub
def make_client(hub, tmp_path, **settings) -> HubClient:
    values = {"hf_endpoint": hub.url, "hub_max_retries": 1, "hub_timeout_s": 2.0, "home": tmp_path / "home"}
    return HubClient(Settings(**{**values, **settings}), sleep=lambda s: None)


def serve_repo(hub, repo: str, files: dict[str, bytes], status: dict | None, sizes: dict[str, int] | None = None):
    """Serve a model record (with the scan status and file sizes) and every file's bytes."""
    siblings = [sibling("README.md", b"# m\n"), sibling("config.json", b"{}")]
    for path, body in files.items():
        siblings.append(sibling(path, size=(sizes or {}).get(path)) if body is None else sibling(path, body))
        if body is not None:
            hub.serve_file(repo, path, file_answer(body), revision=SHA)
    record = wire(id=repo, sha=SHA, siblings=siblings)
    if status is not None:
        record["securityRepoStatus"] = status
    hub.serve_model(record, readme="# m\n")
    return record


def scanned_facts(hub, tmp_path, record, **settings):
    client = make_client(hub, tmp_path, **settings)
    facts = parse_record(record, card_text="# m\n", observed_at="2025-05-01T00:00:00Z")
    return attach_scan(client, facts)


def findings(facts) -> dict:
    card = score_facts(facts)
    return {f.check: f for f in card.findings()}


def evidence(finding, field):
    return next((e["value"] for e in finding.evidence if e["field"] == field), None)


# ------------------------------------------------------------------------------------------------ pickles
def test_a_pickle_importing_os_system_fails_with_the_file_and_the_global_named(hub, tmp_path):
    record = serve_repo(hub, "acme/evil", {"pytorch_model.bin": os_system_pickle()},
                        security_status(("pytorch_model.bin", "unsafe")))  # fmt: skip
    facts = scanned_facts(hub, tmp_path, record)
    found = findings(facts)
    imports = found["pickle_imports"]
    assert imports.outcome == "fail" and imports.points == 0
    assert "pytorch_model.bin imports os.system" in imports.reason
    assert evidence(imports, "pytorch_model.bin imports") == ["os.system"]
    assert evidence(imports, "flagged") == ["pytorch_model.bin: os.system"]
    hub_verdict = found["hub_scan"]
    assert hub_verdict.outcome == "fail" and "pytorch_model.bin" in hub_verdict.reason
    assert evidence(hub_verdict, "hub.files_with_issues") == ["pytorch_model.bin (unsafe)"]


def test_stack_global_exec_inside_a_torch_zip_is_found(hub, tmp_path):
    record = serve_repo(hub, "acme/zipped", {"model.pt": torch_zip(stack_global_exec_pickle())}, security_status())
    imports = findings(scanned_facts(hub, tmp_path, record))["pickle_imports"]
    assert imports.outcome == "fail" and evidence(imports, "flagged") == ["model.pt: builtins.exec"]


def test_a_benign_tensor_pickle_passes_with_its_imports_as_evidence(hub, tmp_path):
    record = serve_repo(hub, "acme/benign", {"pytorch_model.bin": torch_zip(tensor_state_dict_pickle())},
                        security_status())  # fmt: skip
    found = findings(scanned_facts(hub, tmp_path, record))
    imports = found["pickle_imports"]
    assert imports.outcome == "pass" and imports.points == imports.max_points
    assert sorted(evidence(imports, "pytorch_model.bin imports")) == [
        "collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2"]  # fmt: skip
    assert found["hub_scan"].outcome == "pass"


def test_an_import_outside_the_known_safe_set_passes_with_fewer_points_and_names_it(hub, tmp_path):
    data = b"\x80\x02ctransformers.training_args\nTrainingArguments\nq\x00)\x81q\x01."  # NEWOBJ, no call of code
    record = serve_repo(hub, "acme/args", {"training_args.bin": data}, security_status())
    imports = findings(scanned_facts(hub, tmp_path, record))["pickle_imports"]
    assert imports.outcome == "pass" and 0 < imports.points < imports.max_points
    assert "transformers.training_args.TrainingArguments" in imports.reason


def test_files_above_the_size_limit_are_not_scanned_and_not_passed(hub, tmp_path):
    # One the Hub lists at 3 MB (never requested), one whose size the Hub does not give (stopped mid-stream).
    big = b"\x80\x02" + b"N" * (2 * MB) + b"."
    record = serve_repo(hub, "acme/huge", {"listed.bin": None, "unlisted.bin": big}, security_status(),
                        sizes={"listed.bin": 3 * MB})  # fmt: skip
    record["siblings"] = [s if s["rfilename"] != "unlisted.bin" else {"rfilename": "unlisted.bin"}
                          for s in record["siblings"]]  # fmt: skip
    hub.serve_model(record, readme="# m\n")
    facts = scanned_facts(hub, tmp_path, record, scan_max_mb=1)
    states = {f["path"]: f["status"] for f in facts.security_scan["files"]}
    assert states == {"listed.bin": TOO_LARGE, "unlisted.bin": TOO_LARGE}
    assert hub.file_requests("acme/huge", "listed.bin") == []
    imports = findings(facts)["pickle_imports"]
    assert imports.outcome == "not_available" and imports.points is None
    assert "listed.bin (not scanned: 3 MB is above the 1 MB limit)" in evidence(imports, "not scanned")
    assert not any((tmp_path / "home").rglob("*.bin*")), "nothing of an oversized download is left"


def test_a_429_is_waited_out_and_the_file_scanned(hub, tmp_path):
    record = serve_repo(hub, "acme/busy", {"model.pkl": tensor_state_dict_pickle()}, security_status())
    hub.serve_file("acme/busy", "model.pkl", json_answer({"error": "slow down"}, 429, **{"Retry-After": "0"}),
                   file_answer(tensor_state_dict_pickle()), revision=SHA)  # fmt: skip
    facts = scanned_facts(hub, tmp_path, record)
    assert [f["status"] for f in facts.security_scan["files"]] == [SCANNED]
    assert len(hub.file_requests("acme/busy", "model.pkl")) == 2
    assert findings(facts)["pickle_imports"].outcome == "pass"


def test_a_download_cut_off_mid_file_is_retried_then_reported_and_the_rest_of_the_score_stands(hub, tmp_path):
    data = torch_zip(tensor_state_dict_pickle())
    cut = file_answer(data, truncate_at=len(data) // 2)
    record = serve_repo(hub, "acme/flaky", {"a.bin": data, "b.bin": data}, security_status())
    hub.serve_file("acme/flaky", "a.bin", cut, revision=SHA)  # every try is cut off
    facts = scanned_facts(hub, tmp_path, record)
    states = {f["path"]: (f["status"], f["error"]) for f in facts.security_scan["files"]}
    assert states["b.bin"] == (SCANNED, None)
    assert states["a.bin"][0] == FAILED and "download failed" in states["a.bin"][1]
    assert len(hub.file_requests("acme/flaky", "a.bin")) == 2  # hub_max_retries=1: tried twice
    card = score_facts(facts)
    found = {f.check: f for f in card.findings()}
    assert found["pickle_imports"].outcome == "not_available"
    assert "1 of 2 pickle-based file(s) scanned with no dangerous import" in found["pickle_imports"].reason
    # The rest of the score is computed as without a scan.
    unscanned = score_facts(parse_record(record, card_text="# m\n", observed_at="2025-05-01T00:00:00Z"))
    for name in ("popularity", "activity", "operational", "quality"):
        assert card.categories[name].score == unscanned.categories[name].score
    assert found["hub_scan"].outcome == "pass" and found["safetensors"].outcome == unscanned.categories[
        "security"].findings[0].outcome  # fmt: skip
    assert not any((tmp_path / "home").rglob("*.part")), "no partial download is left behind"


def test_a_truncation_that_heals_on_retry_scans_normally(hub, tmp_path):
    data = os_system_pickle()
    record = serve_repo(hub, "acme/heals", {"model.bin": data}, security_status())
    hub.serve_file("acme/heals", "model.bin", file_answer(data, truncate_at=5), file_answer(data), revision=SHA)
    facts = scanned_facts(hub, tmp_path, record)
    assert findings(facts)["pickle_imports"].outcome == "fail"


def test_bytes_that_differ_from_the_hubs_sha256_are_not_scanned(hub, tmp_path):
    record = serve_repo(hub, "acme/swapped", {"model.pkl": tensor_state_dict_pickle()}, security_status())
    hub.serve_file("acme/swapped", "model.pkl", file_answer(os_system_pickle()), revision=SHA)
    facts = scanned_facts(hub, tmp_path, record)
    [entry] = facts.security_scan["files"]
    assert entry["status"] == FAILED and "SHA-256" in entry["error"]


def test_downloads_are_removed_unless_kept(hub, tmp_path):
    data = tensor_state_dict_pickle()
    record = serve_repo(hub, "acme/keep", {"model.pkl": data}, security_status())
    scanned_facts(hub, tmp_path, record)
    cache = tmp_path / "home" / "cache" / "scan"
    assert not list(cache.rglob("model.pkl"))
    scanned_facts(hub, tmp_path, record, scan_keep_downloads=True)
    [kept] = cache.rglob("model.pkl")
    assert kept.read_bytes() == data
    before = len(hub.file_requests("acme/keep", "model.pkl"))
    scanned_facts(hub, tmp_path, record, scan_keep_downloads=True)  # the kept copy is reused
    assert len(hub.file_requests("acme/keep", "model.pkl")) == before


def test_a_file_the_scanner_cannot_read_gets_no_verdict(hub, tmp_path):
    record = serve_repo(hub, "acme/junk", {"model.npy": b"\x93NUMPY\x09\x09garbage"}, security_status())
    facts = scanned_facts(hub, tmp_path, record)
    [entry] = facts.security_scan["files"]
    assert entry["status"] == UNREADABLE
    assert findings(facts)["pickle_imports"].outcome == "not_available"


# ------------------------------------------------------------------------------------------------ the Hub's verdict
@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (security_status(), "pass"),
        (security_status(("weights.pkl", "unsafe")), "fail"),
        (security_status(("weights.pkl", "caution")), "fail"),
        (security_status(("weights.pkl", "some-new-level")), "fail"),
        (security_status(("weights.pkl", "queued")), "not_available"),
        (security_status(("weights.pkl", "safe")), "pass"),
        (security_status(done=False), "not_available"),
        (None, "not_available"),
    ],
)
def test_the_hubs_own_verdict_becomes_a_finding(hub, tmp_path, status, outcome):
    record = serve_repo(hub, "acme/verdict", {}, status)
    found = findings(scanned_facts(hub, tmp_path, record))["hub_scan"]
    assert found.outcome == outcome
    if outcome == "fail":
        assert "weights.pkl" in found.reason


def test_without_a_scan_nothing_is_passed_and_coverage_says_so(hub, tmp_path):
    # Snapshot data: no scan was made.
    offline = parse_record(wire(siblings=[{"rfilename": "pytorch_model.bin"}, {"rfilename": "m.gguf"}]))
    found = {f.check: f for f in score_facts(offline).findings()}
    assert {found[c].outcome for c in ("hub_scan", "pickle_imports", "gguf_template")} == {"not_available"}
    clean = parse_record(wire())
    found = {f.check: f for f in score_facts(clean).findings()}
    assert found["hub_scan"].outcome == "not_available"
    assert found["pickle_imports"].outcome == found["gguf_template"].outcome == "not_applicable"
    # A Hub that cannot be reached at scan time: the same, with the reason recorded.
    record = wire(id="acme/gone", sha=SHA, siblings=[{"rfilename": "model.pkl"}])
    facts = attach_scan(make_client(hub, tmp_path), parse_record(record))  # nothing scripted: 404s
    assert facts.security_scan["hub_error"] and facts.security_scan["files"][0]["status"] == FAILED
    found = {f.check: f for f in score_facts(facts).findings()}
    assert found["hub_scan"].outcome == found["pickle_imports"].outcome == "not_available"


# ------------------------------------------------------------------------------------------------ GGUF
def test_gguf_headers_are_read_by_range_and_the_malicious_template_is_flagged(hub, tmp_path):
    good, bad = gguf_file(HARMLESS_TEMPLATE, data_mb=12), gguf_file(MALICIOUS_TEMPLATE, data_mb=12)
    record = serve_repo(hub, "acme/quant-GGUF", {"m.Q4_K_M.gguf": good, "m.Q8_0.gguf": bad}, security_status())
    facts = scanned_facts(hub, tmp_path, record)
    gguf = findings(facts)["gguf_template"]
    assert gguf.outcome == "fail"
    [flag] = evidence(gguf, "flagged")
    assert flag.startswith("m.Q8_0.gguf tokenizer.chat_template:")
    for name in ("__class__", "__subclasses__", "__builtins__", "popen"):
        assert name in flag or name in " ".join(
            t for f in facts.security_scan["files"] for tpl in f["templates"] for t in tpl["issues"])
    # Header only: every request was a range, and far less than the file was read.
    for path, body in (("m.Q4_K_M.gguf", good), ("m.Q8_0.gguf", bad)):
        requests = hub.file_requests("acme/quant-GGUF", path)
        assert len(requests) >= 2 and all("Range" in h for h in requests)
        ends = [int(h["Range"].split("-")[1]) for h in requests]
        assert max(ends) < len(body) // 2


def test_a_gguf_with_only_a_formatting_template_passes(hub, tmp_path):
    record = serve_repo(hub, "acme/fine-GGUF", {"m.gguf": gguf_file(HARMLESS_TEMPLATE, data_mb=1)}, security_status())
    gguf = findings(scanned_facts(hub, tmp_path, record))["gguf_template"]
    assert gguf.outcome == "pass" and "only format messages" in gguf.reason


def test_a_gguf_whose_header_cannot_be_read_gets_no_verdict(hub, tmp_path):
    record = serve_repo(hub, "acme/notgguf", {"m.gguf": b"GGML" + b"\x00" * 100}, security_status())
    facts = scanned_facts(hub, tmp_path, record)
    assert facts.security_scan["files"][0]["status"] == UNREADABLE
    assert findings(facts)["gguf_template"].outcome == "not_available"


@pytest.mark.parametrize(
    ("template", "flagged"),
    [
        (HARMLESS_TEMPLATE, False),
        ("{% set ns = namespace(system='') %}{% for m in messages %}{% if m['role'] == 'system' %}"
         "{% set ns.system = m['content'] %}{% endif %}{% endfor %}{{ ns.system }}{{ raise_exception('x') if false }}",
         False),
        ("{{ messages[loop.index0 - 1]['content'] if loop is defined else messages[-1]['tool_calls'] | tojson }}",
         False),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", True),
        ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", True),
        ("{{ (messages|attr('__class__')) }}", True),
        ("{{ messages['__cl' ~ 'ass__'] }}", True),
        ("{{ messages|attr('\\x5f\\x5fclass\\x5f\\x5f') }}", True),
        ("{{ lipsum['__globals__']['os'] }}", True),
        ("{{ self._TemplateReference__context }}", True),
        ("{{ x.popen('id') }}", True),
    ],
)
def test_template_rules(template, flagged):
    assert bool(template_issues(template)) is flagged


def test_template_that_does_not_parse_is_not_judged():
    with pytest.raises(ValueError, match="does not parse"):
        template_issues("{% for m in messages %}")


def test_no_real_chat_template_in_the_shared_snapshots_is_flagged(snapshot_dirs):
    templates = set()
    for folder in snapshot_dirs:
        for line in (folder / "models.jsonl").open():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            config = record.get("config") if isinstance(record, dict) else None
            template = ((config or {}).get("tokenizer_config") or {}).get("chat_template")
            for t in template if isinstance(template, list) else [template]:
                t = t.get("template") if isinstance(t, dict) else t
                if isinstance(t, str):
                    templates.add(t)
    assert len(templates) >= 20
    assert {t[:60]: template_issues(t) for t in templates if template_issues(t)} == {}


# ------------------------------------------------------------------------------------------------ doors
def test_cli_score_names_the_dangerous_global_and_the_file(hub, tmp_path, monkeypatch, capsys):
    serve_repo(hub, "acme/evil", {"pytorch_model.bin": os_system_pickle()},
               security_status(("pytorch_model.bin", "unsafe")))  # fmt: skip
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("WHICHMODEL_HUB_RETRIES", "1")
    home = str(tmp_path / "home")
    assert main(["--home", home, "score", "acme/evil"]) == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "pickle_imports" in x)
    assert line.split()[0] == "fail" and "pytorch_model.bin imports os.system" in line
    assert main(["--home", home, "score", "acme/evil", "--no-fetch", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    security = {f["check"]: f for f in card["categories"]["security"]["findings"]}
    assert {"field": "flagged", "value": ["pytorch_model.bin: os.system"]} in security["pickle_imports"]["evidence"]
    assert security["hub_scan"]["outcome"] == "fail"
    assert card["facts"]["security_scan"]["files"][0]["imports"] == [
        {"module": "os", "name": "system", "safety": "dangerous"}]  # fmt: skip
    assert not list((tmp_path / "home").rglob("pytorch_model.bin")), "the download was removed"
    # The UI's findings table shows the same reason.
    from whichmodel.ui.adapter import findings_rows

    row = next(r for r in findings_rows(card) if r[1] == "pickle_imports")
    assert row[2] == "fail" and "pytorch_model.bin imports os.system" in row[4]


def test_explain_score_shows_the_scan_finding(hub, tmp_path, monkeypatch):
    from whichmodel.store.db import make_engine
    from whichmodel.tools.tools import Services, make_tools

    serve_repo(hub, "acme/evil", {"pytorch_model.bin": os_system_pickle()}, security_status())
    settings = Settings(hf_endpoint=hub.url, hub_max_retries=1, hub_timeout_s=2.0, home=tmp_path / "home")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    tools = {t.name: t for t in make_tools(Services(engine=engine, settings=settings))}
    tools["fetch_and_score"].invoke({"model_id": "acme/evil"})
    text = tools["explain_score"].invoke({"model_id": "acme/evil", "category": "security"})
    assert "os.system" in text and "pickle_imports" in text


def test_alerts_report_a_new_scan_that_flags_a_file_that_was_clean(engine):
    from whichmodel.hub.snapshot import Parsed
    from whichmodel.store.ingest import ingest_items, score_pending
    from whichmodel.trends.views import TrendParams, run_view

    def observed(day: str, imports: list[dict], snapshot: bool = False):
        facts = parse_record(wire(id="x/m", siblings=[{"rfilename": "pytorch_model.bin"}]),
                             observed_at=f"2025-04-{day}T00:00:00Z")  # fmt: skip
        if not snapshot:
            files = [{"path": "pytorch_model.bin", "kind": "pickle", "status": SCANNED, "imports": imports}]
            facts.security_scan = SecurityScan("t", "picklescan", 500, SHA, {"scans_done": True, "files": []},
                                               files=[]).to_dict() | {"files": files}  # fmt: skip
        return facts

    safe = [{"module": "collections", "name": "OrderedDict", "safety": "innocuous"}]
    evil = safe + [{"module": "posix", "name": "system", "safety": "dangerous"}]
    # Clean scan, then a snapshot without a scan (no verdict), then a scan that flags the file.
    for facts in (observed("01", safe), observed("05", [], snapshot=True), observed("10", evil)):
        ingest_items(engine, [Parsed(1, facts, None)], source="t", kind="model", observed_at=facts.observed_at)
    score_pending(engine)
    rows = [r for r in run_view(engine, "alerts", TrendParams())["rows"] if r["alert"] == "scan_flagged"]
    assert rows == [{"model_id": "x/m", "observed_at": "2025-04-10T00:00:00Z", "previous": "2025-04-01T00:00:00Z",
                     "alert": "scan_flagged", "before": "pickle_imports passed",
                     "after": "pytorch_model.bin: posix.system"}]  # fmt: skip


def test_hub_ingest_scans_each_model_it_fetches(hub, tmp_path, monkeypatch, capsys):
    evil = serve_repo(hub, "acme/evil", {"pytorch_model.bin": os_system_pickle()}, security_status())
    benign = serve_repo(hub, "acme/benign", {"pytorch_model.bin": torch_zip(tensor_state_dict_pickle())},
                        security_status())  # fmt: skip
    hub.script("/api/models", json_answer([{"id": "probe"}]), json_answer([evil, benign]))
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("WHICHMODEL_HUB_RETRIES", "1")
    home = str(tmp_path / "home")
    assert main(["--home", home, "ingest", "--hub", "--limit", "2", "--json"]) == 0
    capsys.readouterr()
    outcomes = {}
    for model in ("acme/evil", "acme/benign"):
        assert main(["--home", home, "score", model, "--no-fetch", "--json"]) == 0
        security = json.loads(capsys.readouterr().out)["categories"]["security"]["findings"]
        outcomes[model] = {f["check"]: f["outcome"] for f in security}["pickle_imports"]
    assert outcomes == {"acme/evil": "fail", "acme/benign": "pass"}


def test_scan_settings_come_from_the_environment(monkeypatch, tmp_path):
    assert (Settings().scan_max_mb, Settings().scan_keep_downloads) == (500, False)
    monkeypatch.setenv("WHICHMODEL_SCAN_MAX_MB", "40")
    monkeypatch.setenv("WHICHMODEL_SCAN_KEEP", "yes")
    settings = Settings.from_env(home=tmp_path)
    assert (settings.scan_max_mb, settings.scan_keep_downloads) == (40, True)
    assert settings.scan_cache_path == tmp_path / "cache" / "scan"
    monkeypatch.setenv("WHICHMODEL_SCAN_KEEP", "0")
    assert Settings.from_env().scan_keep_downloads is False
