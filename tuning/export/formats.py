"""The export formats, as a registry: one `Format` entry per file an export
folder may hold besides model.keras and the card.

A new format is one module beside this one (a `write` on the TensorFlow
backend and a `load` in the file's own runtime, returning a `Served`) and
one entry in FORMATS, which names every file its `load` reads and whether
a plain export writes it; `--export-formats`, its help, default and
errors, the export, the card's measurements and sha256 checks, and
`predict` all read the entries.

Each loader runs its file the way a user serving it would: TensorFlow for
the SavedModel, Keras (with keras_lrelu) for model.keras, the LiteRT
interpreter for .tflite, ONNX Runtime for .onnx. It returns a function from
a float32 image batch (raw pixels, as the model card describes) to class
probabilities, so an export measures every file it wrote.
"""

import dataclasses
import importlib.util
import os
from collections.abc import Callable

import numpy as np

from tuning.errors import UsageError
from tuning.export import files
from tuning.export import keras_file
from tuning.export import litert
from tuning.export import onnx
from tuning.export import saved_model
from tuning.export.served import Served  # the type every `load` returns

KERAS_FILE = keras_file.FILE
CALIBRATION_IMAGES = litert.CALIBRATION_IMAGES


@dataclasses.dataclass(frozen=True)
class Format:
    """`name` (for --export-formats) adds `file` to an export folder (the
    folder itself for a SavedModel); it needs the packages `needs` beyond
    TensorFlow, is written by `write(model, path, calibration_images)` on
    the TensorFlow backend and read by `load(path, threads)`, which reads
    the folder's files `reads` too (each checked against the card's sha256
    before loading, as `file` is). `default`: whether an export without
    --export-formats writes it."""

    name: str
    file: str
    needs: tuple[str, ...]
    write: Callable[[object, str, np.ndarray], None]  # (a Keras model on TensorFlow, path, images)
    load: Callable[[str, int | None], Served]
    what: str  # for --help
    reads: tuple[str, ...] = ()
    default: bool = True

    @property
    def in_folder(self):
        """Whether the format fills the export folder itself (a SavedModel) rather than one file in it."""
        return self.file == ""


FORMATS = {
    entry.name: entry
    for entry in (
        Format("saved_model", "", (), saved_model.write, saved_model.load, "TensorFlow SavedModel"),
        Format(
            "litert", "model.tflite", ("ai_edge_litert",), litert.write_float, litert.load, "LiteRT, float32"
        ),
        Format(
            "litert_int8",
            "model_int8.tflite",
            ("ai_edge_litert",),
            litert.write_int8,
            litert.load,
            "LiteRT, full-integer int8",
        ),
        Format("onnx", "model.onnx", ("tf2onnx", "onnxruntime"), onnx.write, onnx.load, "ONNX"),
    )
}


def default_names() -> tuple[str, ...]:
    """The formats an export writes without --export-formats: the entries marked `default`."""
    return tuple(name for name, entry in FORMATS.items() if entry.default)


def loaders():
    """{suffix: load} of the model files `predict` and the export read by name."""
    return {".keras": keras_file.load, **{suffix: f.load for suffix, f in _by_suffix().items()}}


def _by_suffix():
    """{suffix: entry} of the formats that are one file in an export folder."""
    return {os.path.splitext(f.file)[1]: f for f in FORMATS.values() if not f.in_folder}


def loads_with_tensorflow(path: str) -> bool:
    """Whether loading `path` starts TensorFlow: a SavedModel folder or a
    .keras file does; a format's own file (LiteRT, ONNX) is read by its own
    runtime."""
    return os.path.isdir(path) or os.path.splitext(path)[1] not in _by_suffix()


def file_name(name):
    """What format `name` adds to an export folder, as the card lists it."""
    return name if FORMATS[name].in_folder else FORMATS[name].file


def files_read(path: str) -> list[str]:
    """The files that loading `path` (a SavedModel folder, or a model file
    in an export folder) reads, relative to that folder: its own and those
    its format's entry `reads`."""
    if os.path.isdir(path):
        return files.model_files(path)
    entry = _by_suffix().get(os.path.splitext(path)[1])
    return list(dict.fromkeys([os.path.basename(path), *(entry.reads if entry else ())]))


def help_text():
    """The --export-formats help, from the entries."""
    listed = ", ".join(f"{f.name} ({f.file or f.what})" for f in FORMATS.values())
    return f"besides model.keras: {listed}; default: {','.join(default_names())}"


def parse(text: str) -> list[str]:
    """`saved_model,onnx` as a list of format names, or UsageError."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise UsageError(
            f"unknown export format {', '.join(unknown) or repr(text)}; "
            f"use a comma list of {','.join(FORMATS)}"
        )
    for name in names:
        missing = [m for m in FORMATS[name].needs if importlib.util.find_spec(m) is None]
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
    for entry in FORMATS.values():  # the SavedModel first: it fills the folder's top level
        if entry.name in names:
            entry.write(
                model, folder if entry.in_folder else os.path.join(folder, entry.file), calibration_images
            )
    return [KERAS_FILE] + [file_name(name) for name in FORMATS if name in names]


def load(path: str, threads: int | None = None) -> Served:
    """`path` (an export folder's SavedModel, or a model file of a known
    suffix) loaded in its own runtime, as a `Served`.

    Raises:
        UsageError: for a file of another kind, or one its runtime refuses.
    """
    by_suffix = loaders()
    loader = saved_model.load if os.path.isdir(path) else by_suffix.get(os.path.splitext(path)[1])
    if loader is None:
        *others, last = by_suffix
        suffixes = f"{', '.join(others)} or {last}"
        raise UsageError(f"{path} is not a SavedModel folder or a {suffixes} file")
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
        probabilities = run(images[start : start + batch_size])
        hits += int((np.argmax(probabilities, axis=1) == labels[start : start + batch_size]).sum())
    return hits / len(images)
