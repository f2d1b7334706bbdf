"""A run to share: one self-contained HTML file (``sattn-dash report``, the Runs page).

The data in brief, the architecture (a drawing of the spec and its parameter count),
the training curves, the test metrics beside the baselines, the module importance with
its evidence (attention, ablation, permutation) and the faithfulness verdict, column
importance, and calibration (reliability for classes, conformal intervals for numbers).
Charts are the dashboard's altair charts; Vega, Vega-Lite and vega-embed are written
into the file (vl-convert's bundle), so it opens offline and nothing leaves it.

Each part is computed by the analysis function the dashboard uses; a part that does
not apply (no attention combiner, no validation rows) says why in its place.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sattn_dash.errors import UserError
from sattn_dash.files import write_text

if TYPE_CHECKING:
    import altair as alt

    from sattn_dash.training.run import Run

__all__ = ["report_html", "write_report"]


def write_report(run: Run, out, *, retrain: bool = False) -> Path:
    """`report_html(run)` written to `out` (aside, then renamed into place)."""
    out = Path(out)
    if not out.parent.is_dir():
        from sattn_dash.errors import DataError

        raise DataError(f"The folder '{out.parent}' does not exist. Create it first.")
    write_text(out, report_html(run, retrain=retrain))
    return out


def report_html(run: Run, *, retrain: bool = False) -> str:
    """The whole report as one HTML document. `retrain` adds the two baselines that
    train a model again (best branch alone, mean combiner): slower."""
    report = _Report(run)
    report.section("The data in brief", _data_in_brief)
    report.section("Architecture", _architecture)
    report.section("Training curves", _curves)
    report.section("Test metrics and baselines", lambda r: _metrics(r, retrain))
    report.section("Which branches matter", _modules)
    report.section("Which columns matter", _columns)
    report.section("How far to trust the predictions", _calibration)
    return report.document()


# --- the document --------------------------------------------------------------------


class _Report:
    def __init__(self, run: Run):
        self.run = run
        self.parts: list[str] = []
        self.charts: list[dict] = []

    def section(self, title: str, make: Callable[[_Report], list[str]]) -> None:
        try:
            body = make(self)
        except UserError as exc:
            body = [_note(str(exc))]
        self.parts.append(f"<section><h2>{_e(title)}</h2>{''.join(body)}</section>")

    def chart(self, chart: alt.TopLevelMixin, caption: str = "") -> str:
        """A placeholder for `chart`; its spec is rendered by vega-embed on load."""
        self.charts.append(chart.to_dict())
        index = len(self.charts) - 1
        text = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
        return f'<figure><div class="chart" id="chart-{index}"></div>{text}</figure>'

    def document(self) -> str:
        run = self.run
        specs = json.dumps(self.charts, allow_nan=False, default=_plain).replace("</", "<\\/")
        facts = [
            ("Run", run.run_id),
            ("Status", run.status),
            ("Created", run.info.created_at),
            ("Epochs", run.epochs_run),
            ("Training time", f"{run.duration_s:.0f} s" if run.duration_s else "—"),
            ("Targets", ", ".join(f"{t} ({task})" for t, task in run.tasks.items())),
        ]
        header = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
        return _PAGE.format(
            title=_e(run.title),
            header=header,
            body="\n".join(self.parts),
            script=_vega_bundle(),
            specs=specs,
        )


def _data_in_brief(report: _Report) -> list[str]:
    run = report.run
    prepared, schema = run.prepared, run.schema
    rows = dict(prepared.rows)
    if run.stream:
        rows = dict(run.stream.get("rows", rows))
    roles = pd.Series([c.role.value for c in schema.columns]).value_counts()
    facts = pd.DataFrame(
        [
            *[(f"{split} rows", f"{n:,}") for split, n in rows.items()],
            ("columns by role", ", ".join(f"{n} {role}" for role, n in roles.items())),
            ("model inputs", f"{len(prepared.feature_names):,} (after one-hot and indicators)"),
            ("column groups", ", ".join(schema.groups) or "none (one group per column)"),
        ],
        columns=["", "value"],
    )
    targets = pd.DataFrame(
        [
            {
                "target": t.name,
                "task": t.task,
                "classes": ", ".join(
                    f"{c} ({n:,})" for c, n in zip(t.classes, t.class_counts, strict=False)
                )
                or "—",
            }
            for t in schema.targets
        ]
    )
    notes = [_note(n) for n in prepared.notes]
    return [_table(facts), _table(targets), *notes]


def _architecture(report: _Report) -> list[str]:
    from sattn_dash.modeling import parameter_counts

    run = report.run
    spec = run.spec
    counts = parameter_counts(spec, run.prepared)
    total = int(counts["parameters"].iloc[-1])
    return [
        f"<p><b>{_e(spec.name)}</b>: {len(spec.branches)} branch(es), "
        f"{_e(spec.combiner.kind)} combiner, <b>{total:,} parameters</b>.</p>",
        _diagram(spec, run.prepared),
        _table(counts),
    ]


def _diagram(spec, prepared) -> str:
    """The spec drawn in HTML boxes: features, branches side by side, combiner, heads
    (the labels of ``modeling.diagram``, which the Architecture page draws with DOT)."""
    from sattn_dash.modeling.combiners import combiner
    from sattn_dash.modeling.diagram import block_label

    def box(text: str, kind: str) -> str:
        return f'<div class="box {kind}">{_e(text).replace(chr(10), "<br>")}</div>'

    branches = []
    for branch in spec.branches:
        inputs = "all" if branch.inputs == "all" else ", ".join(branch.inputs)
        inputs += f" ({len(branch.feature_positions(prepared))} inputs)"
        blocks = "".join(box(block_label(b), "block") for b in branch.blocks)
        members = f"<small>{branch.members} members</small>" if branch.members else ""
        branches.append(
            f'<div class="branch"><b>branch {_e(branch.name)}</b>'
            f"<small>{_e(inputs)}</small>{blocks}{members}</div>"
        )
    heads = "".join(
        box(f"head {h.target}\n{prepared.tasks.get(h.target, '')}", "head") for h in spec.heads
    )
    arrow = '<div class="arrow">↓</div>'
    return (
        '<div class="diagram">'
        + box(f"features\n{len(prepared.feature_names)} inputs", "features")
        + arrow
        + f'<div class="row">{"".join(branches)}</div>'
        + arrow
        + box(combiner(spec.combiner.kind).label(spec.combiner, len(spec.module_names)), "combiner")
        + arrow
        + f'<div class="row">{heads}</div></div>'
    )


def _curves(report: _Report) -> list[str]:
    from sattn_dash.analysis.reports.tidy import history_long
    from sattn_dash.charts.training import curves

    history = history_long(report.run.history, report.run.targets)  # the page's names
    if history.empty:
        return [_note("The run finished no epoch.")]
    parts = [report.chart(curves(history, "loss"), "Solid: training rows; dashed: validation.")]
    if (history["kind"] == "score").any():
        parts.append(report.chart(curves(history, "score")))
    return parts


def _metrics(report: _Report, retrain: bool) -> list[str]:
    from sattn_dash.analysis.baselines.baselines import leaderboard
    from sattn_dash.analysis.reports.runs import baselines_for_run
    from sattn_dash.analysis.reports.tidy import metrics_long
    from sattn_dash.charts.importance import baselines_leaderboard

    run = report.run
    parts = [_table(metrics_long(run.metrics))]
    baselines = baselines_for_run(run, splits=("test",), retrain=retrain)
    for target in run.targets:
        board = leaderboard(baselines, run, target)
        parts.append(
            report.chart(
                baselines_leaderboard(board).properties(title=f"Leaderboard: {target}"),
                "The same test rows scored by simpler models fitted on the same training rows.",
            )
        )
    return parts


def _modules(report: _Report) -> list[str]:
    from sattn_dash.analysis.modules.agreement import (
        compare_importances,
        faithfulness,
        methods_long,
    )
    from sattn_dash.analysis.reports.runs import (
        ablation_importance_for_run,
        module_importance_for_run,
        permutation_importance_by_for_run,
    )
    from sattn_dash.charts.importance import methods_side_by_side

    run = report.run
    if len(run.spec.branches) < 2:
        return [_note("The model has one branch: there is nothing to weigh it against.")]
    parts = []
    try:
        attention = module_importance_for_run(run)
    except UserError as exc:
        attention = None
        parts.append(_note(str(exc)))
    ablation = ablation_importance_for_run(run, mode="mean")
    permutation = permutation_importance_by_for_run(run, "branch")
    for target in run.targets:
        measures = {
            "ablation": ablation[ablation["target"] == target],
            "permutation": permutation[permutation["target"] == target],
        }
        if attention is not None:
            measures = {"attention": attention, **measures}
        compared = compare_importances(**measures)
        long = methods_long(compared, list(measures))
        parts.append(f"<h3>{_e(target)}</h3>")
        parts.append(
            report.chart(
                methods_side_by_side(long),
                "Attention (what the combiner gives each branch) beside what the model "
                "needs: ablation and permutation on the validation rows.",
            )
        )
        if attention is not None:
            verdict = faithfulness(attention, measures["ablation"]).iloc[0]
            parts.append(f'<p class="verdict"><b>Verdict:</b> {_e(verdict["verdict"])}</p>')
        parts.append(_table(compared))
    return parts


def _columns(report: _Report) -> list[str]:
    from sattn_dash.analysis.reports.runs import permutation_importance_by_for_run
    from sattn_dash.charts.importance import column_bars

    run = report.run
    frame = permutation_importance_by_for_run(run, "column", n_repeats=3)
    parts = []
    for target in run.targets:
        rows = frame[frame["target"] == target]
        parts.append(
            report.chart(
                column_bars(rows, f"Permutation importance of each column: {target}"),
                f"How much {rows['metric'].iloc[0]} worsens when one column is shuffled on "
                "the validation rows (mean of 3 shuffles; the whisker is one standard "
                "deviation).",
            )
        )
    return parts


def _calibration(report: _Report) -> list[str]:
    from sattn_dash.analysis.calibration import calibration
    from sattn_dash.charts.predictions import reliability_diagram, residual_scatter

    run = report.run
    parts = []
    for target, task in run.tasks.items():
        parts.append(f"<h3>{_e(target)}</h3>")
        if task == "regression":
            residual = calibration.residuals_for_run(run, target)
            try:
                intervals = calibration.conformal_for_run(run, target)
            except UserError as exc:
                parts.append(_note(str(exc)))
                intervals = None
            width = float(intervals["half_width"].iloc[0]) if intervals is not None else None
            if intervals is not None:
                parts.append(
                    f"<p>Split-conformal 90% interval: ± {width:.4g}, covering "
                    f"{intervals['covered'].mean():.1%} of the test rows (calibrated on "
                    f"{int(intervals['calibration_rows'].iloc[0]):,} validation rows).</p>"
                )
            parts.append(report.chart(residual_scatter(residual, target, width)))
        else:
            bins = calibration.reliability_for_run(run, target)
            classes = list(run.prepared.classes[target])
            label = (
                f"P({target} = {classes[1]})"
                if len(classes) == 2
                else "probability of the top class"
            )
            parts.append(
                f"<p>Expected calibration error on the test rows: "
                f"{float(bins['ece'].iloc[0]):.3f}.</p>"
            )
            parts.append(
                report.chart(
                    reliability_diagram(bins, label),
                    "Points on the diagonal are calibrated; below it the model is over-confident.",
                )
            )
    return parts


# --- helpers -------------------------------------------------------------------------


def _vega_bundle() -> str:
    """vega, vega-lite and vega-embed in one script (vl-convert's bundle for the
    Vega-Lite version altair writes)."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert()).replace(
        "</script", "<\\/script"
    )


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _table(frame: pd.DataFrame) -> str:
    if frame is None or frame.empty:
        return ""
    return frame.to_html(index=False, border=0, classes="table", float_format=lambda v: f"{v:.4g}")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: sattn-dash run report</title>
<style>
body {{ font-family: "Source Sans Pro", Helvetica, Arial, sans-serif; margin: 2rem auto;
  max-width: 1100px; padding: 0 1rem; color: #212529; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ border-bottom: 1px solid #dee2e6; padding-bottom: .2rem;
  margin-top: 2.2rem; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }}
dt {{ color: #6c757d; }} dd {{ margin: 0; }}
table.table {{ border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }}
table.table th, table.table td {{ padding: .25rem .6rem; border-bottom: 1px solid #e9ecef;
  text-align: left; }}
figure {{ margin: 1rem 0; }} .chart {{ width: 100%; }}
figcaption, .note {{ color: #6c757d; font-size: .9rem; }}
.verdict {{ background: #f1f3f5; padding: .6rem .8rem; border-radius: 6px; }}
.diagram {{ display: flex; flex-direction: column; align-items: center; gap: .3rem;
  margin: 1rem 0; }}
.row {{ display: flex; gap: .8rem; flex-wrap: wrap; justify-content: center; }}
.branch {{ border: 1px solid #90a4ae; border-radius: 8px; padding: .5rem; display: flex;
  flex-direction: column; gap: .3rem; align-items: center; }}
.box {{ border-radius: 6px; padding: .35rem .7rem; background: #f4f6f8; font-size: .85rem;
  text-align: center; }}
.features {{ background: #e3f2fd; }} .combiner {{ background: #fff3e0; }}
.head {{ background: #e8f5e9; }} .arrow {{ color: #555; }}
small {{ color: #6c757d; }}
</style>
<script>{script}</script>
</head>
<body>
<h1>{title}</h1>
<p class="note">A sattn-dash run report. Everything is in this file: it opens offline.</p>
<dl>{header}</dl>
{body}
<script>
const specs = {specs};
specs.forEach((spec, i) => {{
  vegaEmbed("#chart-" + i, spec, {{renderer: "svg", actions: false}})
    .catch((error) => console.error(error));
}});
</script>
</body>
</html>
"""
