"""sattn-dash: build, train and understand attention-combined ensembles on tabular data.

Importing the package is cheap (no TensorFlow): pages that only read tables stay fast.
"""

from sattn_dash.errors import DataError, RunError, SpecError, UserError

__all__ = ["DataError", "RunError", "SpecError", "UserError"]
__version__ = "0.1.0"
