import keras
import numpy as np
import pytest

import keras_lrelu
from keras_lrelu.convert import is_plain_relu


def _leaky_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras_lrelu.LeakyReLU)]


def test_sequential_every_plain_relu_and_nothing_else():
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(6, activation="relu", name="d1"),
            keras.layers.Dense(6, name="d2"),
            keras.layers.ReLU(name="plain"),
            keras.layers.ReLU(max_value=6.0, name="relu6"),
            keras.layers.Activation("tanh", name="tanh"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    x = np.random.RandomState(0).randn(10, 8).astype("float32")
    converted = keras_lrelu.convert(model, alpha=0.0)
    assert [layer.name for layer in _leaky_layers(converted)] == ["d1_lrelu", "plain"]
    assert converted.get_layer("d1").get_config()["activation"] == "linear"
    assert isinstance(converted.get_layer("relu6"), keras.layers.ReLU)
    np.testing.assert_allclose(converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    leaky = keras_lrelu.convert(model, alpha=0.2)
    assert not np.allclose(leaky.predict(x, verbose=0), model.predict(x, verbose=0))


def test_functional_with_branches_and_a_nested_model():
    inputs = keras.Input((6, 6, 2))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    b = keras.layers.Activation("relu", name="act_b")(keras.layers.Conv2D(4, 1, name="conv_b")(inputs))
    merged = keras.layers.Add()([a, b])
    block = keras.Sequential(
        [keras.Input((6, 6, 4)), keras.layers.Conv2D(4, 1, activation="relu", name="inner")], name="block"
    )
    outputs = keras.layers.GlobalAveragePooling2D()(block(merged))
    model = keras.Model(inputs, outputs)
    converted = keras_lrelu.convert(model, alpha=0.25, trainable_alpha=True, channelwise=True)
    names = {layer.name for layer in _leaky_layers(converted)}
    assert names == {"conv_a_lrelu", "act_b"}
    assert [layer.name for layer in _leaky_layers(converted.get_layer("block"))] == ["inner_lrelu"]
    assert set(keras_lrelu.get_alphas(converted)) == {"conv_a_lrelu", "act_b", "inner_lrelu"}
    x = np.random.RandomState(1).randn(3, 6, 6, 2).astype("float32")
    exact = keras_lrelu.convert(model, alpha=0.0)
    np.testing.assert_allclose(exact.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_resnet50_all_49_relus_and_the_same_outputs_at_alpha_0(tmp_path):
    model = keras.applications.ResNet50(weights=None)
    assert sum(is_plain_relu(layer) for layer in model.layers) == 49
    converted = keras_lrelu.convert(model, alpha=0.0)
    assert len(_leaky_layers(converted)) == 49
    assert not any(is_plain_relu(layer) for layer in converted.layers)
    x = np.random.RandomState(0).rand(2, 224, 224, 3).astype("float32")
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-7
    )
    converted.save(tmp_path / "resnet.keras")
    reloaded = keras.models.load_model(tmp_path / "resnet.keras")
    assert len(_leaky_layers(reloaded)) == 49
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), converted.predict(x, verbose=0), rtol=1e-5, atol=1e-7
    )


def test_subclassed_model_is_a_clear_error():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, activation="relu")

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 3)))
    with pytest.raises(
        ValueError, match=r"subclassed model's call\(\) cannot be rewritten.*Received: model of type Net"
    ):
        keras_lrelu.convert(net)


def test_unbuilt_sequential_and_bad_alpha_are_clear_errors():
    with pytest.raises(ValueError, match=r"needs a built Sequential model"):
        keras_lrelu.convert(keras.Sequential([keras.layers.Dense(2, activation="relu")]))
    model = keras.Sequential([keras.Input((2,)), keras.layers.ReLU()])
    with pytest.raises(ValueError, match=r"Received: alpha=-1"):
        keras_lrelu.convert(model, alpha=-1)


# Every Keras layer type with an activation a user might set to relu: the
# input shape it takes, and the layer.
_CONVERTED = {
    "Dense": ((5,), lambda: keras.layers.Dense(4, activation="relu")),
    "EinsumDense": (
        (5,),
        lambda: keras.layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c", activation="relu"),
    ),
    "Conv1D": ((6, 2), lambda: keras.layers.Conv1D(3, 2, activation="relu")),
    "Conv2D": ((6, 6, 2), lambda: keras.layers.Conv2D(3, 2, activation="relu")),
    "Conv3D": ((4, 4, 4, 2), lambda: keras.layers.Conv3D(3, 2, activation="relu")),
    "Conv1DTranspose": ((6, 2), lambda: keras.layers.Conv1DTranspose(3, 2, activation="relu")),
    "Conv2DTranspose": ((6, 6, 2), lambda: keras.layers.Conv2DTranspose(3, 2, activation="relu")),
    "Conv3DTranspose": ((4, 4, 4, 2), lambda: keras.layers.Conv3DTranspose(3, 2, activation="relu")),
    "DepthwiseConv1D": ((6, 2), lambda: keras.layers.DepthwiseConv1D(2, activation="relu")),
    "DepthwiseConv2D": ((6, 6, 2), lambda: keras.layers.DepthwiseConv2D(2, activation="relu")),
    "SeparableConv1D": ((6, 2), lambda: keras.layers.SeparableConv1D(3, 2, activation="relu")),
    "SeparableConv2D": ((6, 6, 2), lambda: keras.layers.SeparableConv2D(3, 2, activation="relu")),
    "TimeDistributed(Dense)": (
        (3, 5),
        lambda: keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu")),
    ),
    "TimeDistributed(Conv2D)": (
        (3, 6, 6, 2),
        lambda: keras.layers.TimeDistributed(keras.layers.Conv2D(3, 2, activation="relu")),
    ),
}
_KEPT = {
    "SimpleRNN": ((4, 3), lambda: keras.layers.SimpleRNN(4, activation="relu")),
    "LSTM": ((4, 3), lambda: keras.layers.LSTM(4, activation="relu")),
    "GRU": ((4, 3), lambda: keras.layers.GRU(4, recurrent_activation="relu")),
    "ConvLSTM1D": ((3, 6, 2), lambda: keras.layers.ConvLSTM1D(3, 2, activation="relu")),
    "ConvLSTM2D": ((3, 6, 6, 2), lambda: keras.layers.ConvLSTM2D(3, 2, activation="relu")),
    "ConvLSTM3D": ((3, 4, 4, 4, 2), lambda: keras.layers.ConvLSTM3D(3, 2, activation="relu")),
    "RNN(SimpleRNNCell)": (
        (4, 3),
        lambda: keras.layers.RNN(keras.layers.SimpleRNNCell(4, activation="relu")),
    ),
    "RNN(LSTMCell)": ((4, 3), lambda: keras.layers.RNN(keras.layers.LSTMCell(4, activation="relu"))),
    "RNN(GRUCell)": ((4, 3), lambda: keras.layers.RNN(keras.layers.GRUCell(4, activation="relu"))),
    "Bidirectional(LSTM)": (
        (4, 3),
        lambda: keras.layers.Bidirectional(keras.layers.LSTM(4, activation="relu")),
    ),
    "TimeDistributed(Bidirectional(SimpleRNN))": (
        (2, 4, 3),
        lambda: keras.layers.TimeDistributed(
            keras.layers.Bidirectional(keras.layers.SimpleRNN(4, activation="relu"))
        ),
    ),
}


def test_every_keras_layer_with_an_activation_is_covered_below():
    import inspect

    with_activation = {
        name
        for name, cls in vars(keras.layers).items()
        if inspect.isclass(cls)
        and issubclass(cls, keras.layers.Layer)
        and {"activation", "recurrent_activation"} & set(inspect.signature(cls.__init__).parameters)
        and not name.startswith(("Convolution", "SeparableConvolution"))  # aliases
    }
    covered = {name.split("(")[0] for name in _CONVERTED} | {
        part.rstrip(")") for name in _KEPT for part in name.split("(")
    }
    assert with_activation - {"Activation"} <= covered


def _convert_one(shape, make_layer, **kwargs):
    inputs = keras.Input(shape)
    model = keras.Model(inputs, make_layer()(inputs))
    x = np.random.RandomState(0).randn(3, *shape).astype("float32")
    return model, keras_lrelu.convert(model, **kwargs), x


@pytest.mark.parametrize("name", _CONVERTED)
def test_activation_on_the_output_moves_out_and_alpha_0_keeps_outputs(name):
    model, converted, x = _convert_one(*_CONVERTED[name], alpha=0.0)
    assert len(_leaky_layers(converted)) == 1, "the relu moved into a LeakyReLU"
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    _, leaky, _ = _convert_one(*_CONVERTED[name], alpha=0.3)
    assert not np.allclose(leaky.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", _KEPT)
def test_relu_inside_a_recurrence_is_left_alone_with_a_warning(name):
    shape, make_layer = _KEPT[name]
    with pytest.warns(
        UserWarning, match=r"left these layers as they are: their relu runs inside a recurrence"
    ):
        model, converted, x = _convert_one(shape, make_layer, alpha=0.3)
    assert not _leaky_layers(converted)
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_the_warning_names_the_recurrent_layers_and_the_rest_converts():
    inputs = keras.Input((4, 3))
    h = keras.layers.LSTM(4, activation="relu", return_sequences=True, name="lstm")(inputs)
    h = keras.layers.TimeDistributed(keras.layers.Dense(3, activation="relu"), name="td")(h)
    h = keras.layers.SimpleRNN(2, name="tanh_rnn")(h)
    model = keras.Model(inputs, h)
    with pytest.warns(UserWarning, match=r"cannot move out: lstm$"):
        converted = keras_lrelu.convert(model, alpha=0.0)
    assert [layer.name for layer in _leaky_layers(converted)] == ["td_lrelu"]
    x = np.random.RandomState(2).randn(2, 4, 3).astype("float32")
    np.testing.assert_allclose(
        converted.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_a_rectifier_function_puts_its_layer_at_every_relu_nested_too():
    inputs = keras.Input((5,))
    block = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, activation="relu", name="inner")], name="block"
    )
    hidden = keras.layers.ReLU(name="plain")(keras.layers.Dense(4, name="d1")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(block(hidden)))
    converted = keras_lrelu.convert(
        model, rectifier=lambda name: keras_lrelu.RandomizedLeakyReLU(lower=0.1, upper=0.3, name=name)
    )
    randomized = [
        layer.name for layer in converted.layers if isinstance(layer, keras_lrelu.RandomizedLeakyReLU)
    ]
    assert randomized == ["plain"]
    inner = converted.get_layer("block").get_layer("inner_lrelu")
    assert isinstance(inner, keras_lrelu.RandomizedLeakyReLU)
    # At inference RReLU is the leaky rectifier at its mean slope, and the weights are kept.
    x = np.random.RandomState(2).randn(6, 5).astype("float32")
    leaky = keras_lrelu.convert(model, alpha=0.2)
    np.testing.assert_allclose(converted.predict(x, verbose=0), leaky.predict(x, verbose=0), rtol=1e-6)


def test_a_rectifier_function_that_returns_no_layer_is_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="relu")])
    with pytest.raises(
        ValueError, match=r"must return a Keras layer\. Received: rectifier=.* returning float$"
    ):
        keras_lrelu.convert(model, rectifier=lambda name: 0.1)


def test_relus_to_replace_names_what_convert_rewrites():
    from keras_lrelu.convert import relus_to_replace

    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(2, activation="relu", name="d"),
            keras.layers.ReLU(max_value=6.0, name="relu6"),
            keras.layers.Activation("relu", name="act"),
            keras.layers.Dense(2, activation="tanh", name="t"),
        ]
    )
    assert relus_to_replace(model) == ["d", "act"]
