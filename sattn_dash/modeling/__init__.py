"""sattn_dash.modeling: architectures as data (ModelSpec), presets, and the Keras build.

Importing this package registers every custom layer a saved model uses, so
``keras.saving.load_model`` works right after ``import sattn_dash.modeling``.
"""

from sattn_dash.modeling.build import build_model
from sattn_dash.modeling.diagram import spec_to_dot
from sattn_dash.modeling.explain import (
    attention_layers,
    branch_names,
    combiner_layer,
    explain_model,
    module_probabilities,
    token_names,
)
from sattn_dash.modeling.export import export_script
from sattn_dash.modeling.params import parameter_counts
from sattn_dash.modeling.presets import PRESETS, Preset, preset_spec
from sattn_dash.modeling.spec import (
    ACTIVATIONS,
    BLOCK_KINDS,
    COMBINER_KINDS,
    OPTIMIZERS,
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    head_name,
)

__all__ = [
    "ACTIVATIONS",
    "BLOCK_KINDS",
    "COMBINER_KINDS",
    "OPTIMIZERS",
    "PRESETS",
    "BlockSpec",
    "BranchSpec",
    "CombinerSpec",
    "HeadSpec",
    "ModelSpec",
    "Preset",
    "attention_layers",
    "branch_names",
    "build_model",
    "combiner_layer",
    "explain_model",
    "export_script",
    "head_name",
    "module_probabilities",
    "parameter_counts",
    "preset_spec",
    "spec_to_dot",
    "token_names",
]
