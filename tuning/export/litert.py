"""LiteRT flatbuffers, float32 and full-integer int8, served by the LiteRT
interpreter (ai-edge-litert)."""

import tempfile

import numpy as np

from tuning.export.served import served

# Full-integer quantization calibrates on at most this many training images.
CALIBRATION_IMAGES = 500


def write_float(model, path, calibration_images):
    model.export(path, format="litert", verbose=False)


def write_int8(model, path, calibration_images):
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


def load(path, threads=None):
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

    return served(run, source["shape_signature"], target["shape_signature"])
