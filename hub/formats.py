"""File formats in a model repository, and how each one loads: the table behind the security checks.

Each file name maps to a *kind* (its format) and each weight kind to a *load class*:

- `safe`: the loader reads tensors and metadata only (safetensors, GGUF/GGML, ONNX, TFLite, Flax msgpack ...).
- `pickle`: loading unpickles, which can run arbitrary code (PyTorch `.bin/.pt/.pth/.ckpt`, `.pkl`, joblib,
  dill, NumPy `.npy/.npz`, Paddle `.pdparams/.pdopt`, NeMo `.nemo` archives of a pickled checkpoint ...).
- `code-carrying`: the format can embed code that runs on load (Keras `.keras/.h5` Lambda layers,
  TensorFlow SavedModel graphs with file-reading ops).
- `executable`: the file is a program that runs when used (`.llamafile`).

The pickle extensions are read from picklescan, the scanner the Hub itself runs, rather than retyped: what it
opens as PyTorch, pickle or NumPy data is pickle-based here. Its generic containers (`.dat`, `.data`, `.zip`,
`.7z`) are opened by picklescan to look inside; from a file name alone nothing can be said about them, so
they are `container`, not weights. Training state that trainers pickle beside the weights
(`training_args.bin`, `optimizer.pt` ...) and vector-store indexes that retrieval apps pickle (LangChain's FAISS
`index.pkl`, files under a `vectorstore/` or `faiss` folder) are pickle-based but are not model weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # the scanner's own lists; a copy of them (picklescan 1.0.5) where the package is missing
    from picklescan import scanner as _picklescan

    _PICKLESCAN = (
        set(_picklescan._pytorch_file_extensions)
        | set(_picklescan._pickle_file_extensions)
        | set(_picklescan._numpy_file_extensions)
    )
    _PICKLESCAN_ZIP = set(_picklescan._zip_file_extensions)
except ImportError:  # pragma: no cover - picklescan is a dependency
    _PICKLESCAN = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".dat", ".data", ".npy"}
    _PICKLESCAN_ZIP = {".zip", ".npz", ".7z"}

SAFE = "safe"
PICKLE = "pickle"
CODE_CARRYING = "code-carrying"
EXECUTABLE = "executable"
LOAD_CLASSES = (SAFE, PICKLE, CODE_CARRYING, EXECUTABLE)
UNSAFE_LOAD_CLASSES = (PICKLE, CODE_CARRYING, EXECUTABLE)

# Generic containers picklescan opens to look inside; a name says nothing about what they hold.
CONTAINER_EXTS = tuple(sorted(({".dat", ".data"} & _PICKLESCAN) | (_PICKLESCAN_ZIP - {".npz"})))


@dataclass(frozen=True)
class WeightFormat:
    """A weight format: its kind, how it loads, the extensions that name it, and why it is in that class."""

    kind: str
    load_class: str
    extensions: tuple[str, ...]
    why: str


WEIGHT_FORMATS: tuple[WeightFormat, ...] = (
    WeightFormat("safetensors", SAFE, (".safetensors",), "a JSON header and raw tensors; nothing is executed"),
    WeightFormat("gguf", SAFE, (".gguf",), "llama.cpp's typed key-value header and tensors"),
    WeightFormat(
        "ggml",
        SAFE,
        (".ggml",),
        "llama.cpp's older tensor files, also when named `*.bin` (`ggml-model-q4_0.bin`, `*.ggmlv3.q4_0.bin`)",
    ),
    WeightFormat("onnx", SAFE, (".onnx",), "a protobuf graph of standard operators and tensors"),
    WeightFormat("tflite", SAFE, (".tflite",), "a flatbuffer graph of built-in operators"),
    WeightFormat("flax", SAFE, (".msgpack",), "Flax's msgpack state dict: tensors only"),
    WeightFormat("coreml", SAFE, (".mlmodel", ".mlpackage"), "a protobuf model specification"),
    WeightFormat("executorch", SAFE, (".pte",), "a flatbuffer program of registered operators"),
    WeightFormat(
        "pickle",
        PICKLE,
        tuple(sorted((_PICKLESCAN - set(CONTAINER_EXTS)) | {".pck", ".dill"} | (_PICKLESCAN_ZIP & {".npz"}))),
        "unpickled on load (torch.load, pickle, joblib, dill, numpy with allow_pickle); picklescan's list",
    ),
    WeightFormat("paddle", PICKLE, (".pdparams", ".pdopt"), "paddle.load unpickles the state dict"),
    WeightFormat("nemo", PICKLE, (".nemo",), "a tar archive whose checkpoint is a pickled PyTorch state dict"),
    WeightFormat("torchserve", PICKLE, (".mar",), "a zip of pickled weights and handler code"),
    WeightFormat(
        "keras", CODE_CARRYING, (".keras", ".h5", ".hdf5"), "Lambda layers carry marshalled Python code run on load"
    ),
    WeightFormat(
        "savedmodel", CODE_CARRYING, (".pb",), "TensorFlow graphs can hold file-reading and -writing operations"
    ),
    WeightFormat("llamafile", EXECUTABLE, (".llamafile",), "a self-contained program (weights and runtime) run as is"),
    # Named by the file, not the extension alone (`.bin` and `.h5` are also pickle and full-Keras files):
    WeightFormat(
        "openvino", SAFE, (),
        "OpenVINO IR: `X.xml`, a graph of standard operators, and `X.bin` beside it, raw tensor bytes "
        "(`openvino_model.bin`, or any `.bin` with a same-named `.xml`)",
    ),
    WeightFormat(
        "tf-weights", SAFE, (),
        "transformers' TensorFlow weights `tf_model.h5` (and Keras `*.weights.h5`): HDF5 arrays that "
        "load_weights reads into a model built from code, no layers or code in the file",
    ),
)  # fmt: skip

LOAD_CLASS_OF_KIND = {f.kind: f.load_class for f in WEIGHT_FORMATS}
WEIGHT_KINDS = tuple(f.kind for f in WEIGHT_FORMATS)
_KIND_OF_EXT = {ext: f.kind for f in WEIGHT_FORMATS for ext in f.extensions}

CODE_EXTS = (
    ".py", ".pyc", ".pyo", ".pyi", ".pyd", ".sh", ".bat", ".ps1", ".ipynb", ".so", ".dylib", ".exe", ".dll", ".whl",
)  # fmt: skip
OTHER_KINDS = {
    **{ext: "code" for ext in CODE_EXTS},
    **{ext: "config" for ext in (".json", ".yaml", ".yml")},
    **{ext: "docs" for ext in (".md", ".txt")},
    **{ext: "tokenizer" for ext in (".model", ".tiktoken")},
    **{ext: "container" for ext in CONTAINER_EXTS},
}  # fmt: skip

# llama.cpp's quantization tags and GGML's own names: a `.bin` so named is GGML, not a PyTorch pickle.
_GGML_BIN = re.compile(r"ggml|gguf|(?:^|[.\-_])(?:i?q[1-8]_(?:[0-9]|k)|q[1-8]_[01])(?:[._\-]|$)", re.I)
# Trainer state pickled beside the weights: pickle-based, but not the model.
_TRAINING_STATE = re.compile(
    r"(?:^|/)(training_args\.bin|(?:optimizer|scheduler|scaler)(?:\.[\w-]+)?\.(?:pt|bin|pth)|rng_state[\w-]*\.pth|"
    r"random_states_\d+\.pkl|[\w-]*optim_states\.pt)$",
    re.I,
)
# A retrieval app's vector store: LangChain's FAISS `index.pkl` / `docstore.pkl`, or a pickle under a folder named
# for a vector store (`vectorstores/db_faiss/`, `vector_db/`, `chroma_db/` ...). Pickled, but documents, not a model.
_VECTOR_INDEX = re.compile(
    r"(?:^|/)(?:index|docstore)\.(?:pkl|pickle)$|(?:^|/)[\w.-]*(?:vector[_-]?(?:store|db|index)|faiss|chroma)[\w.-]*/",
    re.I,
)
TRAINING_STATE = "training-state"
VECTOR_INDEX = "vector-index"
# Pickle-based kinds that are not the model's weights: unsafe to load, but they do not make a repo a model.
PICKLED_NON_WEIGHTS = (TRAINING_STATE, VECTOR_INDEX)
# Split uploads: `model.gguf.part1of5`, `model.safetensors.00001-of-00002` keep the inner extension's kind.
_PART = re.compile(r"\.(?:part\d+of\d+|\d{5}-of-\d{5})$", re.I)


# File names repeat across repositories (`config.json`, `model-00001-of-00004.safetensors` ...): each name's kind
# is worked out once. Bounded (emptied when full; long names not kept): unique names cannot grow it without end.
_KIND_CACHE: dict[str, str] = {}
_KIND_CACHE_MAX = 20_000


def file_kind(name: str) -> str:
    """The kind of one repository file: a weight kind, `training-state`, `vector-index`, `code`, ... or `other`."""
    kind = _KIND_CACHE.get(name)
    if kind is None:
        if len(name) > 200:
            return _file_kind(name)
        if len(_KIND_CACHE) >= _KIND_CACHE_MAX:
            _KIND_CACHE.clear()
        kind = _KIND_CACHE[name] = _file_kind(name)
    return kind


def _file_kind(name: str) -> str:
    lower = _PART.sub("", name.lower())
    if lower.endswith("/") or lower.endswith(".gitattributes"):
        return "other"
    base = lower.rsplit("/", 1)[-1]
    if _TRAINING_STATE.search(lower):
        return TRAINING_STATE
    dot = base.rfind(".")
    if dot < 0:
        return "other"
    ext = base[dot:]
    if ext == ".bin" and _GGML_BIN.search(base[:dot] + "."):
        return "ggml"
    if ext == ".bin" and base.startswith("openvino_"):
        return "openvino"
    if base == "tf_model.h5" or base.endswith(".weights.h5"):
        return "tf-weights"
    kind = _KIND_OF_EXT.get(ext) or OTHER_KINDS.get(ext, "other")
    if LOAD_CLASS_OF_KIND.get(kind) == PICKLE and _VECTOR_INDEX.search(lower):
        return VECTOR_INDEX
    return kind


def file_kinds(names: list[str]) -> dict[str, list[str]]:
    """The files of a repository by kind (`file_kind`), with what only the whole list shows.

    A `.bin` beside a same-named `.xml` is an OpenVINO IR tensor file, not a pickle.
    """
    kinds: dict[str, list[str]] = {}
    for name in names:
        kinds.setdefault(file_kind(name), []).append(name)
    if "pickle" in kinds and any(n.lower().endswith(".xml") for n in names):
        graphs = {n[:-4].lower() for n in names if n.lower().endswith(".xml")}
        paired = [n for n in kinds["pickle"] if n.lower().endswith(".bin") and n[:-4].lower() in graphs]
        if paired:
            kinds["pickle"] = [n for n in kinds["pickle"] if n not in paired]
            kinds.setdefault("openvino", []).extend(paired)
            if not kinds["pickle"]:
                del kinds["pickle"]
    return kinds


def load_class(kind: str) -> str | None:
    """How files of a kind load; None for kinds that are not weights."""
    if kind in PICKLED_NON_WEIGHTS:
        return PICKLE
    return LOAD_CLASS_OF_KIND.get(kind)


def markdown_table() -> str:
    """The format table for docs/scoring.md."""
    lines = ["| format | load class | file names | why |", "|---|---|---|---|"]
    for f in WEIGHT_FORMATS:
        exts = " ".join(f"`{e}`" for e in f.extensions)
        lines.append(f"| {f.kind} | {f.load_class} | {exts} | {f.why} |")
    lines.append(
        "| training state | pickle | `training_args.bin` `optimizer.pt` `scheduler.pt` `rng_state*.pth` ... "
        "| pickled by trainers beside the weights; unsafe to load, but not the model's weights |"
    )
    lines.append(
        "| vector index | pickle | `index.pkl` `docstore.pkl`, pickles under a `vectorstore/`, `faiss` or `chroma` "
        "folder | a retrieval app's pickled document store; unsafe to load, but not model weights |"
    )
    lines.append(
        f"| container | (not weights) | {' '.join(f'`{e}`' for e in CONTAINER_EXTS)} "
        "| generic containers picklescan opens to look inside; a name alone says nothing |"
    )
    lines.append(f"| code | (not weights) | {' '.join(f'`{e}`' for e in CODE_EXTS)} | code to review before running |")
    return "\n".join(lines)
