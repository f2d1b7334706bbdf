"""`PreparedData`: model-ready splits plus everything needed to explain and reuse them.

It knows which model input column comes from which source column and group, so a
branch can be fed a subset (`features_for`) and charts can label importances. It saves
to a run directory as JSON + NumPy arrays + the fitted transformer in skops' format,
which builds only the types it is told to trust and runs no code when loaded: whoever
can write to the workspace cannot make the server run theirs. ``save_transformer`` and
``load_transformer`` are the one way the fitted transformer is written and read. Runs
saved before 2026-12-07 hold a joblib pickle instead: it is read once by an unpickler
that builds only scikit-learn's, NumPy's and this package's preprocessing types (a note
says so), then stored again in skops' format beside it.
"""

from __future__ import annotations

import json
import logging
import warnings
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

from sattn_dash.errors import DataError, RunError, SpecError
from sattn_dash.files import write_stream
from sattn_dash.tabular.options import PrepareOptions
from sattn_dash.tabular.schema import Schema

SPLITS = ("train", "val", "test")
FORMAT = 1
META_FILE, ARRAYS_FILE, TRANSFORMER_FILE = "prepared.json", "arrays.npz", "transformer.skops"
LEGACY_TRANSFORMER_FILE = "transformer.joblib"  # a pickle: runs saved before 2026-12-07
#: Types beyond scikit-learn's own that a stored transformer may hold: our transformers
#: and functions (tabular.transform, tabular.coerce) and NumPy's dtype, arrays and
#: scalar types.
SKOPS_TRUSTED_PREFIXES = ("sattn_dash.tabular.", "numpy.dtype", "numpy.ndarray")
log = logging.getLogger(__name__)


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

    def save(self, directory) -> None:
        """Write prepared.json, arrays.npz and transformer.skops (`save_transformer`)
        into `directory`."""
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
        save_transformer(self.transformer, directory / TRANSFORMER_FILE)
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
            transformer = load_transformer(directory / TRANSFORMER_FILE)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise RunError(
                f"The prepared data in '{directory}' is missing or damaged ({exc}). "
                "Delete the run, or train it again to rebuild it; every other run is "
                "unaffected."
            ) from None
        names, targets = meta["feature_names"], meta["targets"]
        X, y, index = {}, {}, {}
        for s in SPLITS:
            index[s] = arrays[f"index_{s}"]
            X[s] = pd.DataFrame(arrays[f"X_{s}"], columns=names, index=index[s])
            y[s] = {t: arrays[f"y_{s}_{i}"] for i, t in enumerate(targets)}
        return cls(
            schema=Schema.from_dict(meta["schema"]),
            **{f"X_{s}": X[s] for s in SPLITS},
            **{f"y_{s}": y[s] for s in SPLITS},
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


def _plain(index: np.ndarray) -> np.ndarray:
    """Row labels that NumPy can store without pickling (text when they are objects)."""
    return index.astype(str) if index.dtype == object else index


# --- the fitted transformer on disk ---------------------------------------------------------
def _trusted(name: str) -> bool:
    """Whether a type skops names (beyond scikit-learn's own) may be rebuilt."""
    if name.startswith(SKOPS_TRUSTED_PREFIXES):
        return True
    module, _, attr = name.rpartition(".")
    if module.split(".")[0] == "numpy":  # a scalar type such as numpy.float32
        return isinstance(getattr(np, attr, None), type) and issubclass(
            getattr(np, attr), np.generic
        )
    return False


def save_transformer(transformer, path) -> None:
    """The fitted ColumnTransformer in skops' format, written atomically: a file that
    `load_transformer` reads back without running code (runs and exported models)."""
    import skops.io

    write_stream(Path(path), lambda f: f.write(skops.io.dumps(transformer)))


def load_transformer(path):
    """What `save_transformer` wrote. Only scikit-learn's types and those `_trusted`
    names are rebuilt; a file asking for anything else is a `RunError` naming it. Where
    an older run has `transformer.joblib` instead, that is read once with only
    preprocessing types allowed and stored again as skops."""
    import skops.io

    path = Path(path)
    legacy = path.with_name(LEGACY_TRANSFORMER_FILE)
    if not path.exists() and legacy.exists():
        return _load_legacy(legacy, path)
    data = path.read_bytes()
    try:
        found = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # not a skops file at all (cut short, overwritten)
        raise ValueError(f"{path.name} is not a readable skops file ({exc})") from None
    foreign = [name for name in found if not _trusted(name)]
    if foreign:
        raise RunError(
            f"{path} holds {', '.join(foreign[:3])}, which is no preprocessing sattn-dash "
            "writes, so it was not loaded. Someone changed the file: delete the run it "
            "belongs to (`sattn-dash delete`), or train it again."
        )
    try:
        return skops.io.loads(data, trusted=found)
    except Exception as exc:
        raise ValueError(f"{path.name} could not be read ({type(exc).__name__}: {exc})") from None


def _load_legacy(legacy: Path, path: Path):
    transformer = _restricted_unpickle(legacy)
    try:
        save_transformer(transformer, path)
        legacy.unlink()
        done = f"stored again as {path.name}; this note will not come back"
    except OSError as exc:  # a read-only workspace: read the old file each time
        done = f"it could not be stored again ({exc.strerror})"
    log.warning(
        "Run %s kept its preprocessing as a pickle (%s, written before 2026-12-07); it was "
        "read allowing only preprocessing types and %s.",
        legacy.parents[1].name,
        legacy,
        done,
    )
    return transformer


def _restricted_unpickle(path: Path):
    """Unpickle a joblib file building only scikit-learn classes, this package's
    preprocessing and NumPy's arrays: a pickle naming any other callable is refused."""
    from joblib.numpy_pickle import NumpyUnpickler

    class Restricted(NumpyUnpickler):
        def find_class(self, module: str, name: str):
            found = super().find_class(module, name)
            root = module.split(".")[0]
            allowed = (
                (root == "sklearn" and isinstance(found, type))
                or (module.startswith("sattn_dash.tabular.") or root == "numpy")
                and _trusted(f"{module}.{name}")
                or (root == "numpy" and _trusted(f"numpy.{name}"))
                or (root == "numpy" and name in ("_reconstruct", "scalar"))
                or (module == "joblib.numpy_pickle" and name == "NumpyArrayWrapper")
                or (module == "builtins" and name in ("slice", "set", "frozenset"))
            )
            if not allowed:
                raise RunError(
                    f"{path} asks to run {module}.{name}, which is no preprocessing "
                    "sattn-dash writes, so it was not loaded. Someone changed the file: "
                    f"delete the run (`sattn-dash delete {path.parents[1].name}`) or train "
                    "it again."
                )
            return found

    with open(path, "rb") as handle:
        try:
            return Restricted(str(path), handle, ensure_native_byte_order=True).load()
        except (RunError, OSError):
            raise
        except Exception as exc:  # cut short or garbled
            raise ValueError(f"{path.name} is not a readable pickle ({exc})") from None
