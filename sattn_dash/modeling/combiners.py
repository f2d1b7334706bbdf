"""The combiner kinds: how the modules (branch outputs) become one vector.

One base class and a subclass per kind, as Keras' ``Merge`` base is for merges. A
subclass owns every fact about its kind: id, name and description, the spec options it
reads and their checks, those a search tunes, its Keras layer, and what can be read from
it (a weight per module, a routing per row). Everything else asks ``combiner(kind)``.
To add one: subclass ``Combiner`` and list it in ``COMBINERS``; a new option also needs
a field on ``CombinerSpec`` below and a widget in the spec editor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from sattn_dash.errors import SpecError
from sattn_dash.layers.options import NORMALIZERS, PENALTIES
from sattn_dash.modeling.checks import known_fields, number, one_of, positive_int

__all__ = [
    "COMBINERS",
    "Combiner",
    "CombinerSpec",
    "combiner",
    "combiner_kinds",
    "kinds_text",
    "kinds_with",
]


class Combiner:
    """One combiner kind. Subclasses set the class facts and implement ``combine``."""

    kind: ClassVar[str]
    #: what the user reads: a short name and one line on what it does
    title: ClassVar[str]
    description: ClassVar[str]
    #: the ``CombinerSpec`` fields this kind reads, and those a search space tunes
    options: ClassVar[tuple[str, ...]] = ()
    searched: ClassVar[tuple[str, ...]] = ()
    #: what its module importance is (None: it weighs no module)
    importance: ClassVar[str | None] = None
    #: one learned weight per module, the same for every row (a temperature to try)
    has_module_weights: ClassVar[bool] = False
    #: a query from the input features routes each row to some modules (token attention)
    has_routing: ClassVar[bool] = False
    #: the combined vector is a (weighted) mean of the modules when none is projected,
    #: so ensemble members can share the target's head
    averages_modules: ClassVar[bool] = False

    def validate(self, c: CombinerSpec, path: str, n_modules: int) -> None:
        """Raise ``SpecError`` naming the first option of ``c`` this kind cannot use."""
        if "project_to" in self.options and c.project_to is not None:
            positive_int(f"{path}.project_to", c.project_to)

    def limit(self, options: dict[str, Any], n_modules: int) -> dict[str, Any]:
        """Searched ``options`` made valid for ``n_modules`` modules."""
        return options

    def label(self, c: CombinerSpec, n_modules: int) -> str:
        """The combiner's node in the architecture diagram."""
        return self.title

    def combine(
        self,
        c: CombinerSpec,
        modules: list,
        name: str,
        query: Callable[[], Any],
        branches: list,
    ):
        """The combined tensor from the modules, ``[(module name, tensor), ...]``. Its
        layer is named ``name``; ``query()`` gives the input features (categorical codes
        embedded) to route by; ``branches`` the ``BranchSpec`` of each module."""
        raise NotImplementedError


def _tensors(modules: list, c: CombinerSpec) -> tuple[list, list[int], int]:
    """The modules' tensors, their widths and the width they are projected to."""
    tensors = [t for _, t in modules]
    widths = [int(t.shape[-1]) for t in tensors]
    return tensors, widths, c.project_to or max(widths)


class SparseAttention(Combiner):
    """SparseAttentionWeighting: one learned weight per module (``temperature``,
    ``normalizer``, ``project_to`` (default: project when module widths differ),
    ``penalty``/``penalty_weight``; ``branch_dropout``: while training each branch is
    left out of that share of the rows; ``all_columns_dropout``: the same for the
    branches that read every column only, so the groups must carry the signal together
    on those rows; ``all_columns_price``: what the combiner pays per unit of weight on
    branches that read every column, as a share of the model's loss
    (``training.prices``), so an all-columns branch keeps weight only where the model
    needs columns of different groups together)."""

    kind = "sparse_attention"
    title = "Sparse attention weighting"
    description = (
        "One learned weight per branch, normalised into module probabilities that sum to "
        "1: the same mix for every sample. Reads directly as branch importance."
    )
    options = (
        "temperature",
        "normalizer",
        "project_to",
        "penalty",
        "penalty_weight",
        "branch_dropout",
        "all_columns_dropout",
        "all_columns_price",
    )
    searched = ("temperature", "normalizer")
    importance = "module probability"
    has_module_weights = True
    averages_modules = True

    def validate(self, c, path, n_modules):
        super().validate(c, path, n_modules)
        number(f"{path}.temperature", c.temperature, low=0.0, low_open=True)
        one_of(f"{path}.normalizer", c.normalizer, NORMALIZERS, "normalizer")
        if c.penalty is not None:
            one_of(f"{path}.penalty", c.penalty, PENALTIES, "penalty")
        number(f"{path}.penalty_weight", c.penalty_weight, low=0.0, low_open=False)
        number(f"{path}.branch_dropout", c.branch_dropout, low=0.0, low_open=False, high=1.0)
        number(
            f"{path}.all_columns_dropout", c.all_columns_dropout, low=0.0, low_open=False, high=1.0
        )
        number(f"{path}.all_columns_price", c.all_columns_price, low=0.0, low_open=False)

    def label(self, c, n_modules):
        extra = f"\nproject to {c.project_to}" if c.project_to else ""
        penalty = f"\npenalty {c.penalty} × {c.penalty_weight:g}" if c.penalty else ""
        return f"SparseAttentionWeighting\nT={c.temperature:g}, {c.normalizer}{extra}{penalty}"

    def combine(self, c, modules, name, query, branches):
        from sattn_dash.layers import SparseAttentionWeighting

        tensors, widths, common = _tensors(modules, c)
        order = {b: i for i, b in enumerate(dict.fromkeys(branches))}
        every = [b.inputs == "all" for b in branches]  # branches that read every column
        dropout = [max(c.branch_dropout, c.all_columns_dropout * e) for e in every]
        return SparseAttentionWeighting(
            num_modules=len(modules),
            temperature=c.temperature,
            normalizer=c.normalizer,
            project_to=c.project_to or (common if len(set(widths)) > 1 else None),
            penalty=c.penalty,
            penalty_weight=c.penalty_weight,
            module_dropout=dropout if any(dropout) else 0.0,
            dropout_groups=[order[b] for b in branches] if any(dropout) else None,
            module_prices=[c.all_columns_price * e for e in every] if c.all_columns_price else None,
            initial_shares=[1 / branches.count(b) for b in branches],
            name=name,
        )(tensors)


class SparseDense(Combiner):
    """Each module output is projected to ``project_to`` (default: the widest module) and
    becomes a token; a query from the input features picks each sample's ``top_k``
    modules with SparseDenseMultiHeadAttention (``num_heads``, ``key_dim``), with noisy
    gating while training and a Switch-Transformer load-balancing loss of weight
    ``load_balance_weight``."""

    kind = "sparse_dense"
    title = "Sparse-dense routing"
    description = (
        "Routing: for each sample a query scores every branch and only the top-k "
        "branches are mixed. Different samples can use different branches."
    )
    options = ("top_k", "num_heads", "key_dim", "load_balance_weight", "noisy_gating", "project_to")
    searched = ("top_k",)
    importance = "mean routing weight (validation rows)"
    has_routing = True

    def validate(self, c, path, n_modules):
        super().validate(c, path, n_modules)
        positive_int(f"{path}.top_k", c.top_k)
        if c.top_k > n_modules:
            raise SpecError(
                f"{path}.top_k: {c.top_k} is more than the {n_modules} modules (branches and "
                f"ensemble members); choose a top_k between 1 and {n_modules}."
            )
        positive_int(f"{path}.num_heads", c.num_heads)
        positive_int(f"{path}.key_dim", c.key_dim)
        number(f"{path}.load_balance_weight", c.load_balance_weight, low=0.0, low_open=False)
        if not isinstance(c.noisy_gating, bool):
            raise SpecError(f"{path}.noisy_gating: expected true or false, got {c.noisy_gating!r}.")

    def limit(self, options, n_modules):
        # Asked for in the space's range, used as at most the trial's branch count.
        return {**options, "top_k": min(options["top_k"], n_modules)}

    def label(self, c, n_modules):
        noise = ", noisy gating" if c.noisy_gating else ""
        return (
            f"{self.title}\ntop-{c.top_k} of {n_modules} modules, "
            f"{c.num_heads} heads{noise}\nload balance × {c.load_balance_weight:g}"
        )

    def combine(self, c, modules, name, query, branches):
        from sattn_dash.modeling.keras_layers import BranchRouter

        tensors, _, common = _tensors(modules, c)
        router = BranchRouter(
            num_branches=len(modules),
            top_k=c.top_k,
            num_heads=c.num_heads,
            key_dim=c.key_dim,
            token_dim=common,
            noisy_gating=c.noisy_gating,
            load_balance_weight=c.load_balance_weight,
            name=name,
        )
        combined, _, _ = router([query(), *tensors], return_routing=True)
        return combined


class Mean(Combiner):
    """The average, projected to ``project_to`` (or the widest module) when widths differ."""

    kind = "mean"
    title = "Average"
    description = "Average all branch outputs (a plain baseline: no weights to read)."
    options = ("project_to",)
    averages_modules = True

    def combine(self, c, modules, name, query, branches):
        import keras

        # Projected to a common width first when the branches differ.
        tensors, widths, common = _tensors(modules, c)
        if c.project_to or len(set(widths)) > 1:
            tensors = [
                keras.layers.Dense(common, name=f"{name}_project_{m}")(t) for m, t in modules
            ]
        if len(tensors) == 1:
            return keras.layers.Identity(name=name)(tensors[0])
        return keras.layers.Average(name=name)(tensors)


class Concat(Combiner):
    """The concatenation (``project_to`` is not read)."""

    kind = "concat"
    title = "Concatenate"
    description = "Concatenate all branch outputs (a plain baseline: no weights to read)."

    def combine(self, c, modules, name, query, branches):
        import keras

        tensors = _tensors(modules, c)[0]
        if len(tensors) == 1:
            return keras.layers.Identity(name=name)(tensors[0])
        return keras.layers.Concatenate(name=name)(tensors)


# The order users see them in (and a search space tries them in).
COMBINERS: dict[str, Combiner] = {k.kind: k() for k in (SparseAttention, SparseDense, Mean, Concat)}


def combiner_kinds() -> tuple[str, ...]:
    """Every combiner kind's id, in the order users see them."""
    return tuple(COMBINERS)


def combiner(kind: str) -> Combiner:
    """The combiner of ``kind``; ``SpecError`` for a kind there is none of."""
    try:
        return COMBINERS[kind]
    except (KeyError, TypeError):
        one_of("combiner.kind", kind, combiner_kinds(), "combiner kind")
        raise


def kinds_with(fact: str) -> tuple[str, ...]:
    """The kinds for which ``fact`` (``has_routing``, ``importance``, ...) holds."""
    return tuple(k for k, c in COMBINERS.items() if getattr(c, fact))


def kinds_text(fact: str) -> str:
    """Those kinds for a message: ``'sparse_attention' or 'sparse_dense'``."""
    return " or ".join(repr(k) for k in kinds_with(fact))


@dataclass(frozen=True)
class CombinerSpec:
    """How the modules become one vector: a ``kind`` of ``COMBINERS`` and every kind's
    options with their defaults. A kind reads the options its class lists; the others
    keep their defaults, so a saved spec loads whatever its kind."""

    kind: str = SparseAttention.kind
    temperature: float = 1.0
    normalizer: str = "softmax"
    project_to: int | None = None
    penalty: str | None = None
    penalty_weight: float = 0.01
    branch_dropout: float = 0.0
    all_columns_dropout: float = 0.0
    all_columns_price: float = 0.0
    top_k: int = 2
    num_heads: int = 2
    key_dim: int = 16
    load_balance_weight: float = 0.01
    noisy_gating: bool = True

    def validate(self, path: str, n_branches: int) -> None:
        one_of(f"{path}.kind", self.kind, combiner_kinds(), "combiner kind")
        combiner(self.kind).validate(self, path, n_branches)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict, path: str = "combiner") -> CombinerSpec:
        return cls(**known_fields(cls, data, path))
