"""The files of an export folder: their digests (the card's sha256) and sizes."""

import hashlib
import os

from tuning.export import saved_model


def digests(folder):
    """`{path relative to folder: sha256}` of every file under `folder`."""
    return {name: sha256(os.path.join(folder, name)) for name in _files_under(folder)}


def _files_under(folder):
    """Every file under `folder`, as a path relative to it with `/`."""
    for root, _, files in os.walk(folder):
        for name in files:
            yield os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")


def sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def model_files(path):
    """The files that loading `path` reads, relative to its export folder:
    a SavedModel's every file, or the model file itself."""
    if not os.path.isdir(path):
        return [os.path.basename(path)]
    files = []
    for part in saved_model.PARTS:
        if os.path.isfile(os.path.join(path, part)):
            files.append(part)
        else:
            files += [f"{part}/{name}" for name in _files_under(os.path.join(path, part))]
    return files


def size_bytes(folder, name):
    """Bytes on disk of one format's file in an export folder (a SavedModel: all its parts)."""
    if name != "saved_model":
        return os.path.getsize(os.path.join(folder, name))
    total = 0
    for part in saved_model.PARTS:
        path = os.path.join(folder, part)
        if os.path.isfile(path):
            total += os.path.getsize(path)
        for root, _, names in os.walk(path):
            total += sum(os.path.getsize(os.path.join(root, f)) for f in names)
    return total
