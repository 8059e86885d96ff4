"""The phone pages' generated blocks (``common.report``) and the shipped phone run
(``common.reproduce``), read from results/phone_price only."""

from __future__ import annotations

from common.report import RESULTS, first_table, table_rows

SINGLE_RUNS = {"phone_price/classification-global-seed0": "python phone_price/train.py"}
SUMMARY = RESULTS / "phone_price" / "summary.md"
BLOCKS = {
    "phone_price": lambda: first_table(SUMMARY),
    "phone_headline": lambda: table_rows(
        SUMMARY,
        lambda model, norm: norm == "global" and (model.startswith("MLP, best") or model in (
            "logreg_tuned", "MLP, classification head"))),
}
