"""Device listing and selection; the CPU path must always work."""

import pytest

from sattn_dash.errors import RunError, SpecError
from sattn_dash.training import TrainingConfig, list_devices, select_device


def test_cpu_is_always_listed_first():
    devices = list_devices()
    assert devices[0].name == "cpu" and devices[0].kind == "cpu"
    assert "CPU" in devices[0].description
    assert all(d.kind == "gpu" for d in devices[1:])


def test_cpu_plan_trains_a_model():
    import keras
    import numpy as np

    plan = select_device("cpu")
    assert plan.name == "cpu" and plan.replicas == 1
    with plan.strategy.scope():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
    model.fit(np.ones((8, 2)), np.ones(8), epochs=1, verbose=0)


def test_auto_follows_the_hardware():
    gpus = [d for d in list_devices() if d.kind == "gpu"]
    plan = select_device("auto")
    assert plan.name == ("gpu" if gpus else "cpu")
    if len(gpus) > 1:
        assert plan.replicas == len(gpus)


def test_bad_or_missing_devices_are_user_errors():
    gpus = [d for d in list_devices() if d.kind == "gpu"]
    with pytest.raises(RunError, match="Unknown device"):
        select_device("tpu")
    with pytest.raises(RunError, match="no GPU 99|There is no GPU 99|No GPU"):
        select_device("gpu:99")
    if not gpus:
        with pytest.raises(RunError, match="choose device auto or cpu"):
            select_device("gpu")


def test_config_checks_device_names():
    assert TrainingConfig(device="gpu:1").device == "gpu:1"
    with pytest.raises(SpecError, match="device must be"):
        TrainingConfig(device="cuda")


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"val_size": 1.5}, "val_size"),
        ({"val_size": 0.5, "test_size": 0.45}, "val_size"),
        ({"seed": True}, "seed"),
    ],
)
def test_config_names_the_bad_field(kwargs, field):
    with pytest.raises(SpecError, match=field):
        TrainingConfig(**kwargs)


def test_config_round_trip():
    config = TrainingConfig(epochs=3, learning_rate=0.01, seed=4)
    assert TrainingConfig.from_dict({**config.to_dict(), "unknown": 1}) == config
