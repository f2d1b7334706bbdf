"""``export_script``: a run (or an architecture) as a runnable Python training script.

The script embeds the spec, the schema (roles, targets, groups, the user's overrides) and
the training settings as JSON, and trains with sattn-dash's own ``prepare`` and
``build_model`` through a ``TrainingSession``, exactly as the app and the CLI do. There is
no hand-kept copy of the preprocessing or the layers to drift: a new block kind or
preprocessing option reaches the script by itself. It needs the published packages plus
``sattn_dash`` installed as a package; without it, it says so (``--help`` still works).
"""

from __future__ import annotations

import json
from pathlib import Path

from sattn_dash.files import json_safe
from sattn_dash.modeling.spec import ModelSpec

_TEMPLATE = '''#!/usr/bin/env python
"""Train {title!r} again with sattn-dash, on the same kind of table.

    python {script_name} {data_file} [--epochs N] [--seed N] [--workspace FOLDER]

The architecture, the column roles and targets, and the training settings the run used
are embedded below as JSON; sattn-dash's own preprocessing and model build train from
them, so this trains what the app trained. Needs the sattn_dash package (and the
packages it pins): pip install sattn-dash, or pip install a copy of its source.
The run is written to FOLDER/runs/<run id>/ (model.keras, metrics.json, ...).
"""

import argparse
import json
import sys
import time

SPEC = json.loads(r"""{spec}""")
SCHEMA = json.loads(r"""{schema}""")
CONFIG = json.loads(r"""{config}""")
DATA_FILE = {data_file!r}
TITLE = {title!r}


def arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default=DATA_FILE, help="the table (CSV, Excel, ...)")
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    parser.add_argument("--workspace", default="sattn-runs", help="where the run is written")
    return parser.parse_args(argv)


def main(argv=None):
    args = arguments(argv)
    try:
        import sattn_dash  # noqa: F401  (its layers register with Keras)
    except ModuleNotFoundError:
        print(
            "This script trains with the sattn_dash package, which is not installed for "
            + sys.executable
            + ". Install it (pip install sattn-dash, or pip install /path/to/sattn-dash "
            "from its source) and run the script again.",
            file=sys.stderr,
        )
        return 2
    from sattn_dash.errors import UserError
    from sattn_dash.modeling import ModelSpec
    from sattn_dash.tabular import Schema, read_table
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    try:
        config = TrainingConfig.from_dict({{**CONFIG, "epochs": args.epochs, "seed": args.seed}})
        table = read_table(args.data)
        session = TrainingSession(
            table,
            Schema.from_dict(SCHEMA),
            ModelSpec.from_dict(SPEC),
            config,
            RunStore(args.workspace),
            title=TITLE,
        )
    except UserError as error:
        print(f"error: {{error}}", file=sys.stderr)
        return 2
    session.start()
    shown = 0
    try:
        while True:  # one line per epoch, also for epochs that ended between two looks
            status = session.wait(1.0)
            for epoch in range(shown + 1, status.epochs_run + 1):
                print(f"epoch {{epoch}}/{{status.epochs}}", file=sys.stderr)
            shown = max(shown, status.epochs_run)
            if status.done:
                break
    except KeyboardInterrupt:
        session.stop()
        status = session.wait()
    if status.state == "failed":
        print(f"error: {{status.error}}", file=sys.stderr)
        return 2 if status.error_kind == "user" else 1
    run = session.store.load(session.run_id)
    summary = {{"run": str(run.path.resolve()), "state": status.state, "test_metrics": run.metrics}}
    print(json.dumps(summary, default=str))
    return 0 if status.state == "finished" else 130


if __name__ == "__main__":
    sys.exit(main())
'''


def export_script(
    spec: ModelSpec,
    schema,
    config,
    *,
    data_file: str | Path = "data.csv",
    title: str | None = None,
    script_name: str = "train_model.py",
) -> str:
    """The training script for ``spec`` on tables shaped like ``schema`` (a ``Schema``),
    with ``config`` (a ``TrainingConfig``: anything with ``to_dict()``; the caller passes
    it, so modeling need not know the training defaults). ``data_file`` is the table it
    reads when none is given on its command line."""
    return _TEMPLATE.format(
        title=title or spec.name,
        script_name=script_name,
        data_file=str(data_file),
        spec=_json(spec.to_dict()),
        schema=_json(schema.to_dict()),
        config=_json(config.to_dict()),
    )


def _json(value) -> str:
    """Plain-ASCII JSON: JSON never holds three quotes in a row, so it sits safely in
    the script's raw triple-quoted strings."""
    return json.dumps(json_safe(value), indent=1, ensure_ascii=True)
