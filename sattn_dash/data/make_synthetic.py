"""Generate sattn_dash/data/synthetic_groups.csv: a churn table whose signal lives in ONE group.

Four groups of three columns each, all drawn independently of one another:

    usage    minutes_per_day, support_calls, plan      <- the only group the target uses
    billing  monthly_charge, payment_method, late_payments
    profile  age, region, tenure_months
    device   screen_hours, os, app_version

The target `churned` (0/1) is drawn from the usage columns alone:

    z      = (log(minutes_per_day) - 3.5) / 0.5          # standard normal by construction
    logit  = -0.3 - 1.5 * z + 0.9 * (support_calls - 1.5) + {basic: 0.9, plus: 0, pro: -0.9}[plan]
    churned ~ Bernoulli(1 / (1 + exp(-logit)))

So module (branch) importance has a known right answer: a branch fed the usage group
should win; the other three carry no information about `churned` (their best possible
AUC is 0.5). `age` has 2% of values missing completely at random, so imputation is
exercised without adding signal. Running this script prints the Bayes AUC (the AUC of
the true probabilities), the ceiling any model can reach.

    .venv/bin/python sattn_dash/data/make_synthetic.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

ROWS = 4000
SEED = 7
PLAN_EFFECT = {"basic": 0.9, "plus": 0.0, "pro": -0.9}


def make(rows: int = ROWS, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray]:
    """The table and the true churn probability of each row."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(rows)
    plan = rng.choice(list(PLAN_EFFECT), size=rows, p=[0.5, 0.3, 0.2])
    calls = rng.poisson(1.5, rows)
    logit = -0.3 - 1.5 * z + 0.9 * (calls - 1.5) + np.vectorize(PLAN_EFFECT.get)(plan)
    probability = 1 / (1 + np.exp(-logit))
    age = rng.integers(18, 81, rows).astype(float)
    age[rng.random(rows) < 0.02] = np.nan
    df = pd.DataFrame(
        {
            "minutes_per_day": np.round(np.exp(3.5 + 0.5 * z), 1),
            "support_calls": calls,
            "plan": plan,
            "monthly_charge": np.round(rng.normal(60, 15, rows), 2),
            "payment_method": rng.choice(["card", "bank", "invoice", "voucher"], rows),
            "late_payments": rng.poisson(0.6, rows),
            "age": age,
            "region": rng.choice(["north", "south", "east", "west", "central"], rows),
            "tenure_months": rng.integers(1, 121, rows),
            "screen_hours": np.round(rng.gamma(2.0, 1.5, rows), 2),
            "os": rng.choice(["android", "ios", "other"], rows, p=[0.55, 0.4, 0.05]),
            "app_version": rng.choice([3.1, 3.2, 4.0, 4.1], rows),
            "churned": (rng.random(rows) < probability).astype(int),
        }
    )
    return df, probability


if __name__ == "__main__":
    table, truth = make()
    table.to_csv(Path(__file__).resolve().parent / "synthetic_groups.csv", index=False)
    print(
        f"{len(table)} rows, churn rate {table.churned.mean():.3f}, "
        f"Bayes AUC {roc_auc_score(table.churned, truth):.3f}"
    )
