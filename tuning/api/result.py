"""What a search leaves, as one object: its table, verdict, exports and plot."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pandas as pd

from tuning import paths
from tuning.names import CARD_NAME
from tuning.search.results import VERDICT_NAME

if TYPE_CHECKING:  # for the annotations only: importing Keras or matplotlib starts a backend
    import keras
    from matplotlib.figure import Figure

# A search exports at most this many ranks (tuning/limits.py --export-top).
EXPORT_RANKS_MAX = 100


class SearchResult:
    """A finished (or stopped) search, read from its files.

    Attributes:
        table: every trial, as results.csv holds it (a pandas DataFrame).
        verdict: the verdict's numbers and its `text` (verdict.json), or None.
        exported: `{folder: [file paths]}` of the search's exports, best first.
        project_dir: the folder of the search's trials.
    """

    def __init__(
        self, project_dir: str, table: pd.DataFrame, verdict: dict | None, exported: dict[str, list[str]]
    ) -> None:
        self.project_dir = project_dir
        self.table = table
        self.verdict = verdict
        self.exported = exported

    @property
    def decision(self) -> str | None:
        """ "better", "worse", "equivalent", "undecided", or None."""
        return (self.verdict or {}).get("decision")

    @property
    def text(self) -> str:
        """The verdict as the search printed it."""
        return (self.verdict or {}).get("text", "")

    def best_model(self) -> keras.Model:
        """The exported best model (its model.keras), loaded in Keras's safe mode."""
        import keras

        import keras_lrelu  # noqa: F401  (registers the layers the file names)

        if not self.exported:
            raise FileNotFoundError(f"{self.project_dir}: the search exported no model")
        return keras.saving.load_model(os.path.join(next(iter(self.exported)), "model.keras"))

    def plot(self) -> Figure:
        """Validation accuracy against alpha per mode, as a matplotlib
        Figure (results.png's), made without changing pyplot's backend."""
        from tuning.search.results import results_figure

        return results_figure(self.table)

    def __repr__(self) -> str:
        finished = int((self.table["status"] == "COMPLETED").sum())
        return (
            f"<SearchResult {self.project_dir}: {len(self.table)} trials ({finished} completed), "
            f"decision {self.decision!r}, {len(self.exported)} exported>"
        )


def load_result(
    directory: str, project: str, export_dir: str = "saved_models", command: str | None = None
) -> SearchResult:
    """The SearchResult of project `project` in `directory`, with its
    exports in `export_dir/project` (those made by `command`, if given)."""
    project_dir = os.path.join(directory, project)
    csv_path = os.path.join(project_dir, "results.csv")
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"{project_dir} has no results.csv: no search ran there")
    table = pd.read_csv(csv_path, dtype={"trial_id": str})
    verdict_path = os.path.join(project_dir, VERDICT_NAME)
    verdict = None
    if os.path.isfile(verdict_path):
        with open(verdict_path) as f:
            verdict = json.load(f)
    exported = {}
    for rank in range(1, EXPORT_RANKS_MAX + 1):
        folder = paths.export_folder(os.path.join(export_dir, project), rank)
        card_path = os.path.join(folder, CARD_NAME)
        if not os.path.isfile(card_path):
            break
        with open(card_path) as f:
            card = json.load(f)
        if command is not None and card.get("command") != command:
            break  # an earlier search's export
        exported[folder] = sorted(
            os.path.join(root, name) for root, _, names in os.walk(folder) for name in names
        )
    return SearchResult(project_dir, table, verdict, exported)
