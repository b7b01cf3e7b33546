import csv
import logging

import keras
import numpy as np
import pytest

import keras_lrelu


def _model(rectifier, bias):
    """Dense(6) with a bias that puts every unit's input far on one side."""
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(6, bias_initializer=keras.initializers.Constant(bias), name="dense")
    hidden = rectifier(dense(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(hidden))
    model.compile(keras.optimizers.SGD(0.0), "mse")  # weights stay put
    return model


RECTIFIERS = {
    "keras_lrelu": lambda h: keras_lrelu.LeakyReLU(alpha=0.1, name="rect")(h),
    "learned": lambda h: keras_lrelu.LeakyReLU(alpha=0.1, trainable_alpha=True, name="rect")(h),
    "randomized": lambda h: keras_lrelu.RandomizedLeakyReLU(name="rect")(h),
    "ReLU": lambda h: keras.layers.ReLU(name="rect")(h),
    "LeakyReLU": lambda h: keras.layers.LeakyReLU(name="rect")(h),
    "PReLU": lambda h: keras.layers.PReLU(name="rect")(h),
    "Activation": lambda h: keras.layers.Activation("relu", name="rect")(h),
}


@pytest.mark.parametrize("rectifier", RECTIFIERS)
@pytest.mark.parametrize("bias, expected", [(-100.0, 1.0), (100.0, 0.0)])
def test_all_negative_reads_dead_and_all_positive_alive(rectifier, bias, expected):
    model = _model(RECTIFIERS[rectifier], bias)
    x = np.random.RandomState(0).uniform(-1, 1, (32, 4)).astype("float32")
    monitor = keras_lrelu.DeadUnitMonitor(x)
    history = model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[monitor])
    assert history.history["inactive_fraction"] == [expected, expected]
    assert history.history["inactive_fraction/rect"] == [expected, expected]


def test_activation_inside_a_layer_counts_units_by_output():
    inputs = keras.Input((4,))
    half = np.array([-100.0] * 3 + [100.0] * 3)
    h = keras.layers.Dense(
        6, activation="relu", bias_initializer=keras.initializers.Constant(half), name="d"
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).uniform(-1, 1, (16, 4)).astype("float32")
    history = model.fit(x, x[:, :1], verbose=0, callbacks=[keras_lrelu.DeadUnitMonitor(x)])
    assert history.history["inactive_fraction/d"] == [0.5]


def test_units_count_along_the_last_axis_over_every_position():
    inputs = keras.Input((5, 5, 1))
    conv = keras.layers.Conv2D(
        4,
        1,
        name="conv",
        kernel_initializer="ones",
        bias_initializer=keras.initializers.Constant([-1000, -1000, 0, 0]),
    )
    h = keras.layers.ReLU(name="relu")(conv(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).uniform(0.1, 1, (8, 5, 5, 1)).astype("float32")
    monitor = keras_lrelu.DeadUnitMonitor(x)
    monitor.set_model(model)
    assert monitor.inactive_counts() == {"relu": (2, 4)}
    assert monitor.inactive_fractions() == {"relu": 0.5}


def test_one_monitor_on_a_second_model_reports_the_second():
    x = np.random.RandomState(0).uniform(-1, 1, (16, 4)).astype("float32")
    monitor = keras_lrelu.DeadUnitMonitor(x)
    dead, alive = _model(RECTIFIERS["ReLU"], -100.0), _model(RECTIFIERS["ReLU"], 100.0)
    assert dead.fit(x, x[:, :1], verbose=0, callbacks=[monitor]).history["inactive_fraction"] == [1.0]
    assert alive.fit(x, x[:, :1], verbose=0, callbacks=[monitor]).history["inactive_fraction"] == [0.0]


@pytest.mark.tensorflow_only
def test_a_monitor_on_model_after_model_causes_no_retracing_warning(caplog):
    # A search fits one model per trial; a probe through `predict` traced a new
    # function for each, and TensorFlow warned after a few.
    logger = logging.getLogger("tensorflow")
    logger.addHandler(caplog.handler)
    try:
        x = np.random.RandomState(0).uniform(-1, 1, (16, 4)).astype("float32")
        for bias in (-100.0, 100.0) * 4:
            monitor = keras_lrelu.DeadUnitMonitor(x, batch_size=8)
            model = _model(RECTIFIERS["ReLU"], bias)
            assert model.fit(x, x[:, :1], verbose=0, callbacks=[monitor]).history["inactive_fraction"] == [
                1.0 if bias < 0 else 0.0
            ]
    finally:
        logger.removeHandler(caplog.handler)
    # (Fitting a one-batch model after another retraces the training step itself.)
    assert not [r.getMessage() for r in caplog.records if "make_predict_function" in r.getMessage()]


def test_rectifiers_of_a_nested_base_model_are_counted():
    base = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                6, bias_initializer=keras.initializers.Constant([-100.0] * 2 + [100.0] * 4), name="dense"
            ),
            keras.layers.ReLU(name="relu"),
        ],
        name="base",
    )
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(
        3, activation="relu", bias_initializer=keras.initializers.Constant(-100.0), name="top"
    )(base(inputs))
    model = keras.Model(inputs, keras.layers.Dense(1, name="out")(hidden))
    model.compile("sgd", "mse")
    x = np.random.RandomState(0).uniform(-1, 1, (16, 4)).astype("float32")
    monitor = keras_lrelu.DeadUnitMonitor(x)
    history = model.fit(x, x[:, :1], verbose=0, callbacks=[monitor]).history
    assert monitor.inactive_counts() == {"base/relu": (2, 6), "top": (3, 3)}
    assert history["inactive_fraction"] == [5 / 9] and history["inactive_fraction/base/relu"] == [2 / 6]


def test_a_unit_one_call_switches_on_is_active():
    shared = keras.layers.ReLU(name="shared")
    inputs = keras.Input((2,))
    flipped = keras.layers.Lambda(lambda t: -t, name="flip")(inputs)
    model = keras.Model(inputs, keras.layers.Add()([shared(inputs), shared(flipped)]))
    x = np.array([[1.0, -1.0], [2.0, -3.0]], "float32")  # unit 0 on in the first call, unit 1 in the second
    monitor = keras_lrelu.DeadUnitMonitor(x)
    monitor.set_model(model)
    assert monitor.inactive_counts() == {"shared": (0, 2)}
    monitor.probe_inputs = np.zeros((2, 2), "float32")
    assert monitor.inactive_counts() == {"shared": (2, 2)}


def test_csv_logger_receives_the_fractions_and_slopes(tmp_path):
    model = _model(RECTIFIERS["learned"], -100.0)
    x = np.ones((8, 4), "float32")
    path = tmp_path / "log.csv"
    model.fit(
        x,
        x[:, :1],
        epochs=1,
        verbose=0,
        callbacks=[
            keras_lrelu.DeadUnitMonitor(x),
            keras_lrelu.AlphaHistory(),
            keras.callbacks.CSVLogger(str(path)),
        ],
    )
    row = next(csv.DictReader(path.open()))
    assert float(row["inactive_fraction"]) == 1.0 and float(row["alpha/rect"]) == pytest.approx(0.1)


def test_alpha_history_logs_learned_slopes_per_epoch():
    inputs = keras.Input((3,))
    h = keras_lrelu.LeakyReLU(alpha=0.5, trainable_alpha=True, name="scalar")(inputs)
    h = keras_lrelu.LeakyReLU(alpha=0.5, trainable_alpha=True, channelwise=True, name="chan")(h)
    h = keras_lrelu.LeakyReLU(alpha=0.5, name="fixed")(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    slopes = keras_lrelu.AlphaHistory()
    x = -np.abs(np.random.RandomState(0).randn(32, 3)).astype("float32")
    history = model.fit(x, np.ones((32, 1)), epochs=3, verbose=0, callbacks=[slopes])
    assert set(k for k in history.history if k.startswith("alpha/")) == {"alpha/scalar", "alpha/chan"}
    pooled = [np.mean(np.append(s, c)) for s, c in zip(slopes.history["scalar"], slopes.history["chan"])]
    np.testing.assert_allclose(history.history["alpha"], pooled, rtol=1e-6)  # one per channel
    assert len(history.history["alpha/scalar"]) == 3
    assert history.history["alpha/scalar"][-1] != pytest.approx(0.5), "the slope learned"
    assert len(slopes.history["chan"]) == 3 and slopes.history["chan"][0].shape == (3,)
    np.testing.assert_allclose(
        history.history["alpha/chan"], [v.mean() for v in slopes.history["chan"]], rtol=1e-6
    )


def test_alpha_history_logs_nothing_for_fixed_slopes():
    model = _model(RECTIFIERS["keras_lrelu"], 0.0)
    x = np.ones((8, 4), "float32")
    history = model.fit(x, x[:, :1], verbose=0, callbacks=[keras_lrelu.AlphaHistory(key="learned_alpha")])
    assert not [k for k in history.history if "alpha" in k]
