"""Keras 3 layers of sattn-dash: the two combiners every model and chart is built on, the
numeric feature embeddings a branch can start with, and the BatchEnsemble layers of a
TabM-style branch.

Each layer imports Keras when it is first asked for; ``sattn_dash.layers.options``
(the choices specs validate against) never does.
"""

from sattn_dash._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "BatchEnsembleDense": "batch_ensemble",
        "EnsembleSplit": "batch_ensemble",
        "PeriodicEmbedding": "numeric_embeddings",
        "PiecewiseLinearEmbedding": "numeric_embeddings",
        "PiecewiseLinearEncoding": "numeric_embeddings",
        "SparseAttentionWeighting": "sparse_attention_weighting",
        "SparseDenseMultiHeadAttention": "sparse_dense_attention",
        "quantile_bin_edges": "numeric_embeddings",
        "sparsemax": "normalizers",
    },
)
