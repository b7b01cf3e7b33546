"""A model file loaded in its own runtime, as one callable type."""

import dataclasses

import numpy as np


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


def served(run, input_shape, output_shape):
    """A `Served` from a batch function and the file's declared shapes."""
    return Served(
        run, tuple(_dimension(d) for d in list(input_shape)[1:]), _dimension(list(output_shape)[-1])
    )


def _dimension(size):
    """A declared axis size, or None for an open one (None, -1, "N")."""
    return int(size) if isinstance(size, (int, np.integer)) and size > 0 else None
