"""``workbench check``: read, map and validate a file for a card without training, and report what
was found (rows, how each column matched, missing values, ranges, target balance, time order,
duplicates, whether the card's split is possible) in the user's language.

It runs exactly what ``run`` and ``predict`` run before they start (pipelines/inspection.py), so a
file that passes here passes there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import labels, messages
from .cards import Card
from .errors import DataError
from .mapping import card_columns_in, map_columns
from .reading import read_table
from .inspection import DAY_FIRST, Inspection, Options, inspect

LABELS = {
    "en": {"title": "Check of {file} for {card}", "read": "Read: {format}{details}; {rows} rows, {cols} columns.",
           "columns": "Columns: {matched} of {wanted} card columns found.", "how": "how",
           "card_col": "card column", "file_col": "file column", "missing": "Missing values",
           "none_missing": "Missing values: none.", "target": "Target {column}", "defect": "defect label", "in_file": "the file's",
           "time": "Time {column}: {first} to {last}; {out_of_order} row(s) out of order, {duplicates} repeated time stamp(s).",
           "duplicates": "Identical rows: {count}.", "split": "Split ({kind}, test {share}): {verdict}.",
           "possible": "possible", "not_possible": "not possible (see problems)", "not_checked": "not checked",
           "problems": "Problems ({count}):", "notes": "Notes:",
           "ok": "Result: OK. Train with `workbench run {card} --data {file}{options}`.",
           "ok_notes": "Result: usable, with the {count} decision(s) noted above. Train with `workbench run {card} --data {file}{options}`; "
                       "`--strict` refuses instead.",
           "instead": "{kind} instead of the card's {card_kind}, see notes",
           "ok_predict": "Result: OK. Score with `workbench predict {card} --input {file} --output scored.csv`.",
           "bad": "Result: {count} problem(s) to fix before this file can be used."},
    "ko": {"title": "{card} 카드에 대한 {file} 점검", "read": "읽기: {format}{details}; {rows}행, {cols}열.",
           "columns": "열: 카드 열 {wanted}개 중 {matched}개를 찾았습니다.", "how": "찾은 방법",
           "card_col": "카드 열", "file_col": "파일 열", "missing": "빈 값",
           "none_missing": "빈 값: 없음.", "target": "목표 {column}", "defect": "불량 표시", "in_file": "파일의",
           "time": "시간 {column}: {first} ~ {last}; 순서가 어긋난 행 {out_of_order}개, 반복된 시각 {duplicates}개.",
           "duplicates": "완전히 같은 행: {count}개.", "split": "분할 ({kind}, 시험 {share}): {verdict}.",
           "possible": "가능", "not_possible": "불가능 (문제 참고)", "not_checked": "점검하지 않음",
           "problems": "문제 ({count}개):", "notes": "참고:",
           "ok": "결과: 문제 없음. `workbench run {card} --data {file}{options}`로 학습하세요.",
           "ok_notes": "결과: 위의 {count}가지 결정과 함께 쓸 수 있습니다. `workbench run {card} --data {file}{options}`로 학습하세요 "
                       "(`--strict`를 주면 대신 거부합니다).",
           "instead": "카드의 {card_kind} 대신 {kind}, 참고 사항 확인",
           "ok_predict": "결과: 문제 없음. `workbench predict {card} --input {file} --output scored.csv`로 예측하세요.",
           "bad": "결과: 이 파일을 쓰기 전에 고칠 문제가 {count}개 있습니다."},
}
# Notes that report a fact about the file rather than a decision about what it is used for.
QUIET_NOTES = {"extra_columns", "duplicate_rows", "same_time", "other_sheets"}
HOW_KO = {"map": "대응표(--map)", "name": "이름", "korean name": "한국어 이름",
          "name without case/spaces/unit": "이름 (대소문자·공백·단위 무시)",
          "Korean name without spaces/unit": "한국어 이름 (공백·단위 무시)"}


@dataclass
class CheckReport:
    card: Card
    path: Path
    for_predict: bool
    reading: dict = field(default_factory=dict)
    inspection: Inspection | None = None
    errors: list[DataError] = field(default_factory=list)
    columns_in_file: int = 0
    rows_in_file: int | None = None  # as read, before a long or sideways file is reshaped
    options_text: str = ""  # the flags that made this report (--split, --dayfirst, ...), repeated in the advice

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self, lang: str | None = None) -> str:
        lang = messages.lang_or_default(lang)
        L = LABELS[lang]
        card, found = self.card, self.inspection
        lines = [L["title"].format(file=self.path, card=card.id), ""]
        if self.reading:
            r = self.reading
            details = "".join([f", encoding {r['encoding']}" if r.get("encoding") else "",
                               f", delimiter {r['delimiter']!r}" if r.get("delimiter") else "",
                               f", sheet {r['sheet']!r}" if r.get("sheet") else "",
                               f", header line {r['header_line']}" if r.get("header_line", 1) != 1 else ""])
            rows = self.rows_in_file if self.rows_in_file is not None else found.facts["rows"] if found else "?"
            lines.append(L["read"].format(format=r.get("format", "?"), details=details, rows=rows,
                                          cols=self.columns_in_file))
        if found and found.mapping:
            m = found.mapping
            wanted = [c.name for c in card.columns] + ([] if self.for_predict else [card.target.column])
            matched = [x for x in m.matches if x.card in wanted]
            lines.append(L["columns"].format(matched=len(matched), wanted=len(wanted)))
            width = max([len(x.card) for x in matched] + [len(L["card_col"])])
            uwidth = max([len(x.user) for x in matched] + [len(L["file_col"])])
            lines.append(f"  {L['card_col']:<{width}}  {L['file_col']:<{uwidth}}  {L['how']}")
            for x in matched:
                how = HOW_KO.get(x.how, x.how) if lang == "ko" else x.how
                lines.append(f"  {x.card:<{width}}  {x.user:<{uwidth}}  {how}")
            missing = {k: v for k, v in found.facts.get("missing", {}).items() if v}
            if missing:
                rows = max(found.facts["rows"], 1)
                lines.append(f"{L['missing']}: " + ", ".join(f"{k} {v} ({v / rows:.1%})" for k, v in missing.items()))
            else:
                lines.append(L["none_missing"])
        if found:
            facts = found.facts
            if "classes" in facts:
                total = sum(facts["classes"].values())
                balance = ", ".join(f"{k!s} {v} ({v / total:.1%})" for k, v in facts["classes"].items())
                positive = card.target.positive
                defect = f"; {L['defect']} {positive!r}" if positive is not None else ""
                if "positive" in facts:  # the file's own word for a defect, read as the card's label
                    defect += f" ({L['in_file']} {facts['positive']!r})"
                lines.append(f"{L['target'].format(column=card.target.column)}: {balance}{defect}")
            if "time" in facts:
                lines.append(L["time"].format(column=card.time.column, **facts["time"]))
            lines.append(L["duplicates"].format(count=facts.get("duplicates", 0)))
            if not self.for_predict:
                verdict = (L["not_checked"] if "split" not in facts else
                           L["possible"] if facts["split"] == "ok" else L["not_possible"])
                kind = facts.get("split_kind", card.split.kind)
                if kind != card.split.kind:
                    kind = L["instead"].format(kind=messages.WORDS[kind][lang], card_kind=messages.WORDS[card.split.kind][lang])
                lines.append(L["split"].format(kind=kind, share=f"{card.split.test_size:.0%}", verdict=verdict))
        if found and found.notes:
            lines += ["", L["notes"]] + [f"  - {messages.note(code, lang, **fields)}" for code, fields in found.notes]
        if self.errors:
            lines += ["", L["problems"].format(count=len(self.errors))] + [f"  {i}. {e}" for i, e in enumerate(self.errors, 1)]
            lines += ["", L["bad"].format(count=len(self.errors))]
        elif self.for_predict:
            lines += ["", L["ok_predict"].format(card=card.id, file=self.path)]
        else:
            decisions = [n for n in (found.notes if found else []) if n[0] not in QUIET_NOTES]
            lines += ["", L["ok_notes" if decisions else "ok"].format(card=card.id, file=self.path, count=len(decisions),
                                                                      options=self.options_text)]
        return "\n".join(lines)


def check(card: Card, path: str | Path, column_map: dict | None = None, sheet=None, lang: str | None = None,
          for_predict: bool = False, options: Options | dict | None = None) -> CheckReport:
    """Everything ``run`` (or ``predict``) would check, collected instead of stopping at the first."""
    path = Path(path)
    options = Options.of(options)
    given = (f' --sheet "{sheet}"' if sheet is not None else "") + "".join(
        f' --map "{mine}={theirs}"' for mine, theirs in (column_map or {}).items())
    report = CheckReport(card=card, path=path, for_predict=for_predict, options_text=given + options_flags(options))
    try:
        frame = read_table(path, sheet=sheet, lang=lang, prefer=card_columns_in(card))
        if not for_predict:
            frame = labels.joined(frame, card, options.labels, options.on, str(path), lang)
        report.reading = frame.attrs.get("reading", {})
        report.columns_in_file, report.rows_in_file = len(frame.columns), len(frame)
        frame = map_columns(frame, card, column_map, str(path), lang=lang, with_target=not for_predict)
    except DataError as exc:
        report.errors.append(exc)
        return report
    report.inspection = inspect(frame, card, str(path), with_target=not for_predict, options=options)
    report.errors = [p.error(str(path), lang) for p in report.inspection.problems]
    sheets = report.reading.get("sheets") or []
    if len(sheets) > 1 and not any(report.reading.get(k) for k in ("read_sheets", "alike_sheets", "chosen_by")):
        report.inspection.notes.append(("other_sheets", {"sheet": report.reading["sheet"], "sheets": ", ".join(sheets)}))
    return report



def options_flags(options: Options) -> str:
    """The command-line flags that give ``options`` (to repeat them in advice the report prints)."""
    flags = [f" --split {options.split}"] if options.split else []
    flags += [" --strict"] if options.strict else []
    flags += [f" --{'dayfirst' if options.dates == DAY_FIRST else 'monthfirst'}"] if options.dates else []
    flags += [f' --na "{col}={value}"' for col, values in options.missing_values.items() for value in values]
    flags += [f' --positive "{options.positive}"'] if options.positive is not None else []
    flags += [f' --labels "{options.labels}"'] if options.labels else []
    flags += [f' --on "{options.on}"'] if options.on else []
    flags += [f' --failed "{options.failed}"'] if options.failed else []
    return "".join(flags)
