"""Make ``keras.saving.load_model`` know sattn-dash's layers once Keras is imported.

A saved model names its custom layers (``sattn_dash>SparseAttentionWeighting``, ...);
Keras finds them only if the classes were registered, that is, their modules imported.
``import sattn_dash`` must stay cheap (no TensorFlow for pages that read tables), so it
does not import them itself: it registers them right away when Keras is already loaded,
and otherwise the moment Keras is first imported, from a one-shot import hook.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Every module that registers a Keras object (layer, loss, schedule) a saved model may
#: name: the one list ``import sattn_dash`` and ``modeling.saving`` use. A test imports
#: all of sattn_dash and checks that every class registered under package "sattn_dash"
#: lives in one of these.
MODULES = (
    "sattn_dash.layers.batch_ensemble",
    "sattn_dash.layers.numeric_embeddings",
    "sattn_dash.layers.sparse_attention_weighting",
    "sattn_dash.layers.sparse_dense_attention",
    "sattn_dash.modeling.keras_layers",
    "sattn_dash.modeling.losses",
    "sattn_dash.modeling.schedules",
)

#: How a saved model is loaded with plain Keras, in a fresh process: the Runs page
#: shows these lines and a test runs them, for every preset and combiner.
LOAD_MODEL_CODE = (
    "import keras, sattn_dash  # importing sattn_dash registers its Keras objects\n"
    "model = keras.saving.load_model({path!r})\n"
)


def load_model_code(path) -> str:
    """``LOAD_MODEL_CODE`` for the ``.keras`` file at ``path``."""
    return LOAD_MODEL_CODE.format(path=str(path))


def register_with_keras() -> None:
    """Import every module with a registered Keras class (imports Keras)."""
    for name in MODULES:
        importlib.import_module(name)


class _RegisterAfter(importlib.abc.Loader):
    """Keras' own loader, then the registration, once Keras' package has run."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # is_package, get_resource_reader, ...
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        register_with_keras()


class _KerasImportHook(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader of the real ``keras`` package, once."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the finders after this one
        if spec is not None and spec.loader is not None:
            spec.loader = _RegisterAfter(spec.loader)
        return spec


def install() -> None:
    """Register now if Keras is loaded, else on its first import (idempotent)."""
    if "keras" in sys.modules:
        register_with_keras()
    elif not any(isinstance(f, _KerasImportHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _KerasImportHook())
