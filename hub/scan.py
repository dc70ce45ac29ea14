"""Security facts from the files themselves: the Hub's own scan, pickle imports, GGUF chat templates.

Nothing here ever unpickles. Pickle-based files (up to `Settings.scan_max_mb`) are downloaded to the cache
directory and read by picklescan, which walks the opcodes with `pickletools` and lists the globals a load
would import; the file is removed afterwards unless `Settings.scan_keep_downloads`. GGUF files are read only
as far as the end of their metadata header, by ranged requests, and a chat template found there is parsed by
Jinja (never rendered) to see whether it reaches beyond formatting.

This module collects facts; judging them is scoring's job. `attach_scan(client, facts)` is the one call a
fetch makes: it stores `SecurityScan.to_dict()` in `facts.security_scan`. A scan never raises for the Hub's
sake: a file it could not read is recorded as such, and the rest of the model's facts stand.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from whichmodel.hub.client import HubClient, HubError
from whichmodel.hub.facts import ModelFacts, iso_utc
from whichmodel.hub.formats import PICKLE, PICKLED_NON_WEIGHTS, file_kinds

# picklescan reports each dangerous import through logging; with no handler those lines would reach stderr
# (logging's last resort) in the middle of a CLI's output. The findings carry them instead.
logging.getLogger("picklescan").addHandler(logging.NullHandler())

# File states. Only SCANNED files were read completely; every other state leaves the verdict open.
SCANNED = "scanned"
TOO_LARGE = "too_large"  # above the size limit: not downloaded
FAILED = "failed"  # the download or the ranged read failed
UNREADABLE = "unreadable"  # read, but the scanner could not make sense of it
FILE_STATES = (SCANNED, TOO_LARGE, FAILED, UNREADABLE)

GGUF_HEADER_MAX = 64 << 20  # a header holds the vocabulary; the largest seen are a few tens of MB
_GGUF_FIRST_READ = 1 << 20


def scanner_version() -> str:
    """The pickle scanner and its version, as recorded with every scan."""
    try:
        return f"picklescan {metadata.version('picklescan')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency of the package
        return "picklescan"


@dataclass
class FileScan:
    """What reading one file showed.

    Attributes:
        path: the file's path in the repository.
        kind: "pickle" or "gguf".
        status: one of FILE_STATES.
        size: bytes, as the Hub lists them (None when it did not say).
        imports: for pickles, each global the file would import: {"module", "name", "safety"}, where safety
            is picklescan's grade (innocuous, suspicious, dangerous).
        partial: the scanner stopped at a part it could not parse; the imports listed come before it.
        templates: for GGUF, each chat template in the header by metadata key, with the constructs found in
            it that go beyond formatting: {"key", "chars", "issues", "error"} (error: Jinja cannot parse it).
        error: why the file is not SCANNED.
    """

    path: str
    kind: str
    status: str
    size: int | None = None
    imports: list[dict[str, str]] = field(default_factory=list)
    partial: bool = False
    templates: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass
class SecurityScan:
    """One model's security scan: the Hub's own verdict and what whichmodel read from the files.

    Attributes:
        scanned_at: when the scan ran (UTC).
        scanner: the pickle scanner and its version.
        max_mb: the size limit in force for downloads.
        revision: the commit the files were read at.
        hub_status: the Hub's verdict, {"scans_done": bool, "files": [{"path", "level"}]}; None when the Hub
            gave none (then `hub_error` says why).
        hub_error: why the Hub's verdict is missing.
        files: one entry per pickle-based or GGUF file.
    """

    scanned_at: str
    scanner: str
    max_mb: int
    revision: str | None = None
    hub_status: dict[str, Any] | None = None
    hub_error: str | None = None
    files: list[FileScan] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[FileScan]:
        """The files of one kind ("pickle" or "gguf")."""
        return [f for f in self.files if f.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored in `ModelFacts.security_scan`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SecurityScan:
        """Inverse of `to_dict`."""
        values = dict(data)
        values["files"] = [FileScan(**f) for f in values.get("files") or []]
        return cls(**values)


# ------------------------------------------------------------------------------------------------ selection
# The pickle-based kinds picklescan reads: weights and the trainer state saved beside them (torch.load'ed on resume).
PICKLE_KINDS = (PICKLE, *PICKLED_NON_WEIGHTS)


def pickle_files(facts: ModelFacts) -> list[str]:
    """The repository's pickle-based files, by the same rule the file inventory uses."""
    if facts.file_kinds is not None:
        return [f for kind in PICKLE_KINDS for f in facts.file_kinds.get(kind, [])]
    kinds = file_kinds(facts.files or [])
    return [f for kind in PICKLE_KINDS for f in kinds.get(kind, [])]


def gguf_files(facts: ModelFacts) -> list[str]:
    """The repository's GGUF files (only .gguf has the header this module reads)."""
    return [f for f in facts.files or [] if f.lower().endswith(".gguf")]


def hub_verdict(raw: Any) -> dict[str, Any] | None:
    """The Hub's `securityRepoStatus` in whichmodel's shape, or None when it is missing or malformed."""
    if not isinstance(raw, dict):
        return None
    issues = raw.get("filesWithIssues")
    files = [
        {"path": str(item.get("path")), "level": str(item.get("level") or "unknown")}
        for item in (issues if isinstance(issues, list) else [])
        if isinstance(item, dict) and item.get("path")
    ]
    return {"scans_done": bool(raw.get("scansDone")), "files": files}


# ------------------------------------------------------------------------------------------------ pickles
def scan_pickle_file(path: Path, name: str) -> tuple[list[dict[str, str]], bool, str | None]:
    """The globals a pickle-based file imports, read by picklescan (opcodes only, nothing is loaded).

    Returns (imports, partial, error): `error` is set when the scanner could not read the file at all.
    """
    from picklescan.scanner import scan_file_path

    try:
        result = scan_file_path(str(path))
    except Exception as err:  # noqa: BLE001 - any parse failure of a hostile file is "unreadable", not a crash
        return [], False, f"the scanner could not read {name}: {err.__class__.__name__}: {err}"
    seen: dict[tuple[str, str], str] = {}
    for g in result.globals:
        seen.setdefault((g.module, g.name), g.safety.value)
    imports = [{"module": m, "name": n, "safety": s} for (m, n), s in sorted(seen.items())]
    return imports, bool(result.scan_err), None


def _scan_pickle(
    client: HubClient, facts: ModelFacts, path: str, size: int | None, sha256: str | None, revision: str
) -> FileScan:
    settings = client.settings
    limit = settings.scan_max_mb * 1024 * 1024
    if limit <= 0 or (size is not None and size > limit):
        return FileScan(path, "pickle", TOO_LARGE, size, error=f"above the {settings.scan_max_mb} MB limit")
    dest = settings.scan_cache_path / facts.id / revision / path
    try:
        reuse = settings.scan_keep_downloads and dest.is_file() and (size is None or dest.stat().st_size == size)
        if not reuse:
            got = client.download_file(facts.id, path, dest, revision=revision, max_bytes=limit, sha256=sha256)
            if got is None:
                return FileScan(path, "pickle", TOO_LARGE, size, error="grew past the limit while downloading")
            size = got
        imports, partial, error = scan_pickle_file(dest, path)
    except HubError as err:
        return FileScan(path, "pickle", FAILED, size, error=f"download failed: {err}")
    except OSError as err:  # the cache directory cannot be written
        return FileScan(path, "pickle", FAILED, size, error=f"could not write the download: {err}")
    finally:
        if not settings.scan_keep_downloads:
            _remove(dest, settings.scan_cache_path)
    if error:
        return FileScan(path, "pickle", UNREADABLE, size, error=error)
    return FileScan(path, "pickle", SCANNED, size, imports=imports, partial=partial)


def _remove(dest: Path, root: Path) -> None:
    """Delete a scanned download and the folders it leaves empty, up to the cache root."""
    dest.unlink(missing_ok=True)
    folder = dest.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone
            return
        folder = folder.parent


# ------------------------------------------------------------------------------------------------ GGUF
class _RangeReader:
    """Sequential reads over a remote file, fetched in growing ranges, never past `limit` bytes."""

    def __init__(self, fetch: Callable[[int, int], bytes], limit: int):
        self._fetch, self._limit = fetch, limit
        self._buf, self._base, self.pos = bytearray(), 0, 0
        self._chunk = _GGUF_FIRST_READ

    def _fill(self, end: int) -> None:
        while self._base + len(self._buf) < end:
            have = self._base + len(self._buf)
            if end > self._limit:
                raise ValueError(f"the header runs past {self._limit >> 20} MB")
            want = min(max(self._chunk, end - have), self._limit - have)
            more = self._fetch(have, want)
            if not more:
                raise ValueError("the file ends inside its header")
            self._buf += more
            self._chunk = min(self._chunk * 2, 16 << 20)

    def read(self, n: int) -> bytes:
        self._fill(self.pos + n)
        start = self.pos - self._base
        out = bytes(self._buf[start : start + n])
        self.pos += n
        if self.pos - self._base > (8 << 20):  # drop what was consumed, so memory stays bounded
            del self._buf[: self.pos - self._base]
            self._base = self.pos
        return out

    def skip(self, n: int) -> None:
        if self.pos + n <= self._base + len(self._buf):
            self.pos += n
            return
        self.pos += n  # jump over arrays of numbers without fetching them
        if self.pos > self._limit:
            raise ValueError(f"the header runs past {self._limit >> 20} MB")
        self._buf, self._base = bytearray(), self.pos


# GGUF metadata value types (ggml's gguf.h): fixed sizes; 8 is a string, 9 an array.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
TEMPLATE_KEY = "tokenizer.chat_template"


def read_gguf_templates(fetch: Callable[[int, int], bytes], limit: int = GGUF_HEADER_MAX) -> dict[str, str]:
    """The chat templates in a GGUF header (`tokenizer.chat_template` and its named variants), by metadata key.

    `fetch(start, length)` returns bytes of the file; only the header is read.

    Raises:
        ValueError: not a GGUF file, an unknown version or value type, or a header past `limit`.
    """
    r = _RangeReader(fetch, limit)
    if r.read(4) != b"GGUF":
        raise ValueError("not a GGUF file (bad magic)")
    (version,) = struct.unpack("<I", r.read(4))
    if version not in (1, 2, 3):
        raise ValueError(f"unsupported GGUF version {version} (or a big-endian file)")
    width = "<I" if version == 1 else "<Q"  # version 1 counted in 32 bits
    step = struct.calcsize(width)

    def count() -> int:
        return struct.unpack(width, r.read(step))[0]

    def string() -> bytes:
        n = count()
        if n > limit:
            raise ValueError("a metadata string longer than the header limit")
        return r.read(n)

    def skip_value(kind: int) -> None:
        if kind in _FIXED:
            r.skip(_FIXED[kind])
        elif kind == _STRING:
            r.skip(count())
        elif kind == _ARRAY:
            (inner,) = struct.unpack("<I", r.read(4))
            n = count()
            if inner in _FIXED:
                r.skip(_FIXED[inner] * n)
            else:
                for _ in range(n):
                    skip_value(inner)
        else:
            raise ValueError(f"unknown GGUF value type {kind}")

    count()  # tensors
    entries = count()
    if entries > 1_000_000:
        raise ValueError(f"implausible metadata count {entries}")
    templates: dict[str, str] = {}
    for _ in range(entries):
        key = string().decode("utf-8", errors="replace")
        (kind,) = struct.unpack("<I", r.read(4))
        if key.startswith(TEMPLATE_KEY) and kind == _STRING:
            templates[key] = string().decode("utf-8", errors="replace")
        else:
            skip_value(kind)
    return templates


# Attribute or method names a formatting template never needs, and that code-execution payloads call.
_EXEC_CALLS = frozenset(
    {"popen", "system", "eval", "exec", "import_module", "spawn", "check_output", "getoutput", "execve", "fork"}
)
# Names that only a payload refers to: modules and the interpreter's own namespaces.
_EXEC_NAMES = frozenset({"os", "sys", "subprocess", "builtins", "importlib", "self"})
_ESCAPED_UNDERSCORE = re.compile(r"\\x5f|\\u005f|\\U0000005f|\\137", re.I)


def template_issues(source: str) -> list[str]:
    """What in a Jinja chat template goes beyond formatting messages; empty for a template that only formats.

    The template is parsed, never rendered. Flagged: attribute or item access to names starting with an
    underscore (`__class__`, `__globals__`, `__builtins__`, `__subclasses__`, `__import__` ...), the same
    reached through the `attr` filter or a key assembled from pieces, calls such as `popen` or `system`,
    references to `os`, `sys`, `subprocess` or `self`, and escaped underscores that hide such names.

    Raises:
        ValueError: Jinja cannot parse the template (then it is not judged either way).
    """
    from jinja2 import Environment, nodes
    from jinja2.exceptions import TemplateSyntaxError

    try:
        tree = Environment(extensions=["jinja2.ext.loopcontrols"]).parse(source)
    except TemplateSyntaxError as err:
        raise ValueError(f"does not parse as Jinja (line {err.lineno}: {err.message})") from err
    issues: list[str] = []

    def note(text: str, node: nodes.Node) -> None:
        item = f"{text} (line {getattr(node, 'lineno', '?')})"
        if item not in issues:
            issues.append(item)

    def const_text(node: nodes.Node) -> str | None:
        return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None

    def pieces(node: nodes.Node) -> Iterator[str]:
        for const in node.find_all(nodes.Const):
            if isinstance(const.value, str):
                yield const.value
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            yield node.value

    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name, nodes.Call)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            note(f"attribute {node.attr}", node)
        elif isinstance(node, nodes.Getitem):
            key = const_text(node.arg)
            if key is not None and key.startswith("_"):
                note(f"item {key!r}", node)
            elif key is None and any("_" in p for p in pieces(node.arg)):
                note("an item key assembled from strings with underscores", node)
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            arg = const_text(node.args[0]) if node.args else None
            if arg is None or arg.startswith("_") or arg in _EXEC_CALLS:
                note(f"attr filter reaching {arg!r}" if arg is not None else "attr filter with a computed name", node)
        elif isinstance(node, nodes.Name) and node.name in _EXEC_NAMES:
            note(f"reference to {node.name}", node)
        elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) and node.node.attr in _EXEC_CALLS:
            note(f"call to {node.node.attr}()", node)
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, str) and "__" in const.value:
            note(f"string constant {const.value[:40]!r}", const)
    if _ESCAPED_UNDERSCORE.search(source):
        issues.append("escaped underscore in the source (hides a name such as __class__)")
    return issues


def _scan_gguf(client: HubClient, facts: ModelFacts, path: str, size: int | None, revision: str) -> FileScan:
    def fetch(start: int, length: int) -> bytes:
        return client.read_range(facts.id, path, start, length, revision=revision)

    try:
        templates = read_gguf_templates(fetch)
    except HubError as err:
        return FileScan(path, "gguf", FAILED, size, error=f"reading the header failed: {err}")
    except (ValueError, struct.error) as err:
        return FileScan(path, "gguf", UNREADABLE, size, error=f"header not readable: {err}")
    found = []
    for key, text in sorted(templates.items()):
        try:
            found.append({"key": key, "chars": len(text), "issues": template_issues(text), "error": None})
        except ValueError as err:
            found.append({"key": key, "chars": len(text), "issues": [], "error": str(err)})
    return FileScan(path, "gguf", SCANNED, size, templates=found)


# ------------------------------------------------------------------------------------------------ the scan
def scan_model(client: HubClient, facts: ModelFacts) -> SecurityScan:
    """Read the Hub's verdict and scan a model's pickle-based and GGUF files; never raises for a Hub failure."""
    scan = SecurityScan(
        scanned_at=iso_utc(datetime.now(UTC)), scanner=scanner_version(), max_mb=client.settings.scan_max_mb
    )
    files: dict[str, dict[str, Any]] = {}
    try:
        info = client.security_info(facts.id)
        files = info["files"]
        scan.revision = info["sha"]
        scan.hub_status = hub_verdict(info["securityRepoStatus"])
        if scan.hub_status is None:
            scan.hub_error = "the Hub gave no security status for this repository"
    except HubError as err:
        scan.hub_error = str(err)
    revision = scan.revision or facts.sha or "main"
    scan.revision = revision
    for path in pickle_files(facts):
        meta = files.get(path, {})
        scan.files.append(_scan_pickle(client, facts, path, meta.get("size"), meta.get("sha256"), revision))
    for path in gguf_files(facts):
        scan.files.append(_scan_gguf(client, facts, path, files.get(path, {}).get("size"), revision))
    return scan


def attach_scan(client: HubClient, facts: ModelFacts) -> ModelFacts:
    """Scan a freshly fetched model and record the result in `facts.security_scan`; returns the same facts."""
    facts.security_scan = scan_model(client, facts).to_dict()
    return facts


def fetch_scanned(client: HubClient, model_id: str) -> tuple[ModelFacts, str | None]:
    """`client.fetch_facts(model_id)` with the security scan attached: (facts, card text)."""
    facts, card = client.fetch_facts(model_id)
    return attach_scan(client, facts), card


__all__ = [
    "FILE_STATES",
    "FAILED",
    "SCANNED",
    "TOO_LARGE",
    "UNREADABLE",
    "FileScan",
    "SecurityScan",
    "attach_scan",
    "fetch_scanned",
    "read_gguf_templates",
    "scan_model",
    "template_issues",
]
