"""Every private internal the project relies on, by name: an upgrade of
Keras, TensorFlow, PyTorch or KerasTuner that moves one fails here first."""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_lrelu import _compat as compat


def test_functional_is_the_class_of_functional_and_sequential_graphs():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    assert isinstance(model, compat.Functional)


def test_calls_finds_each_call_of_a_shared_layer_inside_the_model_only():
    shared = keras.layers.Dense(3, name="shared")
    inputs = keras.Input((3,))
    first = shared(inputs)
    second = shared(first)
    model = keras.Model(inputs, second)
    shared(keras.Input((3,)))  # a call outside the model
    found = compat.calls(model, shared)
    assert [(c[0][0] is inputs, c[1][0] is first) for c in found[:1]] == [(True, True)]
    assert len(found) == 2 and found[1][0][0] is first and found[1][1][0] is second
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.ReLU(name="relu")])
    assert len(compat.calls(sequential, sequential.get_layer("relu"))) == 1


@pytest.mark.tensorflow_only
def test_in_xla_context_reads_false_outside_xla():
    assert compat.in_xla_context() is False


@pytest.mark.tensorflow_only
@pytest.mark.parametrize("built", [False, True])
def test_build_metrics_lets_tensorflow_trace_the_first_step_once(built):
    traced = []

    class Counted(keras.Sequential):
        def train_step(self, data):
            traced.append(True)
            return super().train_step(data)

    model = Counted([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)  # as every model the search trains
    x, y = np.ones((8, 4), "float32"), np.arange(8) % 3
    if built:
        compat.build_metrics(model, x, y)
        assert [v.name for v in model.metrics_variables] == ["total", "count", "total", "count"]
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    # Keras's TensorFlow trainer creates the accuracy's variables in the first trace, and a
    # tf.function that creates variables is traced twice.
    assert len(traced) == (1 if built else 2)


def test_torch_compile_switched_off_reads_dynamos_flag(monkeypatch):
    torch_dynamo = pytest.importorskip("torch._dynamo")
    assert compat.torch_compile_switched_off() is False
    monkeypatch.setattr(torch_dynamo.config, "disable", True)
    assert compat.torch_compile_switched_off() is True


def test_keras_tuner_internals_exist():
    import inspect

    assert keras_tuner.__version__
    # Looked up before the setters below run, which would create what they set.
    for module, name in [
        ("config", "DEBUG"),
        ("distribute.oracle_client", "TIMEOUT"),
        ("distribute.oracle_chief", "OracleServicer"),
        ("distribute.oracle_chief", "exit_chief"),
        ("protos", "get_service_grpc"),
    ]:
        assert hasattr(compat._keras_tuner(module), name), f"keras_tuner.src.{module}.{name}"
    assert hasattr(compat._keras_tuner("protos").get_service_grpc(), "add_OracleServicer_to_server")
    # The debug print the search silences: once a release drops it, so can we.
    assert "print(" in inspect.getsource(compat._keras_tuner("engine.conditions"))
    compat.hide_failed_trial_tracebacks()
    assert compat._keras_tuner("config").DEBUG is False
    client = compat._keras_tuner("distribute.oracle_client")
    timeout = client.TIMEOUT
    compat.set_chief_timeout(5)
    assert client.TIMEOUT == 5
    compat.set_chief_timeout(timeout)


def test_a_forgotten_tuner_s_trial_is_the_next_one_handed_out(tmp_path):
    """forget_tuner relies on the oracle's LOCKS, tuner_ids, ongoing_trials
    and _retry_queue, which create_trial serves first."""
    oracle = keras_tuner.RandomSearch(
        hypermodel=lambda hp: None,
        objective="val_accuracy",
        max_trials=2,
        directory=str(tmp_path),
        project_name="p",
    ).oracle
    oracle.hyperparameters.Choice("x", [1, 2, 3])
    first = oracle.create_trial("lost")
    assert compat.forget_tuner(oracle, "lost").trial_id == first.trial_id
    assert "lost" not in oracle.tuner_ids and not oracle.ongoing_trials
    assert oracle.create_trial("other").trial_id == first.trial_id  # before any new trial
    assert compat.forget_tuner(oracle, "never seen") is None


def test_the_keras_tuner_messages_we_read_are_still_raised():
    import inspect

    source = inspect.getsource(compat._keras_tuner("engine.oracle"))
    assert '"Error reloading `Oracle` from existing project. "' in source
    assert '"Number of consecutive failures exceeded the limit "' in source
    assert (
        compat.keras_tuner_error_kind(RuntimeError("Error reloading `Oracle` from existing project. If"))
        == "reload"
    )
    assert (
        compat.keras_tuner_error_kind(RuntimeError("Number of consecutive failures exceeded the limit of 3."))
        == "failures"
    )
    assert compat.keras_tuner_error_kind(RuntimeError("anything else")) is None


def test_the_grid_oracle_keeps_what_rebuild_grid_order_restores():
    oracle = keras_tuner.oracles.GridSearchOracle(objective="val_loss", max_trials=2)
    for name in ("_ordered_ids", "_populate_next", "_compare", "start_order", "trials"):
        assert hasattr(oracle, name), f"GridSearchOracle.{name}"
    assert "_populate_next" not in oracle.get_state() and "_ordered_ids" not in oracle.get_state(), (
        "KerasTuner now saves them itself: rebuild_grid_order can go"
    )
    compat.rebuild_grid_order(oracle)  # an empty grid stays empty
    assert oracle._populate_next == []


def test_the_tuner_internals_a_repeat_runs_through_exist(tmp_path):
    class Tiny(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            model.compile("sgd", "mse")
            return model

    tuner = keras_tuner.RandomSearch(
        Tiny(), objective="val_loss", max_trials=1, directory=str(tmp_path), project_name="p"
    )
    for name in (
        "_deepcopy_callbacks",
        "_configure_tensorboard_dir",
        "_build_and_fit_model",
        "_get_checkpoint_fname",
    ):
        assert hasattr(tuner, name), f"Tuner.{name}"
    for name in ("TunerCallback", "SaveBestEpoch"):
        assert hasattr(compat._keras_tuner("engine.tuner_utils"), name), f"tuner_utils.{name}"
    trial = tuner.oracle.create_trial("tuner0")
    board = keras.callbacks.TensorBoard(str(tmp_path / "logs"))
    callbacks = compat.execution_callbacks(tuner, trial, [board], 2, str(tmp_path / "w.weights.h5"))
    assert callbacks[0] is not board and callbacks[0].log_dir.endswith("execution2")
    # (KerasTuner adds its TensorBoard HParams callback after the copy.)
    assert [type(c).__name__ for c in callbacks[-2:]] == ["TunerCallback", "SaveBestEpoch"]
    assert compat.checkpoint_path(tuner, trial.trial_id).startswith(tuner.get_trial_dir(trial.trial_id))
