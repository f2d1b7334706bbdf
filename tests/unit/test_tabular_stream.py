"""Streaming a table larger than memory: the hash split is a pure function of the row,
the sample-fitted preprocessing gets exact scaling from a full pass, record batches
carry exactly the rows of their split, and Keras trains and evaluates from them."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from sattn_dash.tabular import infer_schema, split_codes
from sattn_dash.tabular.stream import TableStream, prepare_stream, should_stream


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(5, 2, n), "b": rng.normal(size=n)})
    df["city"] = rng.choice(["oslo", "rome", "lima"], n)
    df["b"] = df["b"].mask(rng.random(n) < 0.1)  # gaps for the imputer
    df["y"] = np.where(df["a"] - 5 + (df["city"] == "rome") > 0, "yes", "no")
    return df


@pytest.fixture
def parquet_parts(tmp_path):
    df = table(9_000)
    paths = []
    for i, part in enumerate((df.iloc[:4000], df.iloc[4000:7000], df.iloc[7000:])):
        paths.append(tmp_path / f"part-{i}.parquet")
        part.to_parquet(paths[-1], row_group_size=1000)
    return df, paths


def test_the_split_is_a_pure_function_of_position_and_seed():
    rows = np.arange(200_000)
    codes = split_codes(rows, seed=3, test_size=0.2, val_size=0.2)
    assert np.array_equal(codes, split_codes(rows, 3, 0.2, 0.2))
    assert np.array_equal(codes[1000:2000], split_codes(rows[1000:2000], 3, 0.2, 0.2))
    shares = np.bincount(codes, minlength=3) / len(rows)
    assert shares == pytest.approx([0.6, 0.2, 0.2], abs=0.005)
    other = split_codes(rows, seed=4, test_size=0.2, val_size=0.2)
    assert (codes != other).mean() > 0.4  # another seed, another split


def test_parquet_and_compressed_csv_stream_the_same_rows(tmp_path, parquet_parts):
    df, paths = parquet_parts
    parquet = TableStream.open(paths)
    gz = tmp_path / "all.csv.gz"
    gz.write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    csv = TableStream.open([gz])
    assert parquet.n_rows == csv.n_rows == 9_000
    assert parquet.columns == csv.columns == ("a", "b", "city", "y")
    for stream in (parquet, csv):
        starts, parts = zip(*stream.batches(["a", "y"], batch_rows=700), strict=True)
        joined = pd.concat(parts)
        assert max(len(p) for p in parts) <= 700 and starts[0] == 0
        assert np.allclose(joined["a"].to_numpy(), df["a"].to_numpy())
        assert list(joined.index) == list(range(9_000))


def test_the_sample_is_bounded_and_seeded(parquet_parts):
    _, paths = parquet_parts
    stream = TableStream.open(paths)
    sample = stream.sample(1_000, seed=0)
    assert 800 <= len(sample) <= 1_101
    assert sample.index.equals(stream.sample(1_000, seed=0).index)
    assert not sample.index.equals(stream.sample(1_000, seed=1).index)


def test_preparing_a_stream_fits_on_a_sample_with_exact_counts_and_scaling(parquet_parts):
    df, paths = parquet_parts
    streamed = prepare_stream(TableStream.open(paths), "y", seed=0, sample_rows=1_500)
    codes = split_codes(np.arange(len(df)), 0, 0.2, 0.2)
    assert streamed.rows == {
        s: int((codes == c).sum()) for s, c in zip(("train", "val", "test"), range(3), strict=True)
    }
    scale = streamed.prepared.transformer.named_transformers_["numeric"].named_steps["scale"]
    train = df[codes == 0]
    assert scale.mean_ == pytest.approx([train["a"].mean(), train["b"].mean()], rel=1e-9)
    assert scale.scale_ == pytest.approx([train["a"].std(ddof=0), train["b"].std(ddof=0)], rel=1e-6)
    assert len(streamed.prepared.X_train) < 1_500  # the sample, not the table
    assert streamed.prepared.notes[0].startswith("Streamed 9,000 rows")

    X_parts, y_parts = zip(*streamed.chunks("test"), strict=True)
    X = np.concatenate(X_parts)
    expected = streamed.prepared.transform(df[codes == 2]).to_numpy(dtype=np.float32)
    assert np.array_equal(X, expected)  # exactly the test rows, through the same transformer
    assert (
        np.concatenate([y["y"] for y in y_parts]).tolist()
        == (df["y"][codes == 2] == "yes").astype(float).tolist()
    )

    shuffled = np.concatenate([x for x, _ in streamed.chunks("train", shuffle_seed=5)])
    again = np.concatenate([x for x, _ in streamed.chunks("train", shuffle_seed=5)])
    ordered = np.concatenate([x for x, _ in streamed.chunks("train")])
    assert np.array_equal(shuffled, again) and not np.array_equal(shuffled, ordered)
    assert np.array_equal(np.sort(shuffled, axis=0), np.sort(ordered, axis=0))


def test_the_switch_says_why(parquet_parts):
    _, paths = parquet_parts
    stream = TableStream.open(paths)
    assert should_stream(stream, budget=10**12) == (
        False,
        "In memory: 9,000 rows × 4 columns fit in about 1.4 MB.",
    )
    streams, why = should_stream(stream, budget=1000)
    assert streams and why.startswith("Streaming: 9,000 rows × 4 columns")


def test_keras_trains_and_evaluates_from_record_batches(parquet_parts):
    from sattn_dash.training import TrainingConfig
    from sattn_dash.training.streaming import evaluate_streamed, fit_streamed

    _, paths = parquet_parts
    streamed = prepare_stream(TableStream.open(paths), "y", seed=0, sample_rows=2_000)
    config = TrainingConfig(epochs=3, seed=0, batch_size=128)
    assert streamed.steps("train", 128) >= streamed.rows["train"] / 128
    model, history = fit_streamed("ensemble", streamed, config)
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    metrics = evaluate_streamed(model, streamed)["y"]
    assert metrics["n"] == streamed.rows["test"]
    assert metrics["accuracy"] > 0.9  # y is a threshold on a and city


def test_schema_inference_on_the_sample_matches_the_whole_table(parquet_parts):
    df, paths = parquet_parts
    streamed = prepare_stream(TableStream.open(paths), "y", seed=0, sample_rows=2_000)
    whole = infer_schema(df, targets="y")
    assert [c.role for c in streamed.prepared.schema.columns] == [c.role for c in whole.columns]


def test_baselines_of_a_stream_are_scored_on_every_test_row(parquet_parts):
    from sattn_dash.analysis.baselines.baselines import sklearn_baselines

    df, paths = parquet_parts
    streamed = prepare_stream(TableStream.open(paths), "y", seed=0, sample_rows=1_500)
    codes = split_codes(np.arange(len(df)), 0, 0.2, 0.2)
    test = df["y"][codes == 2]
    frame = sklearn_baselines(streamed.prepared, streamed=streamed).set_index(["model", "metric"])
    prior = frame.loc[("dummy (class prior)", "accuracy"), "value"]
    assert prior == pytest.approx(test.value_counts(normalize=True).max())
    assert frame.loc[("gradient boosting", "accuracy"), "value"] > 0.9
    sample_test = streamed.prepared.split("test")[1]["y"]
    assert len(sample_test) < len(test)  # the sample alone would score fewer rows
