"""Module distributions in plain numpy: normalizers, entropy, what-if temperatures.

These read the combiner's raw weights, so charts of "what if the temperature were
different" need no model and no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sattn_dash.errors import SpecError


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sparsemax(logits: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the simplex (Martins & Astudillo 2016): exact zeros."""
    z = np.asarray(logits, dtype=np.float64)
    z_sorted = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cumsum = np.cumsum(z_sorted, axis=-1)
    support = 1 + k * z_sorted > cumsum
    k_z = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumsum, k_z - 1, axis=-1) - 1) / k_z
    return np.maximum(z - tau, 0.0)


NORMALIZERS = {"softmax": softmax, "sparsemax": sparsemax}


def module_distribution(
    raw_weights: Sequence[float], temperature: float, normalizer: str = "softmax"
) -> np.ndarray:
    """The combiner's module probabilities: ``normalizer(raw_weights / temperature)``."""
    if normalizer not in NORMALIZERS:
        raise SpecError(f"Unknown normalizer {normalizer!r}; use one of {sorted(NORMALIZERS)}.")
    if not temperature > 0:
        raise SpecError(f"Temperature must be above 0, got {temperature}; pick e.g. 0.5 or 2.")
    return NORMALIZERS[normalizer](np.asarray(raw_weights, dtype=np.float64) / temperature)


def entropy(probabilities: np.ndarray) -> float:
    """Shannon entropy in nats; zero-probability modules contribute nothing."""
    p = np.asarray(probabilities, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def spread(probabilities: np.ndarray) -> dict[str, float]:
    """How evenly the weight is spread: entropy, entropy / log(n), effective branches."""
    p = np.asarray(probabilities, dtype=np.float64)
    h = entropy(p)
    n = len(p)
    return {
        "entropy": h,
        "normalized_entropy": h / np.log(n) if n > 1 else 0.0,
        "effective_branches": float(np.exp(h)),
    }


#: Weights this even prefer no branch: the largest under 1.2x the smallest, or the
#: entropy within 2% of its maximum (uniform).
UNIFORM_RATIO, UNIFORM_ENTROPY = 1.2, 0.98


def no_branch_preferred(weights) -> bool:
    """True when the combiner's weights are too even to name a top branch."""
    w = np.asarray(weights, dtype=np.float64)
    if len(w) < 2:
        return False
    smallest = float(w.min())
    if smallest > 0 and float(w.max()) / smallest < UNIFORM_RATIO:
        return True
    total = w.sum()
    return bool(total > 0 and spread(w / total)["normalized_entropy"] >= UNIFORM_ENTROPY)


def temperature_distributions(
    raw_weights: Sequence[float],
    temperatures: Iterable[float],
    branches: Sequence[str],
    normalizer: str = "softmax",
) -> pd.DataFrame:
    """Module probabilities at each temperature, one row per (temperature, branch)."""
    rows = []
    for t in temperatures:
        p = module_distribution(raw_weights, float(t), normalizer)
        stats = spread(p)
        for branch, prob in zip(branches, p, strict=True):
            rows.append({"temperature": float(t), "branch": branch, "probability": prob, **stats})
    return pd.DataFrame(
        rows,
        columns=[
            "temperature",
            "branch",
            "probability",
            "entropy",
            "normalized_entropy",
            "effective_branches",
        ],
    )
