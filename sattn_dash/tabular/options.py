"""The feature-encoding choices of ``prepare``, kept free of scikit-learn so a config
can be checked (and a page drawn) without importing it."""

from __future__ import annotations

from dataclasses import dataclass

from sattn_dash.errors import DataError

SCALINGS = ("standard", "robust", "quantile")
MANY_LEVELS = ("codes", "one_hot")


@dataclass(frozen=True)
class PrepareOptions:
    """How `prepare` encodes features; fitted on the training split only.

    ``scaling`` of numeric columns (see `tabular.transform`), ``clip`` the bound on
    scaled values (None: no clipping), ``many_levels`` how categoricals with more than
    `ONE_HOT_MAX` values are encoded (``codes`` for a learned embedding, or
    ``one_hot``). The defaults are what sattn-dash did before these options existed,
    so a run saved without them reads as it was made.
    """

    scaling: str = "standard"
    clip: float | None = None
    many_levels: str = "codes"

    def __post_init__(self):
        if self.scaling not in SCALINGS:
            raise DataError(f"scaling must be one of {', '.join(SCALINGS)}, got {self.scaling!r}.")
        if self.many_levels not in MANY_LEVELS:
            raise DataError(
                f"many_levels must be one of {', '.join(MANY_LEVELS)}, got {self.many_levels!r}."
            )
        if self.clip is not None and not (
            isinstance(self.clip, int | float) and not isinstance(self.clip, bool) and self.clip > 0
        ):
            raise DataError(f"clip must be a positive number or empty, got {self.clip!r}.")

    def to_dict(self) -> dict:
        return {"scaling": self.scaling, "clip": self.clip, "many_levels": self.many_levels}

    @classmethod
    def from_dict(cls, data: dict | None) -> PrepareOptions:
        known = {"scaling", "clip", "many_levels"}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})
