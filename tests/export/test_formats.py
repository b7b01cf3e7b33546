"""tuning/export/formats.py: a format is one registry entry, and everything that
offers, writes or loads formats reads the entries."""

import pytest

from tuning.errors import UsageError
from tuning.export import formats
from tuning.export.served import Served


def test_a_new_entry_is_offered_written_and_loaded(tmp_path, monkeypatch):
    written = []

    def write(model, path, calibration_images):
        written.append((model, path, len(calibration_images)))
        with open(path, "w") as f:
            f.write("plain")

    def load(path, threads=None):
        return Served(lambda batch: [[1.0]] * len(batch), (2, 2, 1), 1)

    entry = formats.Format("plain", "model.plain", (), write, load, "a plain file")
    monkeypatch.setitem(formats.FORMATS, "plain", entry)
    assert formats.parse("plain,onnx,plain") == ["plain", "onnx"]
    assert "plain (model.plain)" in formats.help_text() and formats.help_text().endswith(",plain")
    assert formats.write_converted("the model", str(tmp_path), ["plain"], [0, 1, 2]) == [
        "model.keras",
        "model.plain",
    ]
    assert written == [("the model", str(tmp_path / "model.plain"), 3)]
    served = formats.load(str(tmp_path / "model.plain"))
    assert served.input_shape == (2, 2, 1) and served([0, 0]) == [[1.0], [1.0]]
    with pytest.raises(
        UsageError,
        match=r"unknown export format tiff; use a comma list of "
        r"saved_model,litert,litert_int8,onnx,plain",
    ):
        formats.parse("tiff")
    with pytest.raises(
        UsageError,
        match=r"x\.bin is not a SavedModel folder or a \.keras, \.tflite, \.onnx "
        r"or \.plain file",
    ):
        formats.load(str(tmp_path / "x.bin"))


def test_a_format_whose_package_is_missing_is_refused_by_name(monkeypatch):
    entry = formats.Format("exotic", "model.exotic", ("no_such_package_here",), None, None, "exotic")
    monkeypatch.setitem(formats.FORMATS, "exotic", entry)
    with pytest.raises(UsageError, match=r"export format exotic needs no_such_package_here: pip install "):
        formats.parse("exotic")
    assert formats.file_name("saved_model") == "saved_model" and formats.FORMATS["saved_model"].in_folder
