"""Every private Keras, TensorFlow, PyTorch and KerasTuner internal the project uses.

None of these is public API, so an upgrade may move or drop any of them.
They live here, and only here, so that such an upgrade fails in
tests/layers/test_compat.py by name instead of deep inside a search. TensorFlow
and KerasTuner are imported only when their helpers are used: the plugin
itself needs neither KerasTuner nor (on other backends) TensorFlow.
"""

import importlib
import os

# What keras.models.clone_model itself checks for; keras_lrelu/convert.py imports it from here.
from keras.src.models.functional import Functional  # noqa: F401


def calls(model, layer):
    """`(inputs, outputs)` tensor lists of every call of `layer` inside
    `model`, a Functional or Sequential model (a layer shared between
    models has calls outside it too)."""
    graph = getattr(model, "_functional", model)  # a Sequential wraps one
    in_model = {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}
    return [
        (list(node.input_tensors), list(node.output_tensors))
        for node in layer._inbound_nodes
        if id(node) in in_model
    ]


def in_xla_context():
    """True while TensorFlow traces code that XLA compiles as a whole (a
    model compiled with jit_compile=True)."""
    import tensorflow as tf
    from tensorflow.python.ops.control_flow_util import GraphOrParentsInXlaContext

    return GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def torch_compile_switched_off():
    """Whether TORCH_COMPILE_DISABLE switched torch.compile off, which then
    runs a compiled function as it is (TORCHDYNAMO_DISABLE has torch.compile
    hand the function back itself instead)."""
    import torch._dynamo

    return torch._dynamo.config.disable


def _keras_tuner(module):
    return importlib.import_module(f"keras_tuner.src.{module}")


def hide_failed_trial_tracebacks():
    """KerasTuner prints each failed trial's traceback while its DEBUG flag
    is on; the search prints one line per failed trial instead."""
    _keras_tuner("config").DEBUG = False


def set_chief_timeout(seconds):
    """How long a worker's OracleClient waits for the chief (an hour in
    KerasTuner)."""
    _keras_tuner("distribute.oracle_client").TIMEOUT = seconds


def silence_conditions_print():
    """keras-tuner 1.4.8 left a debug print in `Parent.to_proto`, which runs
    for every conditional hyperparameter sent over gRPC."""
    _keras_tuner("engine.conditions").print = lambda *args, **kwargs: None


def keras_tuner_error_kind(error):
    """What a RuntimeError from KerasTuner's Oracle means, read from its
    message: "reload" (an existing project it cannot reload), "failures"
    (too many trials failed in a row) or None (anything else)."""
    message = str(error)
    if message.startswith("Error reloading `Oracle` from existing project"):
        return "reload"
    if message.startswith("Number of consecutive failures exceeded the limit"):
        return "failures"
    return None


def rebuild_grid_order(oracle):
    """Restores what KerasTuner's GridSearchOracle keeps only in memory (the
    order of the combinations tried, and the trials whose next combination
    is still to be made), which its `oracle.json` lacks: without it a
    reloaded grid search stops after its first trial. Rebuilt from the
    trials, so the search goes on as if never interrupted."""
    import functools

    ids = [trial_id for trial_id in oracle.start_order if trial_id in oracle.trials]

    def compare(a, b):
        values = oracle.trials[a].hyperparameters.values, oracle.trials[b].hyperparameters.values
        return oracle._compare(*values)

    ordered = type(oracle._ordered_ids)()
    for trial_id in sorted(ids, key=functools.cmp_to_key(compare)):
        ordered.insert(trial_id)
    oracle._ordered_ids = ordered
    oracle._populate_next = list(ids)  # end_trial queues every ended trial, in this order


def oracle_servicer_class():
    """KerasTuner's OracleServicer (the chief's side of its gRPC service),
    to subclass with checks; `add_oracle_service` serves an instance."""
    return _keras_tuner("distribute.oracle_chief").OracleServicer


def add_oracle_service(servicer, server):
    """Serves `servicer` (an OracleServicer) on the gRPC `server` as
    KerasTuner's chief does; returns it (its `stop_triggered` says a
    worker was told to end)."""
    _keras_tuner("protos").get_service_grpc().add_OracleServicer_to_server(servicer, server)
    return servicer


def forget_tuner(oracle, tuner_id):
    """Drops `tuner_id` from the tuners the oracle waits for, handing its
    running trial (returned; None if it had none) back to the queue that
    `create_trial` serves first, under the oracle's own lock."""
    oracle_module = _keras_tuner("engine.oracle")
    with oracle_module.LOCKS[oracle]:
        trial = oracle.ongoing_trials.pop(tuner_id, None)
        oracle.tuner_ids.discard(tuner_id)
        if trial is not None:
            oracle._retry_queue.append(trial.trial_id)
        oracle.save()
    return trial


def release_oracle_lock(oracle):
    """Lets go of the oracle's lock if this thread still holds it:
    KerasTuner's `synchronized` releases it only when the method returns,
    so a method that raised would leave every later call (and the chief's
    own end) waiting for ever."""
    import threading

    oracle_module = _keras_tuner("engine.oracle")
    if oracle_module.THREADS[oracle] == threading.current_thread().name:
        oracle_module.THREADS[oracle] = None
        oracle_module.LOCKS[oracle].release()


def connect_client(client, metadata, credentials=None):
    """Points a worker's OracleClient (which KerasTuner connects without
    any security) at the same chief over a channel that sends `metadata`
    with every call, with TLS `credentials` if given."""
    import grpc

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    if credentials is None:
        channel = grpc.insecure_channel(address)
    else:
        channel = grpc.secure_channel(address, credentials)
    channel = grpc.intercept_channel(channel, _metadata_interceptor(metadata))
    client.stub = _keras_tuner("protos").get_service_grpc().OracleStub(channel)


def _metadata_interceptor(metadata):
    import collections

    import grpc

    fields = ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")

    class Details(collections.namedtuple("Details", fields), grpc.ClientCallDetails):
        pass

    class Interceptor(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):
            values = {name: getattr(details, name, None) for name in fields}
            values["metadata"] = [*(values["metadata"] or ()), *metadata]
            return continuation(Details(**values), request)

    return Interceptor()


def chief_may_exit(oracle):
    """KerasTuner's own test that no trial is still running."""
    return _keras_tuner("distribute.oracle_chief").exit_chief(oracle)


def execution_callbacks(tuner, trial, callbacks, execution, checkpoint):
    """What KerasTuner's `Tuner.run_trial` gives each execution of a trial:
    a copy of the search's callbacks (TensorBoard logging to the trial's
    folder for this execution), its TunerCallback, and a SaveBestEpoch that
    keeps the best epoch's weights, here in the file `checkpoint`."""
    tuner_utils = _keras_tuner("engine.tuner_utils")
    copied = tuner._deepcopy_callbacks(callbacks)
    tuner._configure_tensorboard_dir(copied, trial, execution)
    copied.append(tuner_utils.TunerCallback(tuner, trial))
    copied.append(tuner_utils.SaveBestEpoch(objective=tuner.oracle.objective, filepath=checkpoint))
    return copied


def best_epoch_saver(tuner, checkpoint):
    """KerasTuner's SaveBestEpoch, keeping a run's best epoch in `checkpoint`."""
    return _keras_tuner("engine.tuner_utils").SaveBestEpoch(
        objective=tuner.oracle.objective, filepath=checkpoint
    )


def build_and_fit(tuner, trial, *args, **kwargs):
    """One execution of a trial: KerasTuner builds the model (Hyperband
    loading the weights its bracket continues from) and fits it."""
    return tuner._build_and_fit_model(trial, *args, **kwargs)


def build_metrics(model, x, y):
    """Creates the compiled metrics' variables (and the optimizer's, if not
    yet built) from one example of `x` and `y`, as JAX's and PyTorch's
    trainers do before their first step. TensorFlow's creates them while
    tracing its first train or test step, and a tf.function whose first
    trace creates variables is traced again: most of a small model's first
    epoch."""
    model._symbolic_build(data_batch=(x[:1], y[:1]))


def checkpoint_path(tuner, trial_id):
    """The weights file `tuner.load_model(trial)` restores."""
    return tuner._get_checkpoint_fname(trial_id)
