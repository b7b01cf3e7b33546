"""Export formats: one writer and one loader per file an export folder holds.

Each loader runs its file in the file's own runtime, the way a user serving
it would: TensorFlow for the SavedModel, Keras (with keras_lrelu) for
model.keras, the LiteRT interpreter for .tflite, ONNX Runtime for .onnx. It
returns a function from a float32 image batch (raw pixels, as the model card
describes) to class probabilities, so an export can measure every file it
wrote instead of trusting that it exists.
"""

import dataclasses
import hashlib
import importlib.util
import json
import os
import tempfile
import zipfile

import numpy as np

from tuning.errors import UsageError

# --export-formats names, and the file each adds to an export folder
# (model.keras and the card are always written).
FORMATS = {
    "saved_model": "saved_model",
    "litert": "model.tflite",
    "litert_int8": "model_int8.tflite",
    "onnx": "model.onnx",
}
# The packages each format needs beyond TensorFlow (the `deploy` extra).
NEEDS = {"litert": ("ai_edge_litert",), "litert_int8": ("ai_edge_litert",),
         "onnx": ("tf2onnx", "onnxruntime")}
KERAS_FILE = "model.keras"
SAVED_MODEL_PARTS = ("saved_model.pb", "fingerprint.pb", "variables", "assets")
# Full-integer quantization calibrates on at most this many training images.
CALIBRATION_IMAGES = 500


def parse(text):
    """`saved_model,onnx` as a list of format names, or UsageError."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise UsageError(
            f"unknown export format {', '.join(unknown) or repr(text)}; "
            f"use a comma list of {','.join(FORMATS)}"
        )
    for name in names:
        missing = [m for m in NEEDS.get(name, ()) if importlib.util.find_spec(m) is None]
        if missing:
            raise UsageError(
                f"export format {name} needs {' and '.join(missing)}: pip install "
                f"'keras_lrelu[deploy]', or leave {name} out of --export-formats"
            )
    return list(dict.fromkeys(names))


def write_converted(model, folder, names, calibration_images):
    """Writes the formats `names` of `model` (a model on the TensorFlow
    backend) into `folder`, beside its model.keras; returns the file names
    the folder then holds, model.keras first."""
    if "saved_model" in names:  # fills the folder's top level, beside model.keras
        model.export(folder, format="tf_saved_model", verbose=False)
    for name in ("litert", "litert_int8", "onnx"):
        if name not in names:
            continue
        path = os.path.join(folder, FORMATS[name])
        if name == "litert_int8":
            write_litert_int8(model, path, calibration_images)
        else:
            if name == "onnx":
                model(calibration_images[:1])  # the ONNX exporter needs a model called once
            model.export(path, format=name, verbose=False)
    return [KERAS_FILE] + [FORMATS[name] for name in FORMATS if name in names]


def write_litert_int8(model, path, calibration_images):
    """Full-integer int8 LiteRT, calibrated on `calibration_images`; input
    and output stay float32, so callers pass the same raw pixels."""
    import tensorflow as tf

    images = np.asarray(calibration_images[:CALIBRATION_IMAGES], "float32")
    with tempfile.TemporaryDirectory() as saved_model:
        model.export(saved_model, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([image[None]] for image in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        flatbuffer = converter.convert()
    with open(path, "wb") as f:
        f.write(flatbuffer)


def size_bytes(folder, name):
    """Bytes on disk of one format in an export folder."""
    if name != "saved_model":
        return os.path.getsize(os.path.join(folder, name))
    total = 0
    for part in SAVED_MODEL_PARTS:
        path = os.path.join(folder, part)
        if os.path.isfile(path):
            total += os.path.getsize(path)
        for root, _, files in os.walk(path):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


@dataclasses.dataclass(frozen=True)
class Served:
    """A loaded model: called on a float32 batch, it returns the outputs.
    `input_shape` is one image's (H, W, C) and `classes` the outputs per
    image, as the file declares them (None where it leaves one open)."""

    run: object
    input_shape: tuple
    classes: object

    def __call__(self, batch):
        return self.run(batch)


def _served(run, input_shape, output_shape):
    return Served(run, tuple(_dimension(d) for d in list(input_shape)[1:]), _dimension(list(output_shape)[-1]))


def _dimension(size):
    """A declared axis size, or None for an open one (None, -1, "N")."""
    return int(size) if isinstance(size, (int, np.integer)) and size > 0 else None


def digests(folder):
    """`{path relative to folder: sha256}` of every file under `folder`."""
    return {name: sha256(os.path.join(folder, name)) for name in _files_under(folder)}


def _files_under(folder):
    """Every file under `folder`, as a path relative to it with `/`."""
    for root, _, files in os.walk(folder):
        for name in files:
            yield os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")


def sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def model_files(path):
    """The files that loading `path` reads, relative to its export folder:
    a SavedModel's every file, or the model file itself."""
    if not os.path.isdir(path):
        return [os.path.basename(path)]
    files = []
    for part in SAVED_MODEL_PARTS:
        if os.path.isfile(os.path.join(path, part)):
            files.append(part)
        else:
            files += [f"{part}/{name}" for name in _files_under(os.path.join(path, part))]
    return files


def load(path, threads=None):
    """`path` (an export folder's SavedModel, or a .keras, .tflite or .onnx
    file) loaded in its own runtime, as a `Served`.

    Raises:
        UsageError: for a file of another kind, or one its runtime refuses.
    """
    if os.path.isdir(path):
        loader = _load_saved_model
    else:
        loader = {
            ".keras": _load_keras, ".tflite": _load_litert, ".onnx": _load_onnx,
        }.get(os.path.splitext(path)[1])
    if loader is None:
        raise UsageError(f"{path} is not a SavedModel folder or a .keras, .tflite or .onnx file")
    try:
        return loader(path, threads)
    except UsageError:
        raise
    except Exception as error:  # each runtime has its own error types
        message = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise UsageError(f"cannot load {path}: {message}") from None


def accuracy(run, images, labels, batch_size=250):
    """The share of `images` whose most probable class is the label."""
    hits = 0
    for start in range(0, len(images), batch_size):
        probabilities = run(images[start:start + batch_size])
        hits += int((np.argmax(probabilities, axis=1) == labels[start:start + batch_size]).sum())
    return hits / len(images)


def _load_saved_model(path, threads):
    import tensorflow as tf

    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"{path} holds no SavedModel (no saved_model.pb)")
    served = tf.saved_model.load(path)  # kept alive by the closure
    (spec,), _ = served.serve.concrete_functions[0].structured_input_signature
    output = served.serve.concrete_functions[0].structured_outputs

    def run(batch):
        return served.serve(np.asarray(batch, "float32")).numpy()

    return _served(run, spec.shape.as_list(), output.shape.as_list())


def save_keras_model(model, path):
    """`model` saved as a .keras file at `path` that loads on every backend.

    On PyTorch, Keras 3.15 records a compiled model's optimizer under the
    module of its PyTorch class (`keras.src.backend.torch.optimizers.
    torch_adam`), so loading the file on TensorFlow or JAX imports torch
    (6 s here) and fails where torch is not installed. The file is
    rewritten to name the optimizer's public class (`keras.optimizers.Adam`),
    which each backend resolves to its own, as it does for a file saved on
    TensorFlow or JAX."""
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        if not _name_the_public_optimizer(config):
            return
        members = [(info, archive.read(info)) for info in archive.infolist()]
    rewritten = f"{path}.tmp"
    with zipfile.ZipFile(rewritten, "w") as archive:
        for info, data in members:
            archive.writestr(info, json.dumps(config) if info.filename == "config.json" else data)
    os.replace(rewritten, path)


def _name_the_public_optimizer(config):
    """Points a .keras config's optimizer at `keras.optimizers` where Keras
    named one backend's own class of it; returns whether it did."""
    import keras

    optimizer = (config.get("compile_config") or {}).get("optimizer")
    if not isinstance(optimizer, dict) or not str(optimizer.get("module")).startswith("keras.src.backend."):
        return False
    if not isinstance(getattr(keras.optimizers, str(optimizer.get("class_name")), None), type):
        return False
    optimizer["module"] = "keras.optimizers"
    return True


def load_keras_model(path):
    """A .keras file as a Keras model, on this process's backend."""
    import keras

    import keras_lrelu  # noqa: F401  (registers the layers)

    return keras.models.load_model(path)  # safe_mode: no Lambda, no TFSMLayer


def _load_keras(path, threads):
    model = load_keras_model(path)
    run = lambda batch: model.predict(np.asarray(batch, "float32"), verbose=0)  # noqa: E731
    return _served(run, model.input_shape, model.output_shape)


def _load_litert(path, threads):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=threads)
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    shape = [None]

    def run(batch):
        batch = np.asarray(batch, source["dtype"])
        if shape[0] != batch.shape:  # the batch axis is dynamic: size it once per shape
            interpreter.resize_tensor_input(source["index"], batch.shape)
            interpreter.allocate_tensors()
            shape[0] = batch.shape
        interpreter.set_tensor(source["index"], batch)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()

    return _served(run, source["shape_signature"], target["shape_signature"])


def _load_onnx(path, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    source, target = session.get_inputs()[0], session.get_outputs()[0]
    run = lambda batch: session.run(None, {source.name: np.asarray(batch, "float32")})[0]  # noqa: E731
    return _served(run, source.shape, target.shape)
