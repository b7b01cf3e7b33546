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
    assert "plain" in formats.default_names()
    assert formats.write_converted("the model", str(tmp_path), ["plain"], [0, 1, 2]) == [
        "model.keras",
        "model.plain",
    ]
    assert written == [("the model", str(tmp_path / "model.plain"), 3)]
    served = formats.load(str(tmp_path / "model.plain"))
    assert served.input_shape == (2, 2, 1) and served([0, 0]) == [[1.0], [1.0]]
    with pytest.raises(
        UsageError, match=r"unknown export format tiff; use a comma list of \S*saved_model\S*,plain$"
    ):
        formats.parse("tiff")
    with pytest.raises(
        UsageError, match=r"x\.bin is not a SavedModel folder or a \.keras, .*or \.plain file$"
    ):
        formats.load(str(tmp_path / "x.bin"))


def test_an_entry_names_the_files_its_loader_reads_and_whether_it_is_in_the_default_set(monkeypatch):
    """A format whose loader also reads the model.keras beside its file (an
    .npz of weights, say): `predict` checks both against the card's sha256;
    one left out of the default set is written only when asked for."""
    entry = formats.Format(
        "weights", "weights.npz", (), None, None, "weights", reads=("model.keras",), default=False
    )
    monkeypatch.setitem(formats.FORMATS, "weights", entry)
    assert formats.files_read("export/weights.npz") == ["weights.npz", "model.keras"]
    assert formats.files_read("export/model.onnx") == ["model.onnx"]
    assert "weights" not in formats.default_names() and "onnx" in formats.default_names()
    assert formats.parse("weights") == ["weights"]
    assert not formats.help_text().endswith("weights")
    monkeypatch.setattr(formats, "FORMATS", {"weights": entry})
    assert formats.files_read("export/weights") == ["weights"]  # no suffix: no format's file


def test_a_format_whose_package_is_missing_is_refused_by_name(monkeypatch):
    entry = formats.Format("exotic", "model.exotic", ("no_such_package_here",), None, None, "exotic")
    monkeypatch.setitem(formats.FORMATS, "exotic", entry)
    with pytest.raises(UsageError, match=r"export format exotic needs no_such_package_here: pip install "):
        formats.parse("exotic")
    assert formats.file_name("saved_model") == "saved_model" and formats.FORMATS["saved_model"].in_folder


def test_the_card_checks_every_file_a_loader_reads(tmp_path, monkeypatch):
    """Swapping the model.keras that an .npz format's loader reads is caught
    by its sha256, as swapping the .npz itself is."""
    from tuning.export import cards
    from tuning.export import files

    entry = formats.Format("weights", "weights.npz", (), None, None, "weights", reads=("model.keras",))
    monkeypatch.setitem(formats.FORMATS, "weights", entry)
    for name in ("weights.npz", "model.keras"):
        (tmp_path / name).write_bytes(name.encode())
    card = {"sha256": files.digests(str(tmp_path))}
    path = str(tmp_path / "weights.npz")
    cards.verify_files(path, card, formats.files_read(path))
    (tmp_path / "model.keras").write_bytes(b"another model")
    with pytest.raises(UsageError, match=r"model\.keras does not match the sha256 in its model card"):
        cards.verify_files(path, card, formats.files_read(path))
