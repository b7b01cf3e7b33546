"""Every layer exported as Keras users export: `model.export(format="litert")`
and `format="onnx"`, run in the LiteRT interpreter and ONNX Runtime, and
full-integer int8 LiteRT; the ops each converter emits are pinned."""

import collections

import keras
import numpy as np
import pytest

import keras_lrelu
from tuning.export import formats
from tuning.export import litert

pytestmark = pytest.mark.tensorflow_only  # LiteRT and ONNX export go through TensorFlow

SLOPES = np.linspace(0.05, 0.5, 8).astype("float32")  # distinct, so a wrong axis shows
RECTIFIERS = {
    "fixed": lambda: keras_lrelu.LeakyReLU(0.2),
    "learned scalar": lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True),
    "learned per channel": lambda: keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=True),
    "learned channels first": lambda: keras_lrelu.LeakyReLU(
        0.25, trainable_alpha=True, channelwise=True, axis=1
    ),
    "randomized": lambda: keras_lrelu.RandomizedLeakyReLU(seed=0),
    "keras PReLU": lambda: keras.layers.PReLU(shared_axes=[1, 2]),
    "keras LeakyReLU": lambda: keras.layers.LeakyReLU(0.2),
}
# What LiteRT's converter emits for the whole model: 16x16x3 -> Conv2D(8)
# -> rectifier -> max pool -> flatten (the dynamic batch's SHAPE ... RESHAPE)
# -> Dense(10); channels first: 8x16x16 -> rectifier -> flatten -> Dense(10).
FLATTEN_DENSE = ["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE", "FULLY_CONNECTED"]
LITERT_OPS = {
    "fixed": ["CONV_2D", "LEAKY_RELU", "MAX_POOL_2D", *FLATTEN_DENSE],
    "learned scalar": ["CONV_2D", "PRELU", "MAX_POOL_2D", *FLATTEN_DENSE],
    "learned per channel": ["CONV_2D", "PRELU", "MAX_POOL_2D", *FLATTEN_DENSE],
    "learned channels first": ["PRELU", *FLATTEN_DENSE],
    "randomized": ["CONV_2D", "LEAKY_RELU", "MAX_POOL_2D", *FLATTEN_DENSE],
    "keras PReLU": ["CONV_2D", "PRELU", "MAX_POOL_2D", *FLATTEN_DENSE],
}
RECTIFIER_ONNX_NODES = {
    "fixed": {"LeakyRelu": 1},
    "randomized": {"LeakyRelu": 1},
    "keras LeakyReLU": {"LeakyRelu": 1},
}


def build(rectifier, seed=0):
    keras.utils.set_random_seed(seed)
    if rectifier == "learned channels first":
        # Channels-first data straight in: a transpose before the rectifier
        # (a Permute) makes the converter split Keras's PReLU as well.
        inputs = keras.Input((8, 16, 16))
        x = RECTIFIERS[rectifier]()(inputs)
    else:
        inputs = keras.Input((16, 16, 3))
        x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
        x = keras.layers.MaxPooling2D()(RECTIFIERS[rectifier]()(x))
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    for layer in model.layers:
        if isinstance(layer, keras_lrelu.LeakyReLU) and layer.trainable_alpha:
            layer.alpha_weight.assign(SLOPES if layer.channelwise else 0.3)
        if isinstance(layer, keras.layers.PReLU):
            layer.alpha.assign(SLOPES.reshape(layer.alpha.shape))
    return model


def images(count=32, seed=1, shape=(16, 16, 3)):
    return np.random.RandomState(seed).randn(count, *shape).astype("float32")


def litert_ops(path):
    from ai_edge_litert.interpreter import Interpreter

    names = [op["op_name"] for op in Interpreter(model_path=str(path))._get_ops_details()]
    return [name for name in names if name not in ("QUANTIZE", "DEQUANTIZE")]


def onnx_nodes(path):
    import onnx

    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every rectifier's model, exported once to LiteRT and ONNX."""
    folder = tmp_path_factory.mktemp("deploy")
    result = {}
    for rectifier in RECTIFIERS:
        model = build(rectifier)
        expected = model.predict(images(shape=model.input_shape[1:]), verbose=0)
        litert, onnx = folder / f"{rectifier}.tflite", folder / f"{rectifier}.onnx"
        model.export(str(litert), format="litert", verbose=False)
        model.export(str(onnx), format="onnx", verbose=False)
        result[rectifier] = (expected, litert, onnx)
    return result


@pytest.mark.parametrize("rectifier", LITERT_OPS)
def test_litert_runs_the_native_op_and_the_keras_outputs(exported, rectifier):
    expected, litert, _ = exported[rectifier]
    assert litert_ops(litert) == LITERT_OPS[rectifier]
    outputs = formats.load(str(litert))(images(shape=_shape(rectifier)))
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rectifier", [r for r in RECTIFIERS if not r.startswith("keras")])
def test_onnx_runs_the_keras_outputs_in_no_more_nodes_than_keras(exported, rectifier):
    expected, _, onnx = exported[rectifier]
    outputs = formats.load(str(onnx))(images(shape=_shape(rectifier)))
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)
    nodes = onnx_nodes(onnx)
    if rectifier in RECTIFIER_ONNX_NODES:  # one LeakyRelu, like keras.layers.LeakyReLU
        assert nodes == onnx_nodes(exported["keras LeakyReLU"][2])
        assert nodes["LeakyRelu"] == 1
    else:  # tf2onnx has no PRelu pattern: Keras's PReLU's own four nodes
        baseline = onnx_nodes(exported["keras PReLU"][2])
        rectifier_nodes = {op: nodes[op] for op in ("Relu", "Neg", "Mul", "Add")}
        assert rectifier_nodes == {"Relu": 2, "Neg": 1, "Mul": 1, "Add": 1}
        assert rectifier_nodes == {op: baseline[op] for op in rectifier_nodes}
        assert not {"Where", "Greater", "Not", "Cast"} & set(nodes) - set(baseline)


def _shape(rectifier):
    return (8, 16, 16) if rectifier == "learned channels first" else (16, 16, 3)


def _int8_error(model, tmp_path, name):
    calibration = images(200, seed=2)
    path = tmp_path / f"{name}_int8.tflite"
    litert.write_int8(model, str(path), calibration)
    held_out = images(64, seed=3)
    error = np.abs(formats.load(str(path))(held_out) - model.predict(held_out, verbose=0)).max()
    return error, litert_ops(path)


@pytest.mark.parametrize("rectifier", ["learned per channel", "learned scalar"])
def test_int8_litert_is_as_accurate_as_keras_prelu(rectifier, tmp_path):
    ours = build(rectifier)
    theirs = build("keras PReLU")
    # The same network: Keras's PReLU gets our weights and our slopes.
    (slope,) = keras_lrelu.get_alphas(ours).values()
    conv_kernel, conv_bias, dense_kernel, dense_bias = (
        ours.layers[1].get_weights() + ours.layers[-1].get_weights()
    )
    theirs.layers[1].set_weights([conv_kernel, conv_bias])
    theirs.layers[-1].set_weights([dense_kernel, dense_bias])
    prelu = theirs.layers[2]
    prelu.alpha.assign(np.broadcast_to(slope, (8,)).reshape(prelu.alpha.shape))
    np.testing.assert_allclose(
        theirs.predict(images(), verbose=0), ours.predict(images(), verbose=0), rtol=1e-5, atol=1e-5
    )
    our_error, our_ops = _int8_error(ours, tmp_path, "ours")
    their_error, _ = _int8_error(theirs, tmp_path, "keras")
    assert "PRELU" in our_ops and "GREATER" not in our_ops
    print(f"int8 max error {rectifier}: ours {our_error:.4g}, keras PReLU {their_error:.4g}")
    assert our_error <= 1.5 * their_error, (our_error, their_error)
