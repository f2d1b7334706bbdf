"""The code of an exported MLflow model (``analysis.mlflow_export``): MLflow runs this
file when it loads the model ("models from code"), so nothing is unpickled. It wraps
``analysis.new_rows.Predictor``, whose files are the model's ``predictor`` artifact:
the Keras model (loaded in safe mode) and the preprocessing (skops: loading runs no
code). The exported folder carries a copy of ``sattn_dash`` in ``code/``."""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from sattn_dash.analysis.new_rows.mlflow_export import ARTIFACT


class SattnDashModel(PythonModel):
    """``predict(df)``: one row per input row, the columns of ``Predictor.score``."""

    def load_context(self, context) -> None:
        from sattn_dash.analysis.new_rows.predictor import Predictor

        self.predictor = Predictor.load(context.artifacts[ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.predictor.score(pd.DataFrame(model_input))


mlflow.models.set_model(SattnDashModel())
