"""Write the bad-input corpus: small files with the mistakes factory exports really have, and
cases.yaml naming for each the card, the phrase the workbench must answer with, and the commands
(check, run, predict) that must refuse it.

Every file starts from rows that pass (the card's simulator, through ``template.example_rows``) and
breaks exactly one thing, so a failure points at one rule. Run from the repository root:

    python tests/data/bad/make_corpus.py

The files are committed; a test checks this script still writes the same cases.
"""

from __future__ import annotations

import codecs
import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pipelines import cards  # noqa: E402
from pipelines.templates import example_rows  # noqa: E402

ALL, TRAIN = ["check", "run", "predict"], ["check", "run"]  # predict needs no target: target problems are training's
# Files the workbench tolerates by default (an absent column, a few unreadable or out-of-range values, a
# totals row): refused only with --strict. tests/test_quirks.py shows what they train with by default.
STRICT = ["--strict"]


def base(card_id: str, rows: int = 40, korean: bool = False) -> pd.DataFrame:
    card = cards.load_card(card_id)
    frame = example_rows(card, rows)
    if korean:
        names = {c.name: c.ko for c in card.columns if c.ko} | {card.target.column: card.target.ko}
        frame = frame.rename(columns=names)
    return frame


def csv_bytes(frame: pd.DataFrame, encoding: str = "utf-8", sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode(encoding)


def main() -> None:
    for old in HERE.glob("*"):
        if old.name not in ("make_corpus.py", "README.md"):
            old.unlink()
    cases: list[dict] = []

    def add(name: str, card: str, phrase: str, content: bytes | None, commands=ALL, **extra):
        if content is not None:
            (HERE / name).write_bytes(content)
        cases.append({"file": name, "card": card, "phrase": phrase, "commands": commands, **extra})

    heat = base("heat-treatment-hardness")
    heat_ko = base("heat-treatment-hardness", korean=True)
    mold = base("injection-molding-quality", korean=True)
    mold_en = base("injection-molding-quality")

    # --- reading ---------------------------------------------------------------------------------
    add("empty.csv", "heat-treatment-hardness", "the file is empty", b"")
    add("blank_lines.csv", "heat-treatment-hardness", "the file is empty", b"\r\n  \r\n\r\n")
    add("header_only.csv", "heat-treatment-hardness", "header but no data rows", csv_bytes(heat.head(0)))
    heat.head(0).to_excel(HERE / "header_only.xlsx", index=False)
    add("header_only.xlsx", "heat-treatment-hardness", "header but no data rows", None)
    add("bom_declared_but_cp949.csv", "injection-molding-quality", "wrong encoding declared",
        codecs.BOM_UTF8 + csv_bytes(mold, "cp949"))
    add("mojibake_cp949_read_as_latin1.csv", "injection-molding-quality", "mojibake",
        csv_bytes(mold, "cp949").decode("latin-1").encode("utf-8"))
    add("mojibake_utf8_read_as_cp1252.csv", "injection-molding-quality", "mojibake",
        csv_bytes(mold).decode("cp1252", errors="ignore").encode("utf-8"))
    add("mojibake_replacement_characters.csv", "injection-molding-quality", "mojibake",
        csv_bytes(mold, "cp949").decode("utf-8", errors="replace").encode("utf-8"))
    add("png_renamed_to.csv", "heat-treatment-hardness", "binary data",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    add("space_separated.csv", "heat-treatment-hardness", "only one column was found",
        heat.to_csv(index=False, sep="~").replace("~", " ").encode())
    add("caret_separated.txt", "heat-treatment-hardness", "only one column was found", csv_bytes(heat, sep="^"))
    ragged = heat.copy()
    ragged["Soak_Time_min"] = ragged["Soak_Time_min"].map(lambda v: f"{v * 1000:,.0f}")
    text = ragged.to_csv(index=False, quoting=3, escapechar="\\").replace("\\,", ",")
    add("thousands_separator_unquoted.csv", "heat-treatment-hardness", "fields but the header has", text.encode())
    heat_ko.to_excel(HERE / "sheet_missing.xlsx", index=False, sheet_name="1월")
    add("sheet_missing.xlsx", "heat-treatment-hardness", "has no sheet '생산'", None, args=["--sheet", "생산"])
    # an .xls whose OLE2 header holds no workbook (a broken or password-protected one); readable ones are read
    add("broken_old_format.xls", "heat-treatment-hardness", "could not be read as Excel 97-2003 .xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    whole = io.BytesIO()  # an .xlsx cut short by a failed download or a full disk (a CSV renamed .xlsx is read as CSV)
    heat.to_excel(whole, index=False)
    add("truncated.xlsx", "heat-treatment-hardness", "could not be read as Excel .xlsx", whole.getvalue()[:2000])
    add("export.json", "heat-treatment-hardness", "cannot be read", heat.to_json().encode())
    add("too_large.csv", "heat-treatment-hardness", "over the limit of", csv_bytes(heat),
        env={"WORKBENCH_MAX_FILE_MB": "0.001"})
    add("does_not_exist.csv", "heat-treatment-hardness", "file not found", None)
    add("corrupt.parquet", "heat-treatment-hardness", "could not be read as Parquet", b"PAR1" + b"\x00" * 64)

    # --- column mapping --------------------------------------------------------------------------
    add("missing_required_column.csv", "heat-treatment-hardness", "closest in file: Temper_Temperature_C",
        csv_bytes(heat.rename(columns={"Temper_Temp_C": "Temper_Temperature_C"})), args=STRICT)
    add("korean_header_variant_unmatched.csv", "injection-molding-quality",
        "required column(s) missing: Max_Injection_Pressure", csv_bytes(mold.rename(columns={"최대 사출 압력": "최대사출압"}), "cp949"),
        args=STRICT)
    add("korean_header_missing_in_korean.csv", "heat-treatment-hardness", "필수 열 2개가 없습니다",
        csv_bytes(heat_ko.drop(columns=["뜨임 온도", "뜨임 시간"]), "cp949"), lang="ko", args=STRICT)
    amb = mold.copy()
    amb.insert(3, "금형온도1(°F)", amb["금형 온도 1"] * 1.8 + 32)
    amb = amb.rename(columns={"금형 온도 1": "금형 온도 1 (℃)"})
    add("ambiguous_korean_headers.csv", "injection-molding-quality", "could be Mold_Temperature_1", csv_bytes(amb, "cp949"))
    add("map_names_missing_column.csv", "heat-treatment-hardness", "names columns that are not in the file",
        csv_bytes(heat), args=["--map", "없는열=Carbon_pct"])
    add("map_onto_unknown_card_column.csv", "heat-treatment-hardness", "the card does not have",
        csv_bytes(heat), args=["--map", "Carbon_pct=Carbon_percent"])
    (HERE / "broken_map.yaml").write_text("사출압력: [Max_Injection_Pressure\n", encoding="utf-8")
    add("map_file_broken.csv", "heat-treatment-hardness", "could not be read", csv_bytes(heat),
        args=["--map", "{dir}/broken_map.yaml"])
    add("map_pair_without_equals.csv", "heat-treatment-hardness", "--map takes", csv_bytes(heat), args=["--map", "Carbon_pct"])
    add("target_column_missing.csv", "injection-molding-quality", "required column(s) missing: PassOrFail",
        csv_bytes(mold.drop(columns=["양불 판정"]), "cp949"), commands=TRAIN)

    # --- values ----------------------------------------------------------------------------------
    text_num = heat_ko.astype({"탄소 함량": object})
    text_num.loc[4, "탄소 함량"] = "측정불가"
    add("text_in_numeric_column.csv", "heat-treatment-hardness", "are not numbers, e.g. '측정불가' in row(s) 6",
        csv_bytes(text_num, "cp949"), args=STRICT)
    units = heat.astype({"Soak_Time_min": object})
    units["Soak_Time_min"] = units["Soak_Time_min"].map(lambda v: f"{v * 60} s")  # seconds in a minutes column
    add("units_inside_cells.csv", "heat-treatment-hardness", "are not numbers, e.g. '", csv_bytes(units))
    pressure = mold.copy()
    pressure.loc[7, "최대 사출 압력"] = 4000.0
    add("out_of_range_pressure.csv", "injection-molding-quality", "outside the allowed range [0, 400] bar, e.g. 4000 in row(s) 9",
        csv_bytes(pressure, "cp949"), args=STRICT)
    fahrenheit = mold_en.copy()
    fahrenheit["Mold_Temperature_3"] = fahrenheit["Mold_Temperature_3"] * 1.8 + 32 + 300
    add("mold_temperature_in_fahrenheit.csv", "injection-molding-quality", "check the unit of the column", csv_bytes(fahrenheit))
    nan_col = heat.copy()
    nan_col["Quench_Delay_s"] = np.nan
    add("all_nan_column.csv", "heat-treatment-hardness", "column 'Quench_Delay_s': the column is empty in every row",
        csv_bytes(nan_col), args=STRICT)
    nan_col.to_excel(HERE / "all_nan_column.xlsx", index=False)
    add("all_nan_column.xlsx", "heat-treatment-hardness", "the column is empty in every row", None, args=STRICT)
    dates = heat.astype({"Batch_Time": object})
    dates.loc[10, "Batch_Time"] = "2024-13-45 25:00"
    add("impossible_date.csv", "heat-treatment-hardness", "date(s) cannot be read, e.g. '2024-13-45 25:00'", csv_bytes(dates),
        args=STRICT)
    amb_dates = heat.copy()
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(heat)) % 12 * 31, unit="D")
    amb_dates["Batch_Time"] = stamps.strftime("%d/%m/%Y 06:00")
    add("day_month_ambiguous_dates.csv", "heat-treatment-hardness", "day-first or month-first", csv_bytes(amb_dates))
    footer = csv_bytes(heat_ko, "cp949") + ("합계" + "," * (len(heat_ko.columns) - 1) + "\r\n").encode("cp949")
    add("trailing_total_row.csv", "heat-treatment-hardness", "are not data (e.g. '합계'", footer, args=STRICT)
    note = heat.astype(object)
    note.loc[len(note)] = ["출력일시: 2024-02-01 09:00 / 담당 김철수"] + [None] * (len(note.columns) - 1)
    note.to_excel(HERE / "trailing_note_row.xlsx", index=False)
    add("trailing_note_row.xlsx", "heat-treatment-hardness", "are not data", None, args=STRICT)

    # --- target and split (training only) --------------------------------------------------------
    one = mold.copy()
    one["양불 판정"] = "Y"
    add("one_class_only.csv", "injection-molding-quality", "one class only", csv_bytes(one, "cp949"), commands=TRAIN)
    blank = mold.copy()
    blank["양불 판정"] = np.nan
    add("target_all_blank.csv", "injection-molding-quality", "no row has a value in the target column",
        csv_bytes(blank, "cp949"), commands=TRAIN)
    own = mold.copy()  # a plant's own pass/fail codes, which no word tells apart (OK/NG would be read)
    own["양불 판정"] = own["양불 판정"].map({"Y": "A", "N": "B"})
    add("labels_of_its_own_instead_of_y_n.csv", "injection-molding-quality",
        "defect label 'N' never appears in the target (labels found: 'A', 'B')", csv_bytes(own, "cp949"),
        commands=TRAIN)
    three = mold.copy()
    three.loc[3, "양불 판정"] = "보류"
    add("three_labels_for_pass_fail.csv", "injection-molding-quality", "needs two labels", csv_bytes(three, "cp949"),
        commands=TRAIN)
    add("too_few_rows.csv", "heat-treatment-hardness", "need at least 20", csv_bytes(heat.head(10)), commands=TRAIN)
    plates = base("steel-plate-fault-type", rows=60)
    rare = plates["Fault"].value_counts().index[-1]
    plates = pd.concat([plates[plates["Fault"] != rare], plates[plates["Fault"] == rare].head(1)])
    add("class_with_one_row.csv", "steel-plate-fault-type", "stratified split is not possible", csv_bytes(plates),
        commands=TRAIN)
    engines = base("turbofan-rul", rows=3000)
    engines = engines[engines["unit"].isin(engines["unit"].unique()[:2])]
    add("two_engines_only.csv", "turbofan-rul", "group split is not possible", csv_bytes(engines), commands=TRAIN)
    early = mold.copy()
    late = early.index >= int(len(early) * 0.45)  # the test period reaches back to half the rows, no further
    early.loc[late, "양불 판정"] = "Y"
    # without --split time the run falls back to a stratified split with a note; asked for time, it refuses
    add("defects_only_early.csv", "injection-molding-quality", "holds no 'N' row", csv_bytes(early, "cp949"), commands=TRAIN,
        args=["--split", "time"])
    hard = heat.astype({"Hardness_HRC": object})
    hard["Hardness_HRC"] = hard["Hardness_HRC"].map(lambda v: f"HRC {v}")
    add("target_with_unit_text.csv", "heat-treatment-hardness", "column 'Hardness_HRC'", csv_bytes(hard), commands=TRAIN)

    # --- time order of a series ------------------------------------------------------------------
    energy = base("steel-plant-energy", rows=60)
    twice = pd.concat([energy.iloc[:30], energy.iloc[29:]], ignore_index=True)
    add("duplicated_timestamps.csv", "steel-plant-energy", "appear more than once", csv_bytes(twice))
    midnight = energy.copy()
    stamp = pd.to_datetime(midnight["date"])
    at = int(np.flatnonzero((stamp.dt.hour == 0) & (stamp.dt.minute == 0))[0]) if ((stamp.dt.hour == 0) & (stamp.dt.minute == 0)).any() else 20
    midnight.loc[at, "date"] = (stamp[at] + pd.Timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    add("timestamps_out_of_order.csv", "steel-plant-energy", "not in time order", csv_bytes(midnight))

    (HERE / "cases.yaml").write_text(
        "# Generated by make_corpus.py: each file, its card, the phrase the answer must contain, and the commands\n"
        "# that must refuse it (predict needs no target, so target and split problems are training's only).\n"
        + yaml.safe_dump(cases, allow_unicode=True, sort_keys=False, width=120), encoding="utf-8")
    print(f"{len(cases)} cases written to {HERE}")


if __name__ == "__main__":
    main()
