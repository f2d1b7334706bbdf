"""sattn_dash.modeling: architectures as data (ModelSpec), presets, and the Keras build.

Names load on first use, so specs, presets and diagrams come without Keras. Load a
saved model with ``sattn_dash.modeling.load_model(path)``: it registers our layers.
"""

from sattn_dash._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "build_model": "build",
        "COMBINERS": "combiners",
        "Combiner": "combiners",
        "combiner": "combiners",
        "combiner_kinds": "combiners",
        "load_model": "saving",
        "spec_to_dot": "diagram",
        "attention_layers": "explain",
        "branch_names": "explain",
        "combiner_layer": "explain",
        "explain_model": "explain",
        "module_probabilities": "explain",
        "named_modules": "explain",
        "named_sums": "explain",
        "token_names": "explain",
        "export_script": "export",
        "parameter_counts": "params",
        "PRESETS": "presets",
        "Preset": "presets",
        "preset_spec": "presets",
        "ACTIVATIONS": "spec",
        "BLOCK_KINDS": "spec",
        "OPTIMIZERS": "spec",
        "BlockSpec": "spec",
        "BranchSpec": "spec",
        "CombinerSpec": "combiners",
        "HeadSpec": "spec",
        "ModelSpec": "spec",
        "head_name": "spec",
    },
)
