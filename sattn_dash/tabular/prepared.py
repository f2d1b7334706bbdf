"""`PreparedData`: model-ready splits plus everything needed to explain and reuse them.

It knows which model input column comes from which source column and group, so a
branch can be fed a subset (`features_for`) and charts can label importances. It saves
to a run directory as JSON + NumPy arrays + the fitted transformer (joblib). The joblib
file is one sattn-dash wrote itself into the run directory; nothing a user uploads is
ever unpickled. The portable form (`save(..., portable=True)`, what an exported model
carries) stores the transformer with skops instead, which loads without running code.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn

from sattn_dash.errors import DataError, RunError, SpecError
from sattn_dash.files import write_stream
from sattn_dash.tabular.options import PrepareOptions
from sattn_dash.tabular.schema import Schema

SPLITS = ("train", "val", "test")
FORMAT = 1
META_FILE, ARRAYS_FILE, TRANSFORMER_FILE = "prepared.json", "arrays.npz", "transformer.joblib"
SKOPS_FILE = "transformer.skops"  # the portable form: loading it runs no code
#: Types beyond scikit-learn's own that a stored transformer may hold: our transformers
#: and functions (tabular.transform, tabular.coerce) and NumPy's dtype.
SKOPS_TRUSTED_PREFIXES = ("sattn_dash.tabular.", "numpy.dtype")


@dataclass(frozen=True)
class PreparedData:
    schema: Schema
    X_train: pd.DataFrame
    X_val: pd.DataFrame
    X_test: pd.DataFrame
    y_train: dict[str, np.ndarray]
    y_val: dict[str, np.ndarray]
    y_test: dict[str, np.ndarray]
    feature_names: list[str]
    feature_sources: dict[str, str]
    categorical_features: dict[str, int]
    tasks: dict[str, str]
    classes: dict[str, list]
    target_stats: dict[str, tuple[float, float]]
    transformer: object
    row_index: dict[str, np.ndarray]
    seed: int
    data_hash: str
    notes: tuple[str, ...] = ()
    test_size: float = 0.2
    val_size: float = 0.2
    options: PrepareOptions = field(default_factory=PrepareOptions)

    @property
    def target_names(self) -> list[str]:
        return list(self.tasks)

    @property
    def rows(self) -> dict[str, int]:
        """Rows per split (as ``StreamedData.rows`` counts a streamed table's)."""
        return {s: len(getattr(self, f"X_{s}")) for s in SPLITS}

    def split(self, name: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """(X, y) of "train", "val" or "test"."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {name!r}")
        return getattr(self, f"X_{name}"), getattr(self, f"y_{name}")

    def groups_with_features(self) -> dict[str, list[str]]:
        """{group: model input columns}: the user's groups, then one group per other
        source column. Groups none of whose columns reach the model are left out."""
        out = {}
        for group, columns in self.schema.groups_or_columns().items():
            features = [f for f in self.feature_names if self.feature_sources[f] in columns]
            if features:
                out[group] = features
        return out

    def features_for(self, inputs) -> list[int]:
        """Positions of the model input columns fed by `inputs`: "all", or a list of
        group names, source columns and/or model input column names."""
        if isinstance(inputs, str) and inputs == "all":
            return list(range(len(self.feature_names)))
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        groups = self.schema.groups_or_columns()
        wanted: set[str] = set()
        for name in inputs:
            if name in groups:  # a group, or a source column (its own group)
                wanted.update(f for f, s in self.feature_sources.items() if s in groups[name])
            elif name in self.feature_sources:  # one model input column
                wanted.add(name)
            else:
                raise SpecError(self._not_an_input(name, groups))
        return [i for i, f in enumerate(self.feature_names) if f in wanted]

    def _not_an_input(self, name: str, groups) -> str:
        if name in self.schema.names:
            info = self.schema.column(name)
            return (
                f"Branch input '{name}' is not fed to the model (its role is "
                f"{info.role.value}: {info.reason}). Give it a feature role or drop it "
                "from the branch."
            )
        shown = ", ".join(list(groups)[:12])
        return (
            f"Branch input '{name}' is neither a group nor a column. Choose from: "
            f'{shown}{", ..." if len(groups) > 12 else ""} (or "all").'
        )

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """New rows through the fitted preprocessing (unseen categories are handled)."""
        needed = self.schema.feature_columns
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise DataError(
                f"The new rows lack columns the model needs: {', '.join(missing[:8])}. "
                "Add them (empty values are fine)."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self.transformer.transform(df[needed]).astype(np.float32)

    # --- files ---------------------------------------------------------------------

    def without_rows(self) -> PreparedData:
        """The fitted preprocessing and its names without the rows of any split (what
        scoring new rows needs; small enough to ship with a model)."""
        empty = {s: getattr(self, f"X_{s}").iloc[:0] for s in SPLITS}
        targets = {s: {t: v[:0] for t, v in getattr(self, f"y_{s}").items()} for s in SPLITS}
        return replace(
            self,
            **{f"X_{s}": empty[s] for s in SPLITS},
            **{f"y_{s}": targets[s] for s in SPLITS},
            row_index={s: self.row_index[s][:0] for s in SPLITS},
        )

    def save(self, directory, *, portable: bool = False) -> None:
        """Write prepared.json, arrays.npz and the fitted transformer into `directory`:
        transformer.joblib, or with `portable` transformer.skops (`save_transformer`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        targets = self.target_names
        arrays = {}
        for s in SPLITS:
            X, y = self.split(s)
            arrays[f"X_{s}"] = X.to_numpy(dtype=np.float32)
            arrays[f"index_{s}"] = _plain(self.row_index[s])
            for i, name in enumerate(targets):
                arrays[f"y_{s}_{i}"] = y[name]
        meta = {
            "format": FORMAT,
            "versions": {"scikit-learn": sklearn.__version__, "pandas": pd.__version__},
            "schema": self.schema.to_dict(),
            "feature_names": self.feature_names,
            "feature_sources": self.feature_sources,
            "categorical_features": self.categorical_features,
            "targets": targets,
            "tasks": self.tasks,
            "classes": self.classes,
            "target_stats": {k: list(v) for k, v in self.target_stats.items()},
            "seed": self.seed,
            "data_hash": self.data_hash,
            "notes": list(self.notes),
            "test_size": self.test_size,
            "val_size": self.val_size,
            "options": self.options.to_dict(),
        }
        write_stream(directory / ARRAYS_FILE, lambda f: np.savez(f, **arrays))
        if portable:
            save_transformer(self.transformer, directory / SKOPS_FILE)
        else:
            write_stream(directory / TRANSFORMER_FILE, lambda f: joblib.dump(self.transformer, f))
        write_stream(directory / META_FILE, lambda f: f.write(json.dumps(meta, indent=1).encode()))

    @classmethod
    def load(cls, directory) -> PreparedData:
        """Read what `save` wrote (a run's own files; never a user's upload)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / META_FILE).read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {FORMAT}")
            with np.load(directory / ARRAYS_FILE, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            if (directory / SKOPS_FILE).is_file():
                transformer = load_transformer(directory / SKOPS_FILE)
            else:
                transformer = joblib.load(directory / TRANSFORMER_FILE)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise RunError(
                f"The prepared data in '{directory}' is missing or damaged ({exc}). "
                "Train the run again to rebuild it."
            ) from None
        names, targets = meta["feature_names"], meta["targets"]
        X, y, index = {}, {}, {}
        for s in SPLITS:
            index[s] = arrays[f"index_{s}"]
            X[s] = pd.DataFrame(arrays[f"X_{s}"], columns=names, index=index[s])
            y[s] = {t: arrays[f"y_{s}_{i}"] for i, t in enumerate(targets)}
        return cls(
            schema=Schema.from_dict(meta["schema"]),
            X_train=X["train"],
            X_val=X["val"],
            X_test=X["test"],
            y_train=y["train"],
            y_val=y["val"],
            y_test=y["test"],
            feature_names=names,
            feature_sources=meta["feature_sources"],
            categorical_features=meta["categorical_features"],
            tasks=meta["tasks"],
            classes=meta["classes"],
            target_stats={k: tuple(v) for k, v in meta["target_stats"].items()},
            transformer=transformer,
            row_index=index,
            seed=meta["seed"],
            data_hash=meta["data_hash"],
            notes=tuple(meta["notes"]),
            test_size=meta["test_size"],
            val_size=meta["val_size"],
            options=PrepareOptions.from_dict(meta.get("options")),  # absent: made before them
        )


def save_transformer(transformer, path) -> None:
    """The fitted ColumnTransformer in skops' format, written atomically: a file that
    `load_transformer` reads back without running code."""
    import skops.io

    write_stream(Path(path), lambda f: f.write(skops.io.dumps(transformer)))


def load_transformer(path):
    """What `save_transformer` wrote. Only scikit-learn's types and those named in
    `SKOPS_TRUSTED_PREFIXES` are rebuilt; a file asking for anything else is refused."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [t for t in untrusted if not t.startswith(SKOPS_TRUSTED_PREFIXES)]
    if refused:
        raise ValueError(f"{Path(path).name} asks for types sattn-dash does not trust: {refused}")
    return skops.io.load(path, trusted=untrusted)


def _plain(index: np.ndarray) -> np.ndarray:
    """Row labels that NumPy can store without pickling (text when they are objects)."""
    return index.astype(str) if index.dtype == object else index
