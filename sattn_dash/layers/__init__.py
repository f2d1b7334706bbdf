"""Keras 3 layers of sattn-dash: the two combiners every model and chart is built on.

Importing this package imports Keras; the rest of ``sattn_dash`` stays importable
without it.
"""

from sattn_dash.layers.sparse_attention_weighting import SparseAttentionWeighting
from sattn_dash.layers.sparse_dense_attention import SparseDenseMultiHeadAttention
from sattn_dash.layers.sparsemax import sparsemax

__all__ = ["SparseAttentionWeighting", "SparseDenseMultiHeadAttention", "sparsemax"]
