"""sattn-dash: build, train and understand attention-combined ensembles on tabular data.

Importing the package is cheap (no TensorFlow): pages that only read tables stay fast.
It still makes saved models load with plain ``keras.saving.load_model``: sattn-dash's
layers register with Keras when Keras is (or once it gets) imported.
"""

from sattn_dash import _keras_registration
from sattn_dash.errors import DataError, RunError, SpecError, UserError

_keras_registration.install()

__all__ = ["DataError", "RunError", "SpecError", "UserError"]
__version__ = "0.1.0"
