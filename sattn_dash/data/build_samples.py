"""Rebuild the real sample tables in sattn_dash/data/ from the packages that ship them.

Nothing is fetched from the internet at run time: scikit-learn bundles the breast
cancer table, and the others come out of three wheels from PyPI, downloaded once:

    pip download --no-deps -d /tmp/wheels \
        palmerpenguins==0.1.6 vega-datasets==0.9.0 plotnine==0.15.9
    .venv/bin/python sattn_dash/data/build_samples.py /tmp/wheels

The wheels are read as zip files (not installed). Sources and licences: sattn_dash/data/README.md.
The synthetic table has its own script, sattn_dash/data/make_synthetic.py.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer

HERE = Path(__file__).resolve().parent


def from_wheel(wheels: Path, package: str, member: str) -> bytes:
    wheel = next(wheels.glob(f"{package}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(member)


def breast_cancer() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    df = bunch.data.rename(columns=lambda c: c.replace(" ", "_"))
    df["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names)))
    return df


def main(wheels: Path) -> None:
    breast_cancer().to_csv(HERE / "breast_cancer.csv", index=False)

    penguins = pd.read_csv(
        io.BytesIO(from_wheel(wheels, "palmerpenguins", "palmerpenguins/data/penguins.csv"))
    )
    penguins.to_csv(HERE / "penguins.csv", index=False)

    weather = pd.read_csv(
        io.BytesIO(from_wheel(wheels, "vega_datasets", "vega_datasets/_data/seattle-weather.csv"))
    )
    weather.to_csv(HERE / "seattle_weather.csv", index=False)

    cars = pd.read_json(
        io.BytesIO(from_wheel(wheels, "vega_datasets", "vega_datasets/_data/cars.json"))
    )
    cars["Year"] = pd.to_datetime(cars["Year"]).dt.strftime("%Y-%m-%d")
    cars.to_csv(HERE / "cars.csv", index=False)

    diamonds = pd.read_csv(io.BytesIO(from_wheel(wheels, "plotnine", "plotnine/data/diamonds.csv")))
    diamonds.to_parquet(HERE / "diamonds.parquet", index=False, compression="zstd")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wheels"))
