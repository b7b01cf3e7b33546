"""The user's own network as the searched one: `--model FILE.keras`, or a
Keras model or a `build(activation)` function given to tuning.api.search.

Each configuration is the model with its ReLUs made the searched rectifier
by keras_lrelu.convert() (ReLU itself is the model untouched), started from
weights re-initialised from repeat j's seed (`init="fresh"`, the same in
every configuration) or from the model's own (`"pretrained"`), and compiled
as the model was, else as the suite's CNN is.
"""

import hashlib
import itertools
import os
import warnings
import zipfile

import keras

from keras_lrelu import _compat as compat
from keras_lrelu.convert import convert
from keras_lrelu.convert import iter_layers
from keras_lrelu.convert import relus_to_replace
from tuning.errors import UsageError
from tuning.search.hypermodel import RectifierHyperModel
from tuning.search.hypermodel import make_activation

# A .keras file is a zip: its declared sizes are capped before Keras reads any of it.
MODEL_FILE_BYTES_MAX = 4 << 30
CONFIG_BYTES_MAX = 64 << 20
SUITE_COMPILE = {
    "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 1e-3}},
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
}
# Losses for one-hot labels: the suite's labels are class indices.
ONE_HOT_LOSSES = {"categorical_crossentropy", "CategoricalCrossentropy", "binary_crossentropy"}


class UserModel(RectifierHyperModel):
    """The search over mode and alpha of a user's network (a `BaseNetwork`)."""

    def __init__(self, base, **kwargs):
        super().__init__(**kwargs)
        self.base = base

    def network(self, mode, alpha):
        return self.base.build(mode, alpha, self.run_seed)

    def describe(self):
        return dict(self.base.description, sha256=self.base.fingerprint)

    @property
    def notes(self):
        return self.base.notes


class BaseNetwork:
    """A checked user network: `build(mode, alpha, seed)` makes one
    configuration's compiled model; `description` is what the card says
    of it, `fingerprint` what a resumed search must keep, `notes` the
    lines worth printing once."""

    def __init__(self, label, model=None, function=None, init="fresh", description=None):
        self.label, self.model, self.function, self.init = label, model, function, init
        self.description = dict(description or {}, init=init)
        self.notes = []
        self.compile_config = None
        self.fingerprint = None

    def build(self, mode, alpha, seed):
        """The model of configuration (mode, alpha); the caller has seeded Keras by `seed`."""
        seeds = itertools.count(seed)

        def rectifier(name=None):
            return make_activation(mode, alpha, seed=next(seeds), name=name)

        if self.function is not None:
            model = self.function(rectifier)
        else:
            # A clone draws fresh weights from the seed set; nested models too.
            model = keras.models.clone_model(self.model, recursive=True)
            if self.init == "pretrained":
                model.set_weights(self.model.get_weights())
            if mode != "relu":
                with warnings.catch_warnings():  # named once, when the model was checked
                    warnings.filterwarnings("ignore", message="convert\\(\\) left these layers")
                    model = convert(model, rectifier=rectifier)
        model.compile_from_config(self.compile_config)
        # Built now, as the suite's CNN is: a checkpoint holds the optimizer's state too.
        model.optimizer.build(model.trainable_variables)
        return model


def prepare(source, init, dataset, seed=0):
    """The checked `BaseNetwork` of `source` (a .keras path, a Keras model,
    or a function `build(activation) -> keras.Model`) for `dataset`.

    Raises:
        UsageError: for a file that is missing, not a .keras file, too large
            or unloadable in Keras's safe mode; a subclassed model; one with
            no ReLU to replace; inputs or outputs that do not fit the dataset.
    """
    if callable(source) and not isinstance(source, keras.Model):
        return _from_function(source, init, dataset, seed)
    if isinstance(source, keras.Model):
        label = f"model={source.name!r}"
        model, digest = source, _digest_of_model(source)
        description = {"python": f"the keras.Model {source.name!r} given to tuning.api.search"}
    else:
        label = f"--model {source}"
        model, digest = _load(source, label), _digest_of_file(source)
        description = {"file": os.path.abspath(source)}
    if not isinstance(model, (keras.Sequential, compat.Functional)):
        raise UsageError(
            f"{label} is a subclassed model ({type(model).__name__}), whose call() cannot be rewritten: "
            "build it with the Functional API or Sequential, or pass tuning.api.search a function "
            "build(activation) that puts activation() where its ReLUs go"
        )
    replaced = relus_to_replace(model)
    if not replaced:
        raise UsageError(
            f"{label} has no ReLU to replace (no ReLU layer, Activation('relu') or activation='relu'): "
            "the search would compare the model with itself"
        )
    base = BaseNetwork(label, model=model, init=init, description=description)
    base.description.update(name=model.name, relus_replaced=len(replaced))
    _check_fit(base, model, dataset)
    base.compile_config = _compile_config(model, label)
    base.fingerprint = digest
    with warnings.catch_warnings(record=True) as caught:  # convert() names layers it cannot rewrite
        warnings.simplefilter("always")
        base.build("fixed", 0.01, seed)
    base.notes += [f"note: {label}: {w.message}" for w in caught if "convert()" in str(w.message)]
    return base


def _from_function(function, init, dataset, seed):
    """A build(activation) function, checked by building its ReLU model once."""
    name = getattr(function, "__qualname__", type(function).__name__)
    label = f"model={name}"
    if init != "fresh":
        raise UsageError(
            f"init={init!r} needs a model with weights; {label} is a build function, whose models start fresh"
        )
    base = BaseNetwork(label, function=function, init=init, description={"python": f"the function {name}"})
    calls = []
    keras.utils.set_random_seed(seed)
    model = function(lambda name=None: calls.append(name) or make_activation("relu", 0.0, name=name))
    if not isinstance(model, keras.Model):
        raise UsageError(f"{label} returned {type(model).__name__}, not a keras.Model")
    if not calls:
        raise UsageError(f"{label} never called activation(): no rectifier to search")
    base.description.update(name=model.name, rectifiers=len(calls))
    _check_fit(base, model, dataset)
    base.compile_config = _compile_config(model, label)
    base.fingerprint = hashlib.sha256(model.to_json().encode()).hexdigest()
    return base


def _load(path, label):
    """The model in a .keras file (a regular file, tuning/settings.py has
    checked), loaded in safe mode once its declared sizes are checked."""
    try:
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
    except (OSError, zipfile.BadZipFile) as error:
        raise UsageError(f"{label}: not a .keras file ({error})") from None
    if sizes.get("config.json", 0) > CONFIG_BYTES_MAX or sum(sizes.values()) > MODEL_FILE_BYTES_MAX:
        raise UsageError(
            f"{label}: declares {sum(sizes.values()):,} bytes unpacked (config.json {sizes.get('config.json', 0):,}); "
            f"the limits are {MODEL_FILE_BYTES_MAX:,} and {CONFIG_BYTES_MAX:,}"
        )
    try:
        with warnings.catch_warnings():  # an untrained optimizer's variables are no news
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many kinds for a file it cannot rebuild
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot load {label} in Keras's safe mode: {first}") from None


def _check_fit(base, model, dataset):
    """The model takes the dataset's images and outputs its classes' probabilities."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UsageError(
            f"{base.label} has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "the search needs one image input and one output of class probabilities"
        )
    wanted = (None, *dataset.input_shape)
    given = tuple(model.inputs[0].shape)
    if len(given) != len(wanted) or any(g not in (None, w) for g, w in zip(given[1:], wanted[1:])):
        raise UsageError(
            f"{base.label} takes inputs of shape {given}; the dataset {dataset.name} has images of "
            f"shape {wanted}"
        )
    outputs = tuple(model.outputs[0].shape)
    if len(outputs) != 2 or outputs[-1] != dataset.num_classes:
        raise UsageError(
            f"{base.label} outputs shape {outputs}; the dataset {dataset.name} has {dataset.num_classes} "
            f"classes, so (None, {dataset.num_classes})"
        )
    if not _ends_in_softmax(model):
        raise UsageError(
            f"{base.label} does not end in a softmax: the search exports and serves class probabilities; "
            "end it with Dense(classes, activation='softmax') or a Softmax layer"
        )
    scaled = any(
        isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
        for layer in iter_layers(model)
    )
    if not scaled and dataset.pixel_max > 1:
        base.notes.append(
            f"note: {base.label} has no Rescaling or Normalization layer: it gets {dataset.name}'s pixels "
            f"as stored, 0 to {dataset.pixel_max:g}"
        )


def _ends_in_softmax(model):
    layer = model.layers[-1]
    if isinstance(layer, keras.Model):
        return _ends_in_softmax(layer)
    if isinstance(layer, keras.layers.Softmax):
        return True
    return getattr(getattr(layer, "activation", None), "__name__", None) == "softmax"


def _compile_config(model, label):
    """The model's compile settings (the suite's when it has none), with
    an `accuracy` metric added if it lacks one (the search ranks by
    val_accuracy) and jit_compile "auto" unless it says True."""
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not config:
        return dict(SUITE_COMPILE)
    loss = config.get("loss")
    name = loss.get("class_name") if isinstance(loss, dict) else loss
    if name in ONE_HOT_LOSSES:
        raise UsageError(
            f"{label} is compiled with {name}, for one-hot labels; the search's labels are class "
            "indices: compile it with sparse_categorical_crossentropy, or save it uncompiled for the suite's"
        )
    metrics = config.get("metrics") or []
    if not isinstance(metrics, list):
        raise UsageError(f"{label}: compiled with metrics {metrics!r}; the search needs one list of metrics")
    if "accuracy" not in metrics:
        metrics = [*metrics, "accuracy"]
    # A file holds the jit_compile its machine resolved "auto" to (False on a CPU): "auto" here.
    jit_compile = True if config.get("jit_compile") is True else "auto"
    return dict(config, metrics=metrics, jit_compile=jit_compile)


def _digest_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest_of_model(model):
    digest = hashlib.sha256(model.to_json().encode())
    for weights in model.get_weights():
        digest.update(weights.tobytes())
    return digest.hexdigest()
