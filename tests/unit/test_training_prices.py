"""A price on a combiner's weight is a share of the model's loss (training.prices)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from sattn_dash.layers import SparseAttentionWeighting
from sattn_dash.modeling import preset_spec
from sattn_dash.training import TrainingConfig
from sattn_dash.training.pipeline import prepare_fit
from sattn_dash.training.prices import PricesFollowTheLoss, priced_combiner


class ScaleAtEachEpoch(keras.callbacks.Callback):
    def __init__(self, layer):
        super().__init__()
        self.layer, self.scales = layer, []

    def on_epoch_begin(self, epoch, logs=None):
        self.scales.append(float(self.layer.price_scale.numpy()))


def priced_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = x[:, :1] + 0.1 * rng.normal(size=(256, 1)).astype("float32")
    inputs = keras.Input((4,))
    branches = [keras.layers.Dense(8)(inputs), keras.layers.Dense(8)(inputs)]
    combiner = SparseAttentionWeighting(2, module_prices=[0.0, 0.5], name="combiner")
    model = keras.Model(inputs, keras.layers.Dense(1)(combiner(branches)))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model, combiner, x, y


def test_each_epoch_pays_a_share_of_the_last_epochs_loss():
    model, combiner, x, y = priced_model()
    assert priced_combiner(model) is combiner
    seen = ScaleAtEachEpoch(combiner)
    history = model.fit(
        x, y, epochs=3, batch_size=64, verbose=0, callbacks=[PricesFollowTheLoss(combiner), seen]
    )
    losses = history.history["loss"]
    assert seen.scales[0] == 0.0  # no loss yet to scale by
    assert seen.scales[1] == pytest.approx(losses[0], rel=1e-5)  # nothing was paid then
    # later epochs: the loss less what the price added to it
    assert losses[1] - 0.5 * seen.scales[1] <= seen.scales[2] < losses[1]
    # a resumed fit keeps the scale its checkpoint saved
    combiner.price_scale.assign(0.25)
    model.fit(x, y, epochs=4, initial_epoch=3, verbose=0,
              callbacks=[PricesFollowTheLoss(combiner, first_epoch=3), seen])  # fmt: skip
    assert seen.scales[-1] == pytest.approx(0.25)


def test_the_default_pays_its_price_and_tabm_has_none(modeling_data):
    prepared = modeling_data["binary"]
    config = TrainingConfig(seed=0, epochs=1)
    for preset, priced in (("column_groups", True), ("tabm", False)):
        model, _, fit_arguments = prepare_fit(preset_spec(preset, prepared), prepared, config)
        followers = [c for c in fit_arguments["callbacks"] if isinstance(c, PricesFollowTheLoss)]
        assert len(followers) == int(priced)
        assert (priced_combiner(model) is not None) == priced


def entropy(shares):
    return -sum(p * np.log(p) for p in shares)


def test_the_loss_floor_is_the_entropy_of_the_smoothed_targets(modeling_data):
    from sattn_dash.modeling.build import loss_floor

    binary = modeling_data["binary"]
    # label smoothing 0.1: targets of 0.95 and 0.05, for the head and the members' loss
    assert loss_floor(preset_spec("column_groups", binary), binary) == pytest.approx(
        2 * entropy([0.95, 0.05])
    )
    multiclass = modeling_data["multiclass"]
    (target,) = multiclass.tasks
    n = len(multiclass.classes[target])
    shares = [0.9 + 0.1 / n, *[0.1 / n] * (n - 1)]
    assert loss_floor(preset_spec("tabm", multiclass), multiclass) == pytest.approx(
        2 * entropy(shares)
    )
    # no smoothing, or a number to predict: the loss can reach 0
    assert loss_floor(preset_spec("three_branch", binary), binary) == 0.0
    regression = modeling_data["regression"]
    assert loss_floor(preset_spec("column_groups", regression), regression) == 0.0


def test_a_priced_run_cut_off_resumes_to_where_an_uninterrupted_one_ends(tmp_path, monkeypatch):
    # the price's scale is state of the fit: the checkpoint holds it with the model's
    # variables, and the resumed epochs pay what the uninterrupted ones did
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingSession
    from sattn_dash.training.resume import resume_session
    from tests.interrupt import interrupted_run
    from tests.unit.conftest import make_training_table

    df = make_training_table(240)
    schema = infer_schema(df, targets=["label"])
    config = TrainingConfig(epochs=4, batch_size=32, seed=3, early_stopping=False)
    store = RunStore(tmp_path)
    whole = TrainingSession(df, schema, "column_groups", config, store)
    assert whole.run().state == "finished"
    run_id = interrupted_run(
        store, df, schema, "column_groups", config, monkeypatch, epoch=3, batch=2
    )
    assert resume_session(run_id, store).run().state == "finished"
    resumed, reference = store.load(run_id).model, store.load(whole.run_id).model
    for model in (resumed, reference):
        assert priced_combiner(model).price_scale.numpy() > 0
    for mine, theirs in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
