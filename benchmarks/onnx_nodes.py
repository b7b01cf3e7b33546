"""ONNX Runtime's CPU kernels for one leaky rectifier, node by node.

Usage: python benchmarks/onnx_nodes.py [--repeats 30] [--shape 1,32,56,56]

The same rectifier on one NCHW tensor, as each ONNX form of it that an
export can hold: one LeakyRelu node (a fixed slope, or export_onnx's single
learned slope), one PRelu node (export_onnx's slope per channel), Keras's
five nodes (Relu, Neg, Relu, Mul, Add: what model.export writes for a
learned slope), and Max(x, alpha * x) (two nodes; the rectifier only for
slopes <= 1). One thread, timed round-robin in one process; every form's
output is checked against the formula first.
"""

import argparse

import numpy as np
import onnx
import onnxruntime
from common import interleaved_ms
from common import machine
from common import report
from onnx import helper
from onnx import numpy_helper


def forms(channels):
    """{name: (nodes, initializers)} of the rectifier on input x, output y."""
    slopes = np.linspace(0.1, 0.5, channels).astype("float32").reshape(channels, 1, 1)
    scalar = np.float32(0.25)
    return (
        {
            "LeakyRelu (one slope)": ([helper.make_node("LeakyRelu", ["x"], ["y"], alpha=float(scalar))], []),
            "PRelu (per channel)": (
                [helper.make_node("PRelu", ["x", "s"], ["y"])],
                [numpy_helper.from_array(slopes, "s")],
            ),
            "five nodes (per channel)": (
                [
                    helper.make_node("Relu", ["x"], ["r"]),
                    helper.make_node("Neg", ["x"], ["n"]),
                    helper.make_node("Relu", ["n"], ["rn"]),
                    helper.make_node("Mul", ["c", "rn"], ["m"]),
                    helper.make_node("Add", ["r", "m"], ["y"]),
                ],
                [numpy_helper.from_array(-slopes, "c")],
            ),
            "Max(x, alpha*x) (per channel)": (
                [helper.make_node("Mul", ["x", "s"], ["m"]), helper.make_node("Max", ["x", "m"], ["y"])],
                [numpy_helper.from_array(slopes, "s")],
            ),
        },
        slopes,
        scalar,
    )


def session(nodes, initializers, shape):
    graph = helper.make_graph(
        nodes,
        "rectifier",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, shape)],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--shape", default="1,32,56,56")
    args = parser.parse_args(argv)
    shape = [int(size) for size in args.shape.split(",")]
    print(f"{machine()}; ONNX Runtime {onnxruntime.__version__}, one thread, tensor {shape}\n")
    x = np.random.RandomState(0).randn(*shape).astype("float32")
    every, slopes, scalar = forms(shape[1])
    runs = {}
    for name, (nodes, initializers) in every.items():
        run = session(nodes, initializers, shape)
        slope = scalar if name.startswith("LeakyRelu") else slopes
        np.testing.assert_allclose(run.run(None, {"x": x})[0], np.where(x > 0, x, slope * x), rtol=1e-6)
        runs[name] = lambda run=run: run.run(None, {"x": x})
    timings = interleaved_ms(runs, rounds=args.repeats)
    leaky = timings["LeakyRelu (one slope)"][0]
    rows = [
        {"form": name, "median_ms": median, "iqr_ms": spread, "vs_LeakyRelu": median / leaky}
        for name, (median, spread) in timings.items()
    ]
    report(rows, "onnx_nodes", ["form", "median_ms", "iqr_ms", "vs_LeakyRelu"])


if __name__ == "__main__":
    main()
