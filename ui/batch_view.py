"""What the Batch tab shows of a batch's result, as plain functions: its table (failed rows in red, texts cut short)
and its totals line."""

from __future__ import annotations

from typing import Any

import pandas as pd

from inference.results import BatchResult

COLUMNS = ["file", "status", "time_s", "text"]
PREVIEW_CHARS = 160  # the Batch tab shows each text's start (the downloads have it whole)


# the results' column scrolled to its top when that is above the screen (its progress shows there)
SHOW_RESULTS = """() => {
  const column = document.querySelector('#batch-output');
  if (column && column.getBoundingClientRect().top < 0) column.scrollIntoView({block: 'start'});
}"""


def table(result: BatchResult) -> pd.DataFrame:
    rows = [
        [item.filename, item.status, round(item.processing_time, 2), item.text if item.status == "success" else item.error]
        for item in result.results
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def styled(frame: pd.DataFrame) -> Any:
    """The table with its failed rows in red, so they stand out at a glance, and its times as people write them
    (1.28, not a Styler's 1.280000)."""
    return frame.style.apply(
        lambda row: ["background-color: #fde2e1; color: #991b1b" if row["status"] == "error" else ""] * len(row), axis=1
    ).format({"time_s": "{:.2f}"})


def on_screen(frame: pd.DataFrame, chars: int = PREVIEW_CHARS) -> pd.DataFrame:
    """The table as the Batch tab shows it: each text on one line and cut after ``chars`` characters, so that
    several rows fit the screen (the downloads have every text whole)."""

    def short(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        flat = " ".join(text.split())
        return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"

    return frame.assign(text=frame["text"].map(short))


def summary(result: BatchResult) -> str:
    failed = f"**{result.failed}** failed" if result.failed else "none failed"
    return (
        f"**{result.total}** files: **{result.successful}** read, {failed}, "
        f"in {result.processing_time:.2f} s with `{result.model}`."
    )
