"""The dataset sources, as a registry: one `Source` entry per kind of
source --dataset can name.

A new source is one module beside this one (a `read(name, image_size)`
that returns (x_train, y_train, x_test or None, y_test or None, class names
or None)) and one entry in SOURCES, which says which names it serves and
the scale of its raw pixels; --dataset's help, the unknown-dataset error and
`tuning.data.load` all read the entries.
"""

import dataclasses
import os
from collections.abc import Callable

from tuning.data import bundled
from tuning.data import downloads
from tuning.data import folders
from tuning.data import npz
from tuning.errors import UsageError

DEFAULT = "mnist5k"


@dataclasses.dataclass(frozen=True)
class Source:
    """A kind of dataset source, as --dataset's help calls it (`kind`): it
    serves the datasets `names` by name, or, for a path, those `claims(name)`
    accepts; `read(name, image_size)` reads one. `pixel_max` is the largest
    value its raw pixels can take (255.0 for 8-bit images), for every
    dataset it serves or by name (a dict); None: the data's own scale (its
    training set's largest value), for arrays of any scale."""

    kind: str
    read: Callable[[str, tuple[int, int] | None], tuple]
    pixel_max: float | dict[str, float] | None = None
    names: tuple[str, ...] = ()
    claims: Callable[[str], bool] | None = None

    def serves(self, name: str) -> bool:
        return name in self.names or (self.claims is not None and self.claims(name))

    def scale(self, name: str) -> float | None:
        """The largest raw pixel value of dataset `name`, or None (its own)."""
        return self.pixel_max.get(name) if isinstance(self.pixel_max, dict) else self.pixel_max


SOURCES = (
    Source("bundled", bundled.read, bundled.PIXEL_MAX, names=bundled.NAMES),
    Source("downloaded", downloads.read, 255.0, names=downloads.NAMES),
    Source(
        "a .npz with x_train/y_train[/x_test/y_test]",
        npz.read,
        claims=lambda name: name.endswith(".npz") or os.path.isfile(name),
    ),
    Source("a folder with one subfolder of images per class", folders.read, 255.0, claims=os.path.isdir),
)


def source_for(name: str) -> Source:
    """The first entry of SOURCES that serves `name`, or UsageError naming what does."""
    for source in SOURCES:
        if source.serves(name):
            return source
    named = [n for source in SOURCES for n in source.names]
    paths = [source.kind for source in SOURCES if not source.names]
    raise UsageError(f"unknown dataset {name!r}: use one of {', '.join(named)}, {' or '.join(paths)}")


def help_text() -> str:
    """--dataset's help, from the entries."""
    parts = [
        f"{', '.join(source.names)} ({source.kind})" if source.names else source.kind for source in SOURCES
    ]
    return f"{', '.join(parts[:-1])}, or {parts[-1]}; default: {DEFAULT}"
