"""The datasets Keras downloads (keras.datasets), with one error line offline."""

import contextlib
import socket
import sys

from tuning.errors import UsageError

NAMES = ("mnist", "fashion_mnist", "cifar10", "cifar100")
CLASS_NAMES = {
    "fashion_mnist": [
        "t-shirt/top",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    ],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}


class _HeldFirstLine:
    """A stdout that holds back Keras's "Downloading data from URL" line
    until the download shows progress, so an offline download is one error
    line and nothing before it; a real download prints as Keras prints it."""

    def __init__(self, stream):
        self.stream, self.held = stream, ""

    def write(self, text):
        if self.held is None:
            return self.stream.write(text)
        self.held += text
        _, newline, rest = self.held.partition("\n")
        if newline and rest:  # more than the first line: the download runs
            self.stream.write(self.held)
            self.held = None
        return len(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


def read(name, image_size=None):
    import keras

    try:
        held = _HeldFirstLine(sys.stdout)
        with contextlib.redirect_stdout(held):
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        if held.held:  # a download that printed no progress
            sys.stdout.write(held.held)
    except Exception as error:
        network = _network_error(error)
        if network is None:
            raise
        raise UsageError(
            f"could not download {name} ({getattr(network, 'reason', network)}); "
            "check the network, or use the bundled 'mnist5k' or 'digits'"
        ) from None
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), CLASS_NAMES.get(name)


def _network_error(error):
    """The network error behind `error` (keras.utils.get_file re-raises a
    URLError as a plain Exception), or None."""
    import urllib.error

    while error is not None:
        if isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError, socket.gaierror)):
            return error
        error = error.__cause__ or error.__context__
    return None
