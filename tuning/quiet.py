"""Keeping native libraries' log lines off the terminal, and starting
TensorFlow for a command (quietly, its objects frozen out of the garbage
collector's way).

TensorFlow, the LiteRT converter and its interpreter print C++ log lines
straight to file descriptor 2 ("fully_quantize: 0, ...", "Created TensorFlow
Lite XNNPACK delegate"), ignoring TF_CPP_MIN_LOG_LEVEL, so a command's
`error:` line or progress would drown in them. Python exceptions are not
affected: they propagate and print after the block.
"""

import contextlib
import gc
import os
import sys


@contextlib.contextmanager
def native_stderr_silenced():
    """Points file descriptor 2 at /dev/null for the block."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def import_tensorflow_quietly():
    """Imports TensorFlow with the C++ log lines it prints on import and on
    first device look-up sent to /dev/null. Python errors still surface.

    The collector is off during the import: TensorFlow creates objects by
    the hundred thousand and almost none is garbage, yet each collection
    would walk them all again (a sixth of the import's CPU). One collection
    after it frees what little is, then `gc.freeze()` moves the ~500,000
    objects left (TensorFlow, Keras) out of the collector's reach: they live
    as long as the process, and every `keras.backend.clear_session()`
    (KerasTuner calls it before each model it builds) runs a full
    collection, which would otherwise walk them all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with native_stderr_silenced():
            import tensorflow as tf

            tf.config.list_physical_devices()
        gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()
