"""ONNX, written by Keras's exporter (tf2onnx) with each learned slope as
one node (keras_lrelu/onnx.py), and served by ONNX Runtime."""

import numpy as np

from tuning.export.served import served


def write(model, path, calibration_images):
    # Here: the command line reads the format registry before it imports Keras.
    from keras_lrelu.onnx import export_onnx

    model(calibration_images[:1])  # the ONNX exporter needs a model called once
    export_onnx(model, path, verbose=False)


def load(path, threads=None):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    source, target = session.get_inputs()[0], session.get_outputs()[0]

    def run(batch):
        return session.run(None, {source.name: np.asarray(batch, "float32")})[0]

    return served(run, source.shape, target.shape)
