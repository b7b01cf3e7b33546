"""Every layer exported as Keras users export: `model.export(format="litert")`
and `format="onnx"`, and through `keras_lrelu.onnx.export_onnx`, run in the
LiteRT interpreter and ONNX Runtime, and full-integer int8 LiteRT; the ops
each converter emits are pinned."""

import collections
import os

import keras
import numpy as np
import pytest

import keras_lrelu
from keras_lrelu.onnx import export_onnx
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
    """Every rectifier's model, exported once to LiteRT, to ONNX by Keras and
    by export_onnx."""
    folder = tmp_path_factory.mktemp("deploy")
    result = {}
    for rectifier in RECTIFIERS:
        model = build(rectifier)
        expected = model.predict(images(shape=model.input_shape[1:]), verbose=0)
        litert, onnx, fused = (
            folder / f"{rectifier}{suffix}" for suffix in (".tflite", ".onnx", ".fused.onnx")
        )
        model.export(str(litert), format="litert", verbose=False)
        model.export(str(onnx), format="onnx", verbose=False)
        export_onnx(model, fused, verbose=False)
        result[rectifier] = (expected, litert, onnx, fused)
    return result


@pytest.mark.parametrize("rectifier", LITERT_OPS)
def test_litert_runs_the_native_op_and_the_keras_outputs(exported, rectifier):
    expected, litert, _, _ = exported[rectifier]
    assert litert_ops(litert) == LITERT_OPS[rectifier]
    outputs = formats.load(str(litert))(images(shape=_shape(rectifier)))
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("rectifier", [r for r in RECTIFIERS if not r.startswith("keras")])
def test_keras_onnx_export_runs_the_keras_outputs_in_no_more_nodes_than_keras(exported, rectifier):
    expected, _, onnx, _ = exported[rectifier]
    outputs = formats.load(str(onnx))(images(shape=_shape(rectifier)))
    np.testing.assert_allclose(outputs, expected, rtol=1e-5, atol=1e-5)
    nodes = onnx_nodes(onnx)
    if rectifier in RECTIFIER_ONNX_NODES:  # one LeakyRelu, like keras.layers.LeakyReLU
        assert nodes == onnx_nodes(exported["keras LeakyReLU"][2])
        assert nodes["LeakyRelu"] == 1
    else:  # tf2onnx has no PRelu pattern: Keras's PReLU's own five nodes
        baseline = onnx_nodes(exported["keras PReLU"][2])
        rectifier_nodes = {op: nodes[op] for op in ("Relu", "Neg", "Mul", "Add")}
        assert rectifier_nodes == {"Relu": 2, "Neg": 1, "Mul": 1, "Add": 1}
        assert rectifier_nodes == {op: baseline[op] for op in rectifier_nodes}
        assert not {"Where", "Greater", "Not", "Cast"} & set(nodes) - set(baseline)


@pytest.mark.parametrize("rectifier", [r for r in RECTIFIERS if not r.startswith("keras")])
def test_export_onnx_makes_a_learned_slope_one_prelu_node(exported, rectifier):
    expected, _, keras_onnx, fused = exported[rectifier]
    nodes = onnx_nodes(fused)
    if rectifier in RECTIFIER_ONNX_NODES:  # already one node: the file is Keras's
        assert nodes == onnx_nodes(keras_onnx)
    else:  # a slope per channel is one PRelu node; a single slope, one LeakyRelu node
        rest = onnx_nodes(keras_onnx) - collections.Counter({"Relu": 2, "Neg": 1, "Mul": 1, "Add": 1})
        one = "LeakyRelu" if rectifier == "learned scalar" else "PRelu"
        assert nodes == rest + collections.Counter({one: 1})
    x = images(shape=_shape(rectifier))
    np.testing.assert_array_equal(formats.load(str(fused))(x), formats.load(str(keras_onnx))(x))
    np.testing.assert_allclose(formats.load(str(fused))(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("channelwise, node", [(False, "LeakyRelu"), (True, "PRelu")])
def test_export_onnx_node_is_the_layer_within_1e_6(tmp_path, channelwise, node):
    """The rectifier alone, so nothing but it can differ from Keras."""
    layer = keras_lrelu.LeakyReLU(0.25, trainable_alpha=True, channelwise=channelwise)
    inputs = keras.Input((5, 7, 8))
    model = keras.Model(inputs, layer(inputs))
    layer.alpha_weight.assign(SLOPES if channelwise else 0.3)
    x = images(shape=(5, 7, 8))
    model(x[:1])
    assert export_onnx(model, tmp_path / "m.onnx", verbose=False) == 1
    assert onnx_nodes(tmp_path / "m.onnx") == {node: 1}
    np.testing.assert_allclose(
        formats.load(str(tmp_path / "m.onnx"))(x), model.predict(x, verbose=0), atol=1e-6
    )
    assert os.listdir(tmp_path) == ["m.onnx"]  # the temporary file is gone
    export_onnx(model, tmp_path / "keras_nodes.onnx", prelu=False, verbose=False)
    kept = {"Relu": 2, "Neg": 1, "Mul": 1, "Add": 1} if channelwise else {"LeakyRelu": 1}
    assert onnx_nodes(tmp_path / "keras_nodes.onnx") == kept


def test_export_onnx_refuses_a_prelu_that_is_not_a_bool(tmp_path):
    with pytest.raises(ValueError, match=r"`prelu` must be a bool\. Received: prelu='yes'"):
        export_onnx(build("fixed"), tmp_path / "m.onnx", prelu="yes")
    assert os.listdir(tmp_path) == []


def test_fuse_slopes_leaves_a_slope_that_would_broadcast_x_larger():
    """A constant of shape (1, 3) times relu(-x) of shape (2, 1) makes a
    (2, 3) result: no PRelu on x reproduces that, so nothing is fused."""
    import onnx
    from onnx import helper
    from onnx import numpy_helper

    from keras_lrelu.onnx import fuse_slopes

    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Neg", ["x"], ["n"]),
        helper.make_node("Relu", ["n"], ["rn"]),
        helper.make_node("Mul", ["c", "rn"], ["m"]),
        helper.make_node("Add", ["r", "m"], ["y"]),
    ]

    def model(slope):
        graph = helper.make_graph(
            nodes,
            "g",
            [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 1])],
            [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
            [numpy_helper.from_array(np.asarray(slope, "float32"), "c")],
        )
        return helper.make_model(graph)

    wide = model([[-0.1, -0.2, -0.3]])
    assert fuse_slopes(wide) == 0 and [n.op_type for n in wide.graph.node] == [n.op_type for n in nodes]
    narrow = model([[-0.1]])  # one number: LeakyRelu, and the constant goes with the Mul
    assert fuse_slopes(narrow) == 1 and [n.op_type for n in narrow.graph.node] == ["LeakyRelu"]
    assert narrow.graph.node[0].attribute[0].f == np.float32(0.1) and not narrow.graph.initializer


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
