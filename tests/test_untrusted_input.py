"""Malformed and hostile input through the command line, in-process: each
case is one `error:` line and exit code 2, with no traceback, and changes
no file anywhere (the test's folders included, as every case fails)."""

import io
import json
import os
import re
import shutil
import struct
import zipfile

import keras
import numpy as np
from conftest import cli_in_process
from PIL import Image

from tuning.export import files
from tuning.export import formats

GOOD_X = np.arange(60 * 8 * 8, dtype="uint8").reshape(60, 8, 8) % 251
GOOD_Y = np.arange(60) % 3


def png_bytes(size=(8, 8), mode="L", **save):
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG", **save)
    return buffer.getvalue()


def image_folder(root, name, bad_name, write_bad, images_per_class=1):
    """A dataset folder: classes a and b of good 8x8 PNGs, plus one bad entry in b."""
    for label in ("a", "b"):
        (root / name / label).mkdir(parents=True)
        for i in range(images_per_class):
            (root / name / label / f"{i}.png").write_bytes(png_bytes())
    if write_bad:
        write_bad(root / name / "b" / bad_name)
    return name


def npz(root, name, **arrays):
    np.savez(root / name, **arrays)
    return name


def forged_npz(root, name):
    """x_train.npy whose header declares 10**12 floats and holds 16 bytes."""
    header = str({"descr": "<f4", "fortran_order": False, "shape": (10**12,)}).encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + bytes(16)
    with zipfile.ZipFile(root / name, "w") as archive:
        archive.writestr("x_train.npy", member)
        buffer = io.BytesIO()
        np.save(buffer, GOOD_Y)
        archive.writestr("y_train.npy", buffer.getvalue())
    return name


def tiny_model(outputs=3):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(outputs, activation="softmax")(x))


def export_folder(root, name, model=None, edit=None, card_text=None):
    """An export folder like `search` writes (model.keras and its card with
    sha256), then `edit(card)` or `card_text` to spoil the card."""
    folder = root / name
    folder.mkdir()
    (model or tiny_model()).save(folder / "model.keras")
    card = {
        "class_names": ["zero", "one", "two"],
        "input_shape": [8, 8, 1],
        "pixel_max": 255.0,
        "sha256": {"model.keras": files.sha256(folder / "model.keras")},
    }
    if edit:
        edit(card)
    (folder / "model_card.json").write_text(card_text if card_text is not None else json.dumps(card))
    return str(folder / "model.keras")


def lambda_model():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def tfsm_model(root):
    tiny_model().export(str(root / "wrapped"), format="tf_saved_model", verbose=False)
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.TFSMLayer(str(root / "wrapped"), call_endpoint="serve")(inputs))


def build_cases(work, outside):
    """(label, argv, the error line's pattern), every file they need made."""
    (work / "ok.png").write_bytes(png_bytes())
    (work / "truncated.png").write_bytes(png_bytes()[:40])
    (work / "bomb.png").write_bytes(png_bytes((5000, 5000)))
    os.mkfifo(work / "fifo.png")
    bad_images = {
        "truncated image": (
            "x.png",
            lambda p: p.write_bytes(png_bytes()[:40]),
            r"cannot read image .*x\.png",
        ),
        "random bytes as png": (
            "x.png",
            lambda p: p.write_bytes(os.urandom(256)),
            r"cannot read image .*x\.png: cannot identify",
        ),
        "a FIFO named x.png": ("x.png", os.mkfifo, r"cannot read image .*x\.png: not a regular file"),
        "a symlink loop": (
            "x.png",
            lambda p: os.symlink(p.name, p),
            r"cannot read image .*x\.png: Too many levels",
        ),
        "a symlink out of the folder": (
            "x.png",
            lambda p: os.symlink(p.parents[2] / "ok.png", p),
            r"cannot read image .*x\.png: it links outside ",
        ),
        "a folder named x.png": ("x.png", os.mkdir, r"cannot read image .*x\.png: not a regular file"),
        "pixel bomb small on disk": (
            "x.png",
            lambda p: p.write_bytes(png_bytes((5000, 5000))),
            r"image .*x\.png is 5000x5000 pixels; the limit is 16,777,216 per image",
        ),
        "EPS content named png": (
            "x.png",
            lambda p: p.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"),
            r"cannot read image .*x\.png: cannot identify",
        ),
        "TIFF content named png": (
            "x.png",
            lambda p: Image.new("L", (8, 8)).save(p, "TIFF"),
            r"cannot read image .*x\.png: cannot identify",
        ),
    }
    cases = [
        (
            label,
            ["search", "--dataset", image_folder(work, label.replace(" ", "_"), name, write)],
            "error: " + message,
        )
        for label, (name, write, message) in bad_images.items()
    ]
    cases.append(
        (
            "decoded total over the cap",
            ["search", "--dataset", image_folder(work, "many", "", None, 40), "--image-size", "4096", "4096"],
            r"error: many: 80 images of 4096x4096x1 decode to more than 1,073,741,824 values",
        )
    )
    x, y = GOOD_X, GOOD_Y
    bad_npz = {
        "npz with wrong keys": (dict(images=x, labels=y), r"has no x_train or y_train \(it has: none of "),
        "complex pixels": (
            dict(x_train=x.astype("complex64"), y_train=y),
            r"x_train must be real-valued images",
        ),
        "text pixels": (dict(x_train=x.astype(str), y_train=y), r"x_train must be real-valued images"),
        "flat pixels": (dict(x_train=x.reshape(60, 64), y_train=y), r"x_train must be real-valued"),
        "no images": (
            dict(x_train=x[:0], y_train=y[:0]),
            r"x_train must be real-valued images .*\(0, 8, 8, 1\)",
        ),
        "NaN pixel": (
            dict(x_train=np.where(x == 7, np.nan, x), y_train=y),
            r"x_train has pixels that are NaN, infinite",
        ),
        "inf pixel": (
            dict(x_train=np.where(x == 7, np.inf, x), y_train=y),
            r"x_train has pixels that are NaN, infinite",
        ),
        "pixel beyond float32": (
            dict(x_train=np.where(x == 7, 1e39, x), y_train=y),
            r"x_train has pixels that are NaN",
        ),
        "float labels": (dict(x_train=x, y_train=y + 0.5), r"y_train must be 60 integer class labels"),
        "negative label": (
            dict(x_train=x, y_train=y - 1),
            r"y_train must be 60 integer class labels >= 0; found -1",
        ),
        "uint64 label 2**63": (
            dict(x_train=x, y_train=np.where(y == 2, 2**63, y).astype("uint64")),
            r"y_train must be 60 integer class labels >= 0; found -9223372036854775808",
        ),
        "label 2**40": (
            dict(x_train=x, y_train=np.where(y == 2, 2**40, y)),
            r"the largest label is 1099511627776",
        ),
        "labels for other images": (
            dict(x_train=x, y_train=y[:50]),
            r"y_train must be 60 integer class labels",
        ),
        "x_test without y_test": (dict(x_train=x, y_train=y, x_test=x), r"must have both x_test and y_test"),
        "x_test of another size": (
            dict(x_train=x, y_train=y, x_test=x[:, :4], y_test=y),
            r"x_test images are",
        ),
        "object pixels": (
            dict(x_train=np.array([None] * 60), y_train=y),
            r"object_pixels\.npz: x_train holds Python objects \(pickled data\), which are never loaded",
        ),
        "too few class names": (
            dict(x_train=x, y_train=y, class_names=np.array(["a", "b"])),
            r"2 class names for 3 classes",
        ),
    }
    for label, (arrays, message) in bad_npz.items():
        cases.append(
            (
                label,
                ["search", "--dataset", npz(work, label.replace(" ", "_") + ".npz", **arrays)],
                r"error: .*" + message,
            )
        )
    (work / "random.npz").write_bytes(os.urandom(512))
    np.savez(work / "whole.npz", x_train=x, y_train=y)
    (work / "truncated.npz").write_bytes((work / "whole.npz").read_bytes()[:300])
    np.savez_compressed(
        work / "bomb.npz", x_train=np.zeros((4096, 32, 32), "uint8"), y_train=np.arange(4096) % 3
    )
    cases += [
        (
            "random bytes as npz",
            ["search", "--dataset", "random.npz"],
            r"error: cannot read random\.npz as \.npz: not a zip",
        ),
        (
            "truncated npz",
            ["search", "--dataset", "truncated.npz"],
            r"error: cannot read truncated\.npz as \.npz",
        ),
        (
            "npz member bomb",
            ["search", "--dataset", "bomb.npz"],
            r"error: bomb\.npz: x_train is 4,194,432 bytes uncompressed; the limit is 1,048,576$",
        ),
        (
            "npz header declaring 4 TB",
            ["search", "--dataset", forged_npz(work, "forged.npz")],
            r"error: forged\.npz: x_train declares shape \(1000000000000,\) of float32, more than its 144 bytes hold",
        ),
    ]
    cards = {
        "no card": (None, None, r"no model card beside"),
        "card not JSON": (None, "{not json", r"cannot read the model card"),
        "card a list": (None, "[]", r"the model card .* holds no JSON object"),
        "card without class_names": (
            lambda c: c.pop("class_names"),
            None,
            r"class_names must be a list .*, got none",
        ),
        "class names not text": (
            lambda c: c.update(class_names=[1, 2, 3]),
            None,
            r"class_names must be a list",
        ),
        "huge input_shape": (
            lambda c: c.update(input_shape=[100000, 100000, 3]),
            None,
            r"input_shape must be \[height",
        ),
        "input_shape text": (lambda c: c.update(input_shape="8x8"), None, r"input_shape must be \[height"),
        "pixel_max NaN": (
            None,
            '{"pixel_max": NaN}',
            r"cannot read the model card .*: NaN is not a number JSON allows",
        ),
        "pixel_max Infinity": (None, '{"pixel_max": Infinity}', r"Infinity is not a number JSON allows"),
        "pixel_max null": (
            lambda c: c.update(pixel_max=None),
            None,
            r"pixel_max must be a positive finite number, got None",
        ),
        "card over 4 MB": (
            lambda c: c.update(padding="x" * (5 << 20)),
            None,
            r"the model card .* is over 4 MB",
        ),
        "card without sha256": (lambda c: c.pop("sha256"), None, r"sha256 must be a mapping"),
        "sha256 not hex": (
            lambda c: c["sha256"].update({"model.keras": "abc"}),
            None,
            r"sha256 must be a mapping",
        ),
        "no sha256 for the file": (
            lambda c: c.update(sha256={}),
            None,
            r"the model card lists no sha256 for model\.keras",
        ),
        "swapped model file": (
            lambda c: c["sha256"].update({"model.keras": "0" * 64}),
            None,
            r"model\.keras does not match the sha256 in its model card",
        ),
        "fewer class names than outputs": (
            lambda c: c.update(class_names=["zero", "one"]),
            None,
            r"gives 3 class probabilities, its card names 2 classes",
        ),
        "input_shape not the model's": (
            lambda c: c.update(input_shape=[9, 9, 1]),
            None,
            r"takes images of shape \(8, 8, 1\), its card says \[9, 9, 1\]",
        ),
    }
    for label, (edit, text, message) in cards.items():
        model = export_folder(work, label.replace(" ", "_"), edit=edit, card_text=text)
        if label == "no card":
            os.remove(os.path.join(os.path.dirname(model), "model_card.json"))
        cases.append((label, ["predict", model, "ok.png"], r"error: .*" + message))
    cases += [
        (
            "a Lambda layer",
            ["predict", export_folder(work, "lambda", lambda_model()), "ok.png"],
            r"error: cannot load .*model\.keras: Requested the deserialization of a `Lambda` layer",
        ),
        (
            "a TFSMLayer",
            ["predict", export_folder(work, "tfsm", tfsm_model(work)), "ok.png"],
            r"error: cannot load .*model\.keras: Requested the deserialization of a `TFSMLayer`",
        ),
    ]
    good = export_folder(work, "good")
    os.mkfifo(work / "good" / "model.onnx")
    cases += [
        (
            "predict a FIFO",
            ["predict", good, "fifo.png"],
            r"error: cannot read image fifo\.png: not a regular file",
        ),
        (
            "predict a truncated image",
            ["predict", good, "truncated.png"],
            r"error: cannot read image truncated\.png",
        ),
        (
            "predict a pixel bomb",
            ["predict", good, "bomb.png"],
            r"error: image bomb\.png is 5000x5000 pixels",
        ),
        (
            "predict a missing image",
            ["predict", good, "ok.png", "nope.png"],
            r"error: cannot read image nope\.png: No such file",
        ),
        (
            "a FIFO as the model",
            ["predict", str(work / "good" / "model.onnx"), "ok.png"],
            r"error: .*good/model\.onnx is not a regular file; not loading it$",
        ),
    ]
    numbers = [
        (["search", "--alpha-max", "inf"], r"--alpha-max must be > 0 and <= 1, got inf"),
        (["search", "--alpha-min", "nan"], r"--alpha-min must be > 0 and <= 1, got nan"),
        (["search", "--chief-timeout", "nan"], r"--chief-timeout must be > 0 and <= 86400, got nan"),
        (["search", "--chief-timeout", "0"], r"--chief-timeout must be > 0 and <= 86400, got 0\.0"),
        (["search", "--seed", "-1"], r"--seed must be between 0 and 2147483647, got -1"),
        (["search", "--seed", str(2**31)], r"--seed must be between 0 and 2147483647, got 2147483648"),
        (["search", "--workers", "10000"], r"--workers must be between 0 and \d+, got 10000"),
        (["search", "--max-trials", str(10**9)], r"--max-trials must be between 1 and 10000, got 1000000000"),
        (["search", "--batch-size", "0"], r"--batch-size must be between 1 and 65536, got 0"),
        (["search", "--epochs", str(10**6)], r"--epochs must be between 1 and 10000, got 1000000"),
        (["search", "--export-top", "0"], r"--export-top must be between 1 and 100, got 0"),
        (
            ["search", "--trials-per-process", "-1"],
            r"--trials-per-process must be between 0 and 10000, got -1",
        ),
        (["search", "--image-size", "0", "0"], r"--image-size must be between 1 and 4096, got 0"),
        (["compare", "--image-size", "0", "0"], r"--image-size must be between 1 and 4096, got 0"),
        (["compare", "--seeds", "100000"], r"--seeds must be between 1 and 1000, got 100000"),
        (["dying", "--slopes", "0,nan"], r"--slopes must be between 0 and 1, got nan"),
        (["dying", "--width", "3,0"], r"--width must be between 1 and 4096, got 0"),
        (["dying", "--depth", "0"], r"--depth must be between 1 and 1000, got 0"),
        (["dying", "--steps", "0"], r"--steps must be between 1 and 10000000, got 0"),
    ]
    cases += [(" ".join(argv), argv, "error: " + message + "$") for argv, message in numbers]
    (work / "big.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * (2 << 20))
    (work / "runs" / "mine").mkdir(parents=True)
    (work / "runs" / "mine" / "thesis.tex").write_text("a user's file")
    os.symlink(outside / "project", work / "runs" / "linked")
    (work / "saved_models" / "alpha-mnist5k" / "best").mkdir(parents=True)
    (work / "saved_models" / "alpha-mnist5k" / "best" / "notes.txt").write_text("not an export")
    (work / "saved_models" / "alpha-digits").mkdir(parents=True)
    (work / "saved_models" / "alpha-digits" / "best").write_text("a file")
    plain = r"error: --project must be a plain name \(letters, digits and \._-, at most 100, not \. or \.\.\), got "
    cases += [
        ("--project ..", ["search", "--project", "..", "--overwrite"], plain + r"'\.\.'$"),
        ("--project .", ["search", "--project", ".", "--overwrite"], plain + r"'\.'$"),
        (
            "--project ../outside",
            ["search", "--project", "../../outside/project", "--overwrite"],
            plain + r"'\.\./\.\./outside/project'$",
        ),
        ("--project a/b", ["search", "--project", "a/b"], plain + r"'a/b'$"),
        ("--project empty", ["search", "--project", ""], plain + r"''$"),
        ("--project shell", ["search", "--project", "$(rm -rf ~)"], plain + r"'\$\(rm -rf ~\)'$"),
        ("--project absolute", ["search", "--project", str(outside)], plain),
        (
            "--overwrite a user's folder",
            ["search", "--project", "mine", "--overwrite"],
            r"error: --overwrite deletes only a search project \(a folder holding oracle\.json\) or an empty folder, "
            r"and runs/mine is neither; nothing was deleted$",
        ),
        (
            "--overwrite a symlink",
            ["search", "--project", "linked", "--overwrite"],
            r"error: --overwrite deletes only .* and runs/linked is a symbolic link; nothing was deleted$",
        ),
        (
            "an export over a user's folder",
            ["search"],
            r"error: an export replaces only a folder holding model_card\.json \(an earlier export\), and "
            r"saved_models/alpha-mnist5k/best is neither; move it away",
        ),
        (
            "an export over a file",
            ["search", "--dataset", "digits"],
            r"error: an export replaces only .* is not a folder",
        ),
        (
            "--worker-id a path",
            ["search", "--role", "worker", "--oracle-address", "127.0.0.1:9", "--worker-id", "../x"],
            r"error: --worker-id must be a plain name .*, got '\.\./x'$",
        ),
        (
            "a FIFO as --tls-ca",
            [
                "search",
                "--role",
                "worker",
                "--oracle-address",
                "127.0.0.1:9",
                "--worker-id",
                "w",
                "--tls-ca",
                "fifo.png",
            ],
            r"error: cannot read --tls-ca fifo\.png: not a regular file$",
        ),
        (
            "a huge --tls-ca",
            [
                "search",
                "--role",
                "worker",
                "--oracle-address",
                "127.0.0.1:9",
                "--worker-id",
                "w",
                "--tls-ca",
                "big.pem",
            ],
            r"error: --tls-ca big\.pem is over 1024 KB",
        ),
        (
            "a chief on every interface",
            ["search", "--role", "chief", "--oracle-address", "0.0.0.0:8000"],
            r"error: the chief would serve 0\.0\.0\.0:8000 without TLS",
        ),
        (
            "a chief on a host name",
            ["search", "--role", "chief", "--oracle-address", "chief.example:8000"],
            r"error: the chief would serve chief\.example:8000 without TLS",
        ),
    ]
    return cases


def snapshot(root):
    """Every path under `root` with its type, size and modification time."""
    seen = {}
    for folder, dirs, names in os.walk(root):
        for name in dirs + names:
            info = os.lstat(os.path.join(folder, name))
            seen[os.path.join(folder, name)] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return seen


def test_malformed_input_is_one_error_line_and_changes_no_file(tmp_path, capsys, monkeypatch):
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    (outside / "project").mkdir(parents=True)
    (outside / "project" / "keep.txt").write_text("someone else's")
    # The real cap is 4 GiB; a bomb over it would take a minute to compress.
    monkeypatch.setattr("tuning.data.npz.MAX_NPZ_MEMBER_BYTES", 1 << 20)
    cases = build_cases(work, outside)
    assert len(cases) >= 40
    repository = os.listdir(os.getcwd())
    failures = []
    for label, argv, pattern in cases:
        before = snapshot(tmp_path)
        result = cli_in_process(argv, work, capsys)
        lines = result.stderr.strip().splitlines()
        if (
            result.returncode != 2
            or len(lines) != 1
            or not re.match(pattern, lines[0])
            or "Traceback" in result.stderr
        ):
            failures.append(f"{label}: exit {result.returncode}, stderr {result.stderr[-600:]!r}")
        elif snapshot(tmp_path) != before:
            changed = set(snapshot(tmp_path).items()) ^ set(before.items())
            failures.append(f"{label}: changed {sorted(path for path, _ in changed)[:5]}")
        keras.backend.clear_session()
    assert os.listdir(os.getcwd()) == repository
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
    shutil.rmtree(work / "runs")  # the symlink out of it goes, not what it points to
    assert (outside / "project" / "keep.txt").read_text() == "someone else's"


def test_predict_decodes_and_runs_one_batch_at_a_time(tmp_path, monkeypatch):
    """10,000 images need the memory of a batch: images are decoded as
    their batch comes up, and the model sees batches of at most 256."""
    from tuning.export import predict

    model = export_folder(tmp_path, "export")
    (tmp_path / "a.png").write_bytes(png_bytes())
    decoded, batches = [], []
    to_array, load = predict.to_array, formats.load

    def counting(*args):
        decoded.append(args[-1])
        return to_array(*args)

    def recording(path):
        served = load(path)
        return formats.Served(
            lambda batch: batches.append(len(batch)) or served(batch), served.input_shape, served.classes
        )

    monkeypatch.setattr(predict, "to_array", counting)
    monkeypatch.setattr(formats, "load", recording)
    results = predict.predict(model, [str(tmp_path / "a.png")] * 600)
    assert next(results)[0] == "a.png" and len(decoded) == 256
    assert len(list(results)) == 599 and len(decoded) == 600
    assert batches == [256, 256, 88]


def test_predict_prints_labels_and_names_with_control_characters_escaped(tmp_path, capsys):
    hostile = ["\x1b[2J\x1b[31mzero", "one\nFAKE\t1.0000", "two\r"]
    model = tiny_model()
    dense = model.layers[-1]
    dense.set_weights([np.zeros_like(dense.get_weights()[0]), np.array([5.0, 0.0, 0.0], "float32")])
    model = export_folder(tmp_path, "export", model, edit=lambda card: card.update(class_names=hostile))
    (tmp_path / "b\x1b[31m.png").write_bytes(png_bytes())
    result = cli_in_process(["predict", model, "b\x1b[31m.png"], tmp_path, capsys)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    (line,) = result.stdout.splitlines()
    name, label, probability = line.split("\t")
    assert name == "b\\x1b[31m.png"
    # Class 0 whatever the image: softmax([5, 0, 0]).
    assert label == "\\x1b[2J\\x1b[31mzero" and probability == "0.9867"
