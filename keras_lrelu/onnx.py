"""ONNX export with each learned slope as one native node.

Keras's ONNX export (tf2onnx) writes a learned slope, ours and
`keras.layers.PReLU` alike, as the five nodes of
`relu(x) + (-alpha) * relu(-x)`: tf2onnx has no rewrite to ONNX's own
operators. `export_onnx` exports as Keras does, then replaces each such
group with one node on the same input: `PRelu` for a slope per channel,
and `LeakyRelu` for a single learned slope (its value is a constant once
exported, and ONNX Runtime 1.32's CPU `LeakyRelu` kernel runs in about a
twentieth of its `PRelu` kernel's time: benchmarks/onnx_nodes.py). A fixed or
randomized slope already goes out as one `LeakyRelu` node. The values do
not change: `(-alpha) * (-x)` is `alpha * x` exactly in floating point.
"""

import collections
import os


def export_onnx(model, filepath, prelu=True, **kwargs):
    """`model.export(filepath, format="onnx")`, each learned slope one node.

    Example:

    ```python
    model(x[:1])  # the ONNX exporter needs a model called once
    keras_lrelu.onnx.export_onnx(model, "model.onnx")
    # [n.op_type for n in onnx.load("model.onnx").graph.node]
    # ['Transpose', 'Conv', 'PRelu', 'Transpose', ...]
    ```

    Args:
        model: A Keras model, on the TensorFlow backend (as for Keras's
            own ONNX export).
        filepath: Str or path. The `.onnx` file to write; it appears whole
            or not at all (written to a temporary file beside it, then
            renamed).
        prelu: Bool. Write a slope per channel as one `PRelu` node; False
            keeps Keras's five nodes for it (ONNX Runtime's CPU kernels run
            those faster than its `PRelu`). A single learned slope becomes
            one `LeakyRelu` node either way. Defaults to True.
        **kwargs: Passed to `model.export`, e.g. `verbose=False`.

    Returns:
        Int: how many groups of nodes became one node.
    """
    import onnx

    if not isinstance(prelu, bool):
        raise ValueError(f"`prelu` must be a bool. Received: prelu={prelu!r}")
    filepath = os.fspath(filepath)
    temporary = f"{filepath}.partial-{os.getpid()}"
    try:
        model.export(temporary, format="onnx", **kwargs)
        graph = onnx.load(temporary)
        fused = fuse_slopes(graph, prelu)
        onnx.save(graph, temporary)
        os.replace(temporary, filepath)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return fused


def fuse_slopes(model, prelu=True):
    """Replaces, in an `onnx.ModelProto` (in place), every
    `Add(Relu(x), Mul(c, Relu(Neg(x))))` (in either operand order, its inner
    nodes used nowhere else) whose constant `c` broadcasts onto `x` with one
    node: `LeakyRelu(x, alpha=-c)` where `c` is one number, else (with
    `prelu`) `PRelu(x, -c)`. Returns how many it replaced."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    shapes = _shapes(model)
    producers = {output: node for node in graph.node for output in node.output}
    uses = collections.Counter(name for node in graph.node for name in node.input)
    uses.update(output.name for output in graph.output)
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)

    fused, dropped, released = {}, set(), set()
    for add in graph.node:
        match = _match(add, producers, uses, constants) if add.op_type == "Add" else None
        slope = None if match is None else _unidirectional(match[1], shapes.get(match[0]))
        if slope is None or (slope.size > 1 and not prelu):
            continue
        x, _, group, constant = match
        if slope.size == 1:  # ONNX Runtime's LeakyRelu kernel is many times faster than its PRelu
            node = onnx.helper.make_node(
                "LeakyRelu", [x], [add.output[0]], name=f"{add.name}/LeakyRelu", alpha=float(slope.item())
            )
        else:
            name = _unique(f"{add.output[0]}/slope", constants)
            constants[name] = slope
            graph.initializer.append(numpy_helper.from_array(slope, name))
            node = onnx.helper.make_node("PRelu", [x, name], [add.output[0]], name=f"{add.name}/PRelu")
        fused[id(add)] = node
        released.add(constant)
        dropped.update(id(node) for node in group)
    # The new node takes the Add's place: x is made before it, its output read after.
    nodes = [fused.get(id(node), node) for node in graph.node if id(node) in fused or id(node) not in dropped]
    used = {name for node in nodes for name in node.input} | {output.name for output in graph.output}
    # The negated slopes the Mul nodes read, now read by nothing.
    unused = {match_constant for match_constant in released if match_constant not in used}
    nodes = [node for node in nodes if not (node.op_type == "Constant" and node.output[0] in unused)]
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [init for init in graph.initializer if init.name not in unused]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return len(fused)


def _shapes(model):
    """{value name: its dims (None where unknown)}, from ONNX shape inference."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(model).graph
    return {
        value.name: [
            d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim
        ]
        for value in [*inferred.value_info, *inferred.input, *inferred.output]
        if value.type.tensor_type.HasField("shape")
    }


def _match(add, producers, uses, constants):
    """(x, alpha, the five nodes, the name of -alpha) if `add` ends the
    pattern, else None."""
    for positive, scaled in (add.input, reversed(add.input)):
        relu, mul = producers.get(positive), producers.get(scaled)
        if not (relu and mul and relu.op_type == "Relu" and mul.op_type == "Mul"):
            continue
        x = relu.input[0]
        for constant, other in (mul.input, reversed(mul.input)):
            inner = producers.get(other)
            negate = inner and inner.op_type == "Relu" and producers.get(inner.input[0])
            if constant not in constants or not (negate and negate.op_type == "Neg" and negate.input[0] == x):
                continue
            group = [negate, inner, relu, mul, add]
            if all(uses[node.output[0]] == 1 for node in group[:-1]):
                return x, -constants[constant], group, constant
    return None


def _unidirectional(slope, shape):
    """`slope` reshaped for PRelu (it must broadcast onto `x` without making
    it larger: leading ones dropped), or None if it cannot be shown to."""
    dims = list(slope.shape)
    while dims and dims[0] == 1:
        dims.pop(0)
    if not dims:
        return slope.reshape((1,))
    if shape is None or len(dims) > len(shape):
        return None
    if any(size != 1 and size != target for size, target in zip(reversed(dims), reversed(shape))):
        return None
    return slope.reshape(dims)


def _unique(name, taken):
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    return candidate
