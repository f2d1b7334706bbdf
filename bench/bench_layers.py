"""Benchmark sattn_dash.layers against the Keras layers they replace (issue 2, section 5).

Each case times one forward+backward step (gradients with respect to the inputs and the
trainable weights) inside a ``tf.function``, ours and the reference side by side in this
one process: warm-up first, then the median of repeated runs. Peak memory is measured
for one more step as the peak bytes TensorFlow's allocator holds on the device that runs
it (``tf.config.experimental.get_memory_info``, reset before the step, minus what was
held before it): GPU memory on a GPU, TensorFlow's CPU allocator on CPU (the process's
resident memory is no use there: TensorFlow keeps freed memory for reuse).

    .venv/bin/python bench/bench_layers.py            # full run, a few minutes on 2 cores
    .venv/bin/python bench/bench_layers.py --quick    # fewer repeats, same cases

Prints markdown tables for bench/RESULTS.md. Targets (not tests): weighting <= 1.1x
keras Average; sparse-dense with selection="shared" <= 1.0x dense time and <= 0.5x its
peak memory at length 2048, runs at 8192 within 4 GiB, and <= 2x dense time at tabular
size (batch 256, length 32, top_k 8). The numeric embeddings and BatchEnsembleDense
(issue 10) have no target: they are measured against the plain Dense of the same output
width, so a spec author can see what they cost.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow 2.21 keeps no memory statistics for the CPU unless its CPU allocator is the
# BFC one; without this, get_memory_info("CPU:0") raises.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

from sattn_dash.layers import (  # noqa: E402
    BatchEnsembleDense,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    SparseAttentionWeighting,
    SparseDenseMultiHeadAttention,
    quantile_bin_edges,
)

GIB = 1024**3
MIB = 1024**2
ON_GPU = bool(tf.config.list_physical_devices("GPU"))


# ------------------------------------------------------------------- measuring
def peak_memory(step):
    """Peak bytes TensorFlow's allocator adds while one call of ``step`` runs."""
    device = "GPU:0" if ON_GPU else "CPU:0"
    tf.config.experimental.reset_memory_stats(device)
    before = tf.config.experimental.get_memory_info(device)["current"]
    _finish(step())
    return tf.config.experimental.get_memory_info(device)["peak"] - before


def _finish(outputs):
    for tensor in tf.nest.flatten(outputs):
        if tensor is not None:
            tensor.numpy()


def measure(steps, warmup, repeats):
    """{name: (seconds of each round, peak bytes)}. The steps take turns within a round,
    so load from other work on a shared machine hits every side alike."""
    for step in steps.values():
        for _ in range(warmup):
            _finish(step())
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            _finish(step())
            times[name].append(time.perf_counter() - start)
    return {name: (times[name], peak_memory(step)) for name, step in steps.items()}


def train_step(forward, inputs, variables, jit_compile=False):
    """A compiled forward+backward step: gradients for the inputs and ``variables``.

    The loss is half the sum of squared outputs, so the backward pass needs the forward
    one, as a real loss does; the inputs are arguments of the compiled function, not
    captured constants, and the loss is returned, so TensorFlow cannot fold or prune the
    forward pass away.
    """

    @tf.function(jit_compile=jit_compile)
    def step(xs):
        with tf.GradientTape() as tape:
            tape.watch(xs)
            loss = 0.5 * ops.sum(ops.square(ops.cast(forward(xs), "float32")))
        return [loss, *tape.gradient(loss, [*xs, *variables])]

    return lambda: step(inputs)


# ----------------------------------------------------------------------- cases
def bench_weighting(args):
    rng = np.random.default_rng(0)
    inputs = [tf.constant(rng.normal(size=(4096, 256)).astype("float32")) for _ in range(8)]
    ours = SparseAttentionWeighting(num_modules=8)
    ours(inputs)
    average = keras.layers.Average()

    def naive(xs):
        probabilities = ops.softmax(ours.attention_weights)
        return ops.sum(ops.stack(xs, axis=-1) * probabilities, axis=-1)

    variants = [
        ("keras.layers.Average", average, []),
        ("naive stack-multiply-sum", naive, [ours.attention_weights]),
        ("SparseAttentionWeighting", ours, [ours.attention_weights]),
    ]
    rows = []
    for jit in (False, True):
        mode = "XLA" if jit else "graph"
        steps = {
            name: train_step(forward, inputs, variables, jit_compile=jit)
            for name, forward, variables in variants
        }
        results = measure(steps, args.warmup, args.repeats)
        reference = results["keras.layers.Average"]
        rows += [[mode, name, *_cells(result, reference)] for name, result in results.items()]
    return _table(["mode", "layer", "ms", "time vs Average", "peak MiB", "memory vs Average"], rows)


def _attention_inputs(batch, length, features, seed=0):
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.normal(size=(batch, length, features)).astype("float32"))]


def _attention_step(layer, inputs):
    layer(inputs[0], inputs[0])
    return train_step(lambda xs: layer(xs[0], xs[0]), inputs, layer.trainable_variables)


def _dense_bytes_estimate(batch, heads, length):
    """Score-sized tensors dense attention keeps for forward+backward (about three)."""
    return 3 * batch * heads * length * length * 4


def bench_attention(args):
    batch, heads, key_dim, top_k, features = 8, 4, 16, 16, 64
    rows = []
    for length in args.lengths:
        inputs = _attention_inputs(batch, length, features)
        steps = {}
        dense_needs = _dense_bytes_estimate(batch, heads, length)
        if dense_needs <= args.dense_budget_gib * GIB:
            steps["MultiHeadAttention"] = _attention_step(
                keras.layers.MultiHeadAttention(heads, key_dim), inputs
            )
        chunk = args.chunk if length > args.chunk else None
        for selection in ("shared", "per_head"):
            layer = SparseDenseMultiHeadAttention(
                heads, key_dim, top_k=top_k, selection=selection, query_chunk_size=chunk
            )
            steps[f"SparseDense top_k={top_k} {selection}"] = _attention_step(layer, inputs)
        results = measure(steps, args.warmup, _repeats(args, length))
        reference = results.get("MultiHeadAttention")
        if reference is None:
            rows.append(
                [
                    length,
                    "MultiHeadAttention",
                    "-",
                    "not run",
                    "-",
                    f"needs ~{dense_needs / GIB:.0f} GiB",
                    "-",
                ]
            )
        for name, result in results.items():
            chunk_cell = "-" if name == "MultiHeadAttention" else chunk or "-"
            rows.append([length, name, chunk_cell, *_cells(result, reference)])
    header = [
        "length",
        "layer",
        "query chunk",
        "ms",
        "time vs dense",
        "peak MiB",
        "memory vs dense",
    ]
    return _table(header, rows)


def bench_tabular(args):
    batch, length, heads, key_dim, top_k, features = 256, 32, 4, 16, 8, 64
    inputs = _attention_inputs(batch, length, features)
    steps = {
        "MultiHeadAttention": _attention_step(
            keras.layers.MultiHeadAttention(heads, key_dim), inputs
        )
    }
    for selection in ("shared", "per_head"):
        layer = SparseDenseMultiHeadAttention(heads, key_dim, top_k=top_k, selection=selection)
        steps[f"SparseDense top_k={top_k} {selection}"] = _attention_step(layer, inputs)
    results = measure(steps, args.warmup, args.repeats)
    reference = results["MultiHeadAttention"]
    rows = [[name, *_cells(result, reference)] for name, result in results.items()]
    return _table(["layer", "ms", "time vs dense", "peak MiB", "memory vs dense"], rows)


def _layer_step(layer, inputs):
    layer(inputs[0])
    return train_step(lambda xs: layer(xs[0]), inputs, layer.trainable_variables)


def _compare_layers(args, layers):
    """Time ``{name: (layer, its input)}`` against the first, with parameter counts."""
    steps = {name: _layer_step(layer, [x]) for name, (layer, x) in layers.items()}
    results = measure(steps, args.warmup, args.repeats)
    reference = results[next(iter(results))]
    return [
        [name, f"{layer.count_params():,}", *_cells(results[name], reference)]
        for name, (layer, _) in layers.items()
    ]


def bench_embeddings(args):
    batch, features, bins, units = 1024, 32, 32, 16
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, features)).astype("float32"))
    edges = quantile_bin_edges(rng.normal(size=(10_000, features)), bins)
    layers = {
        f"Dense({features * units}) on the raw features": (
            keras.layers.Dense(features * units, activation="relu"),
            x,
        ),
        f"PiecewiseLinearEmbedding({bins} bins, {units})": (
            PiecewiseLinearEmbedding(edges, units),
            x,
        ),
        f"PeriodicEmbedding({units}, 16 frequencies)": (
            PeriodicEmbedding(features, units, n_frequencies=16),
            x,
        ),
        f"PeriodicEmbedding({units}, 16 frequencies, lite)": (
            PeriodicEmbedding(features, units, n_frequencies=16, lite=True),
            x,
        ),
    }
    rows = _compare_layers(args, layers)
    header = ["layer", "params", "ms", "time vs Dense", "peak MiB", "memory vs Dense"]
    return _table(header, rows)


def bench_batch_ensemble(args):
    batch, k, width = 256, 32, 256
    rng = np.random.default_rng(0)
    members = tf.constant(rng.normal(size=(batch, k, width)).astype("float32"))
    one = members[:, 0]
    layers = {
        f"Dense({width}) on the same (batch, {k}, {width})": (keras.layers.Dense(width), members),
        f"BatchEnsembleDense({width}, k={k})": (BatchEnsembleDense(width, k=k), members),
        f"{k} separate Dense({width}) (EinsumDense)": (
            keras.layers.EinsumDense("bki,kio->bko", (k, width), bias_axes="ko"),
            members,
        ),
        f"Dense({width}) on (batch, {width}): one member's work": (keras.layers.Dense(width), one),
    }
    rows = _compare_layers(args, layers)
    header = ["layer", "params", "ms", "time vs Dense", "peak MiB", "memory vs Dense"]
    return _table(header, rows)


def _repeats(args, length):
    return max(3, args.repeats // 3) if length >= 2048 else args.repeats


def _cells(measured, reference):
    """ms (median), time ratio (median of the per-round ratios), peak MiB, memory ratio."""
    times, memory = measured
    shown_memory = f"{memory / MIB:.0f}" if memory >= MIB else "<1"
    cells = [f"{statistics.median(times) * 1e3:.1f}", "-", shown_memory, "-"]
    if reference is not None:
        base_times, base_memory = reference
        ratios = [ours / base for ours, base in zip(times, base_times, strict=True)]
        cells[1] = f"{statistics.median(ratios):.2f}x"
        if base_memory >= MIB:
            cells[3] = f"{memory / base_memory:.2f}x"
    return cells


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine():
    if ON_GPU:
        details = tf.config.experimental.get_device_details(
            tf.config.list_physical_devices("GPU")[0]
        )
        device = f"GPU {details.get('device_name', '?')}"
    else:
        device = f"CPU only, {os.cpu_count()} cores"
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return (
        f"{device}, {memory_gib:.0f} GiB RAM, {platform.processor() or platform.machine()}; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 256, 1024, 2048, 8192])
    parser.add_argument("--chunk", type=int, default=512, help="query chunk size")
    parser.add_argument(
        "--dense-budget-gib",
        type=float,
        default=12.0,
        help="skip dense attention where its score tensors would need more than this",
    )
    parser.add_argument(
        "--only",
        choices=["weighting", "attention", "tabular", "embeddings", "ensemble"],
        nargs="+",
        default=None,
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 5 if args.quick else 15
    if args.warmup is None:
        args.warmup = 1 if args.quick else 2
    memory_kind = (
        f"peak bytes allocated by TensorFlow on {'GPU' if ON_GPU else 'CPU'} during one "
        "step beyond what was held before it (tf.config.experimental.get_memory_info)"
    )
    print(f"Machine: {machine()}")
    print(f"Load average at start: {os.getloadavg()[0]:.1f}")
    print(
        f"Time: median of {args.repeats} forward+backward steps after {args.warmup} warm-up "
        "(a third of that, at least 3, at lengths >= 2048); time ratio: median of the "
        "per-round ratios."
    )
    print(f"Memory: {memory_kind}.\n")
    sections = {
        "weighting": ("SparseAttentionWeighting, 8 inputs of (4096, 256)", bench_weighting),
        "attention": (
            "SparseDenseMultiHeadAttention vs MultiHeadAttention, batch 8, 4 heads, "
            "key_dim 16, self-attention on 64 features",
            bench_attention,
        ),
        "tabular": (
            "Tabular size: batch 256, length 32, 4 heads, key_dim 16, top_k 8",
            bench_tabular,
        ),
        "embeddings": (
            "Numeric embeddings, batch 1024, 32 features, 16 units per feature",
            bench_embeddings,
        ),
        "ensemble": (
            "BatchEnsembleDense, batch 256, k 32 members, 256 -> 256",
            bench_batch_ensemble,
        ),
    }
    for name in args.only or list(sections):
        title, run = sections[name]
        print(f"### {title}\n")
        print(run(args))
        print()
    print(f"Load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
