"""Write the real Excel 97-2003 workbook the tests read (tests/test_quirks.py, tests/test_workbooks.py):
the heat-treatment reference rows as an old MES exports them, a month per sheet under a title row, Korean
headers, time stamps as Excel date cells. Other export formats (an HTML table or Excel 2003 XML saved as
.xls) are written by the tests themselves; a BIFF .xls needs a writer the product does not use:

    pip install xlwt && python tests/data/exports/make_exports.py

The file is committed, so the tests need no writer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pipelines import cards, data  # noqa: E402

CARD = "heat-treatment-hardness"
ROWS = 300


def main() -> None:
    import xlwt

    card = cards.load_card(CARD)
    frame = data.load(card).frame
    frame = frame.iloc[np.unique(np.linspace(0, len(frame) - 1, ROWS).round().astype(int))].reset_index(drop=True)
    frame = frame.rename(columns={c.name: c.ko for c in card.columns if c.ko} | {card.target.column: card.target.ko})
    book = xlwt.Workbook(encoding="utf-8")
    stamp = xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm")
    for month, part in ((1, frame.iloc[:ROWS // 2]), (2, frame.iloc[ROWS // 2:])):
        sheet = book.add_sheet(f"{month}월")
        sheet.write(0, 0, f"열처리 이력 조회 ({month}월)")
        for j, name in enumerate(part.columns):
            sheet.write(2, j, name)
        for i, row in enumerate(part.itertuples(index=False), start=3):
            for j, value in enumerate(row):
                if isinstance(value, pd.Timestamp):
                    sheet.write(i, j, value.to_pydatetime(), stamp)
                elif not pd.isna(value):
                    sheet.write(i, j, value.item() if hasattr(value, "item") else value)
    book.save(HERE / "heat_treatment_mes_1997.xls")
    print(f"{ROWS} rows written to {HERE / 'heat_treatment_mes_1997.xls'}")


if __name__ == "__main__":
    main()
