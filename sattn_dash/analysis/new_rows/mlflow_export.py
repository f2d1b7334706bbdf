"""A model that travels: a run exported as an MLflow pyfunc model.

The folder holds the Keras model and the fitted preprocessing together (the
``predictor`` artifact, ``analysis.new_rows.Predictor.save``: ``model.keras`` and the
preprocessing in skops' format, so loading runs no code), the model's code
(``analysis/mlflow_model.py``, MLflow's "models from code": no pickle) with a copy of
``sattn_dash`` beside it, the exact versions of what it needs (``requirements.txt``),
an input example and a signature. ``mlflow.pyfunc.load_model(folder).predict(df)`` and
``mlflow models serve -m folder`` return what ``sattn-dash predict`` writes.

Needs the ``serve`` extra (``pip install 'sattn-dash[serve]'``: mlflow-skinny).
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.errors import DataError, RunError
from sattn_dash.files import write_dir

if TYPE_CHECKING:
    from sattn_dash.analysis.new_rows.predictor import Predictor
    from sattn_dash.training.run import Run

__all__ = ["EXPORT_FORMATS", "MODEL_REQUIREMENTS", "example_rows", "export_mlflow"]

EXPORT_FORMATS = ("mlflow",)
ARTIFACT = "predictor"  # the name the predictor's folder has among the model's artifacts
#: What a served model imports, pinned to the versions installed here (requirements.txt's).
MODEL_REQUIREMENTS = (
    "mlflow-skinny",
    "tensorflow",
    "keras",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "skops",
    "pyarrow",
)
_NOT_COPIED = ("__pycache__", "*.pyc", "*.csv", "*.parquet")  # the bundled tables stay home


def export_mlflow(run: Run, out, predictor: Predictor | None = None) -> Path:
    """Write `run` as an MLflow pyfunc model into the new folder `out` (built aside and
    moved into place). Returns the folder."""
    from sattn_dash.analysis.new_rows.predictor import Predictor

    mlflow = _mlflow()
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"'{out}' already exists. Export into a new (or empty) folder.")
    if not out.parent.is_dir():
        raise DataError(f"The folder '{out.parent}' does not exist. Create it first.")
    predictor = predictor or Predictor.from_run(run)
    example = example_rows(predictor.prepared)
    output = predictor.score(example)
    with warnings.catch_warnings():  # "row" is a whole number: MLflow hints at gaps
        warnings.simplefilter("ignore", UserWarning)
        signature = mlflow.models.infer_signature(example, output)
    if out.is_dir():
        out.rmdir()

    def write(folder: Path) -> None:
        folder.rmdir()  # MLflow makes the folder itself
        with tempfile.TemporaryDirectory(prefix="sattn-export-") as scratch:
            scratch = Path(scratch)
            predictor.save(_made(scratch / "predictor"))
            code = scratch / "sattn_dash"
            shutil.copytree(_package(), code, ignore=shutil.ignore_patterns(*_NOT_COPIED))
            mlflow.pyfunc.save_model(
                path=str(folder),
                python_model=str(Path(__file__).with_name("mlflow_model.py")),
                artifacts={ARTIFACT: str(scratch / "predictor")},
                code_paths=[str(code)],
                signature=signature,
                input_example=example,
                pip_requirements=requirements(),
                metadata={"sattn_dash_run": run.run_id, "title": run.title},
            )

    write_dir(out, write)
    return out


def requirements() -> list[str]:
    """``name==version`` for each of `MODEL_REQUIREMENTS`, as installed here."""
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def example_rows(prepared, n: int = 2) -> pd.DataFrame:
    """`n` made-up rows in the columns and types the model reads, from the fitted
    preprocessing: numbers at the centre of the training values (and one scale above),
    categories among those seen in training, flags, dates."""
    rows: dict[str, list] = {}
    transformer = prepared.transformer
    for kind, pipeline, columns in transformer.transformers_:
        if kind == "remainder" or pipeline == "drop":
            continue
        columns = list(columns)
        steps = dict(pipeline.steps)
        if kind == "numeric":
            steps_up = np.repeat(np.arange(n, dtype=float)[:, None], len(columns), axis=1)
            centres = steps["scale"].inverse_transform(steps_up)
            for j, name in enumerate(columns):
                rows[name] = [float(v) for v in centres[:, j]]
        elif kind in ("categorical", "categorical_codes"):
            encoder = steps.get("one_hot") or steps.get("codes")
            for name, categories in zip(columns, encoder.categories_, strict=True):
                seen = [c for c in categories if isinstance(c, str) and c != "(missing)"] or ["a"]
                rows[name] = [seen[i % len(seen)] for i in range(n)]
        elif kind == "boolean":
            for name in columns:
                rows[name] = [bool(i % 2 == 0) for i in range(n)]
        else:  # datetime
            for name in columns:
                rows[name] = list(pd.date_range("2024-01-01", periods=n, freq="D"))
    return pd.DataFrame({c: rows[c] for c in prepared.schema.feature_columns})


def _made(folder: Path) -> Path:
    folder.mkdir()
    return folder


def _package() -> Path:
    import sattn_dash

    return Path(sattn_dash.__file__).parent


def _mlflow():
    try:
        import mlflow
        import mlflow.pyfunc
    except ImportError:
        raise RunError(
            "Exporting an MLflow model needs MLflow: pip install 'sattn-dash[serve]' "
            "(or pip install -r requirements-serve.txt in a checkout)."
        ) from None
    return mlflow
