"""Keras 3 layers of sattn-dash: the two combiners every model and chart is built on.

Each layer imports Keras when it is first asked for; ``sattn_dash.layers.options``
(the choices specs validate against) never does.
"""

from sattn_dash._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "SparseAttentionWeighting": "sparse_attention_weighting",
        "SparseDenseMultiHeadAttention": "sparse_dense_attention",
        "sparsemax": "normalizers",
    },
)
