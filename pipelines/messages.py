"""What the workbench tells a person about their data file, in Korean and English.

Every problem the reader, the column mapping and the validation can find has one code here, with
what is wrong and how to fix it. Keeping the words in one table keeps the two languages in step and
lets tests assert on a stable phrase.
"""

from __future__ import annotations

from . import settings
from .errors import DataError

# code: {lang: (what is wrong, how to fix it)}; fields in braces come from the caller.
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    # --- reading ---------------------------------------------------------------------------------
    "not_found": {
        "en": ("file not found.", "check the path (relative paths start where you run the command)."),
        "ko": ("파일을 찾을 수 없습니다.", "경로를 확인하세요 (상대 경로는 명령을 실행한 폴더 기준입니다)."),
    },
    "too_large": {
        "en": ("the file is {size_mb:,.0f} MB, over the limit of {limit_mb:,.0f} MB.",
               "export a shorter period or only the card's columns, or raise WORKBENCH_MAX_FILE_MB if this "
               "machine has the memory (about 5 times the file size)."),
        "ko": ("파일 크기가 {size_mb:,.0f} MB로 한도 {limit_mb:,.0f} MB를 넘습니다.",
               "기간을 나누거나 카드의 열만 내보내세요. 메모리가 충분하면(파일 크기의 약 5배) "
               "WORKBENCH_MAX_FILE_MB를 늘리세요."),
    },
    "empty": {
        "en": ("the file is empty.", "export the data again with a header row and data rows."),
        "ko": ("파일이 비어 있습니다.", "머리글 행과 데이터 행이 있도록 다시 내보내세요."),
    },
    "empty_folder": {
        "en": ("the folder holds no table files (CSV, TSV, Excel, Parquet).", "give the folder the files are in, or one file."),
        "ko": ("폴더에 표 파일(CSV, TSV, Excel, Parquet)이 없습니다.", "파일이 있는 폴더나 파일 하나를 지정하세요."),
    },
    "header_only": {
        "en": ("the file has a header but no data rows.", "export the data again including the rows, not only the column names."),
        "ko": ("머리글만 있고 데이터 행이 없습니다.", "열 이름뿐 아니라 데이터 행까지 포함해 다시 내보내세요."),
    },
    "unsupported_format": {
        "en": ("files ending in '{suffix}' cannot be read.", "save it as CSV (UTF-8), Excel .xlsx or Parquet."),
        "ko": ("'{suffix}' 형식의 파일은 읽을 수 없습니다.", "CSV(UTF-8), Excel .xlsx 또는 Parquet로 저장하세요."),
    },
    "labels_key_missing": {
        "en": ("--on {key!r}: no column of that name here.", "give a column both files have (the LOT or serial number)."),
        "ko": ("--on {key!r}: 이 파일에 그런 이름의 열이 없습니다.", "두 파일에 모두 있는 열(LOT, 일련번호)을 지정하세요."),
    },
    "labels_no_key": {
        "en": ("the labels file shares no column name with {data}, so its results cannot be matched to the rows.",
               "give both files the same name for the key (the LOT or serial number), or name it with --on COLUMN."),
        "ko": ("결과 파일과 {data}에 이름이 같은 열이 없어 결과를 행에 맞출 수 없습니다.",
               "두 파일의 키 열(LOT, 일련번호) 이름을 같게 하거나 --on 열이름으로 지정하세요."),
    },
    "labels_keys": {
        "en": ("the labels file shares several columns with the data ({names}): which one matches a result to its rows?",
               "name the key with --on COLUMN (the LOT or serial number)."),
        "ko": ("결과 파일과 데이터에 같은 이름의 열이 여럿입니다 ({names}). 어느 열로 결과를 맞출지 알 수 없습니다.",
               "--on 열이름으로 키 열(LOT, 일련번호)을 지정하세요."),
    },
    "labels_nothing_new": {
        "en": ("the labels file holds no column the data lacks besides its key {key!r}: no target to add.",
               "give the file of the results (the key and the target column)."),
        "ko": ("결과 파일에 키 {key!r} 말고는 데이터에 없는 열이 없어 더할 목표 열이 없습니다.",
               "키와 목표 열이 있는 결과 파일을 지정하세요."),
    },
    "labels_key_repeated": {
        "en": ("the labels file gives different results for the same {key} (e.g. {sample}).",
               "keep one result per {key} (the final inspection), then give the file again."),
        "ko": ("결과 파일에 같은 {key}에 대해 서로 다른 결과가 있습니다 (예: {sample}).",
               "{key}마다 결과를 하나(최종 검사)만 남긴 뒤 다시 지정하세요."),
    },
    "password_protected": {
        "en": ("the workbook is protected with a password (encrypted): no program reads it without the password.",
               "open it in Excel with the password, clear it (File > Info > Protect Workbook > Encrypt with Password), "
               "save, and give that copy."),
        "ko": ("암호로 보호된(암호화된) 통합 문서라서 암호 없이는 어떤 프로그램도 읽을 수 없습니다.",
               "Excel에서 암호로 연 뒤 암호를 지우고(파일 > 정보 > 통합 문서 보호 > 암호 설정) 저장한 사본을 지정하세요."),
    },
    "unknown_workbook": {
        "en": ("the file is named {suffix} but holds no workbook a reader knows: most often a document-security (DRM) "
               "copy, encrypted by Fasoo, SoftCamp, MarkAny or the like.",
               "on a PC with the document-security client, save an unprotected copy as .xlsx or CSV UTF-8 (or ask IT "
               "for a decrypted export), and give that file."),
        "ko": ("이름은 {suffix}이지만 읽을 수 있는 통합 문서가 아닙니다. 대개 문서 보안(DRM: Fasoo, SoftCamp, MarkAny 등)으로 "
               "암호화된 파일입니다.",
               "문서 보안 프로그램이 있는 PC에서 보호를 푼 사본을 .xlsx 또는 CSV UTF-8로 저장하거나(또는 IT 부서에 복호화를 "
               "요청해) 그 파일을 지정하세요."),
    },
    "unreadable": {
        "en": ("the file could not be read as {kind} ({detail}).",
               "open it in the program that made it and save it again as CSV UTF-8, Excel .xlsx or Parquet."),
        "ko": ("{kind} 파일로 읽을 수 없습니다 ({detail}).",
               "만든 프로그램에서 열어 CSV UTF-8, Excel .xlsx 또는 Parquet로 다시 저장하세요."),
    },
    "huge_cell": {
        "en": ("line {row}, field {position} holds a cell of {size:,} characters, more than the {limit:,} a CSV cell "
               "may hold: usually a quotation mark (\") opened and never closed, so the lines after it ran into one "
               "cell, or a long text (a log, an image) pasted into a cell.",
               "close the quote or shorten that cell in the original and export again; long texts belong in a "
               "column the card does not read, or out of the file."),
        "ko": ("{row}번째 줄의 {position}번째 칸에 {size:,}자가 들어 있어 CSV 칸 하나의 한도 {limit:,}자를 넘습니다. "
               "대개 따옴표(\")가 열리고 닫히지 않아 뒤의 줄들이 한 칸으로 이어졌거나, 긴 글(로그, 이미지)이 칸에 "
               "붙여 넣어진 경우입니다.",
               "원본에서 따옴표를 닫거나 그 칸을 줄인 뒤 다시 내보내세요."),
    },
    "too_large_unpacked": {
        "en": ("the workbook is {packed_mb:,.1f} MB on disk but {size_mb:,.0f} MB unpacked (an .xlsx is a zip "
               "archive), over the limit of {limit_mb:,.0f} MB.",
               "export a shorter period or only the card's columns, save large data as CSV UTF-8 or Parquet, or "
               "raise WORKBENCH_MAX_FILE_MB if this machine has the memory."),
        "ko": ("통합 문서가 디스크에서는 {packed_mb:,.1f} MB지만 압축을 풀면 {size_mb:,.0f} MB로 한도 {limit_mb:,.0f} MB를 "
               "넘습니다 (.xlsx는 zip 압축 파일입니다).",
               "기간을 나누거나 카드의 열만 내보내고, 큰 데이터는 CSV UTF-8이나 Parquet로 저장하세요. 메모리가 충분하면 "
               "WORKBENCH_MAX_FILE_MB를 늘리세요."),
    },
    "too_many_cells": {
        "en": ("sheet {sheet!r} spans {rows:,} rows x {columns:,} columns ({cells:,} cells), over the limit of "
               "{limit:,} cells for an Excel file (reading Excel takes about a minute per million cells here).",
               "save the sheet as CSV UTF-8 (File > Save As), which is read many times faster and in chunks, or "
               "raise WORKBENCH_MAX_EXCEL_CELLS."),
        "ko": ("{sheet!r} 시트가 {rows:,}행 x {columns:,}열({cells:,}칸)로 Excel 파일의 한도 {limit:,}칸을 넘습니다 "
               "(Excel 읽기는 백만 칸에 약 1분이 걸립니다).",
               "시트를 CSV UTF-8로 저장(다른 이름으로 저장)하면 훨씬 빠르게 나누어 읽습니다. 또는 "
               "WORKBENCH_MAX_EXCEL_CELLS를 늘리세요."),
    },
    "binary": {
        "en": ("the file holds binary data, not text (a '{suffix}' file that is really another format?).",
               "export the data as CSV or Excel .xlsx and give that file."),
        "ko": ("텍스트가 아닌 이진 데이터입니다 (확장자만 '{suffix}'이고 실제로는 다른 형식인가요?).",
               "CSV 또는 Excel .xlsx로 내보낸 파일을 지정하세요."),
    },
    "bom_mismatch": {
        "en": ("the file starts with a UTF-8 marker (BOM) but its text is not UTF-8 (wrong encoding declared; "
               "first bad byte on line {line}).",
               "save it again as 'CSV UTF-8' from the original, or remove the first 3 bytes (the BOM) if the text is CP949."),
        "ko": ("파일 앞부분에 UTF-8 표시(BOM)가 있지만 내용은 UTF-8이 아닙니다 (인코딩이 잘못 표시됨; {line}번째 줄).",
               "원본에서 'CSV UTF-8'로 다시 저장하거나, 내용이 CP949라면 앞의 BOM 3바이트를 지우세요."),
    },
    "unknown_encoding": {
        "en": ("the text encoding could not be recognised (not UTF-8, CP949/EUC-KR, Shift-JIS or Latin-1).",
               "save it as 'CSV UTF-8' in Excel, or as CP949 CSV from the machine's software."),
        "ko": ("문자 인코딩을 알아볼 수 없습니다 (UTF-8, CP949/EUC-KR, Shift-JIS, Latin-1 모두 아님).",
               "Excel에서 'CSV UTF-8'로 저장하거나 설비 프로그램에서 CP949 CSV로 내보내세요."),
    },
    "mojibake": {
        "en": ("the header is garbled text (mojibake), e.g. {sample!r}{repaired}: the file was converted "
               "with the wrong encoding before it got here.",
               "export it again from the machine or MES and save it directly as 'CSV UTF-8' (or keep the "
               "original CP949 file); do not open and re-save it through another program."),
        "ko": ("머리글 글자가 깨져 있습니다 (예: {sample!r}{repaired}). 파일이 중간에 잘못된 인코딩으로 변환되었습니다.",
               "설비나 MES에서 다시 내보내 바로 'CSV UTF-8'로 저장하거나 원래의 CP949 파일을 쓰세요. "
               "다른 프로그램으로 열어 다시 저장하지 마세요."),
    },
    "no_header": {
        "en": ("the first line holds values ({header}), not column names: the file has no header row.",
               "add a first line naming the columns (the card's names or Korean names; `workbench template CARD` "
               "writes a file with them), then read it again."),
        "ko": ("첫 줄이 열 이름이 아니라 값입니다 ({header}). 머리글 행이 없는 파일입니다.",
               "맨 위에 열 이름 행을 넣고 (카드의 이름이나 한국어 이름; `workbench template 카드`가 그 이름으로 된 파일을 "
               "만들어 줍니다) 다시 읽으세요."),
    },
    "wrong_delimiter": {
        "en": ("only one column was found (header {header!r}): the values are not separated by comma, "
               "semicolon, tab or '|'.",
               "save it as CSV (comma separated) or Excel .xlsx."),
        "ko": ("열이 하나만 보입니다 (머리글 {header!r}). 값이 쉼표, 세미콜론, 탭, '|'로 구분되어 있지 않습니다.",
               "쉼표로 구분된 CSV 또는 Excel .xlsx로 저장하세요."),
    },
    "ragged_rows": {
        "en": ("row {row} has {found} fields but the header has {expected}: a value may contain the "
               "separator '{sep}' (e.g. a thousands separator 1,234 in a comma-separated file).",
               "put such values in quotes, remove the thousands separators, or save the file as Excel .xlsx."),
        "ko": ("{row}행의 값이 {found}개인데 머리글은 {expected}개입니다. 값 안에 구분 기호 '{sep}'가 들어 있는 것 "
               "같습니다 (예: 쉼표로 구분된 파일의 천 단위 쉼표 1,234).",
               "그런 값을 따옴표로 감싸거나 천 단위 쉼표를 빼거나 Excel .xlsx로 저장하세요."),
    },
    "sheet_not_found": {
        "en": ("the workbook has no sheet {sheet!r} (sheets: {sheets}).", "pass one of those names or its number (0 = first) to --sheet."),
        "ko": ("통합 문서에 {sheet!r} 시트가 없습니다 (시트: {sheets}).", "--sheet에 그 이름 중 하나나 번호(0 = 첫 시트)를 주세요."),
    },
    # --- column mapping --------------------------------------------------------------------------
    "map_unreadable": {
        "en": ("the column map {path} could not be read ({detail}).",
               "write it as YAML lines 'your column: card column', e.g. '사출압력: Max_Injection_Pressure'."),
        "ko": ("열 대응표 {path}를 읽을 수 없습니다 ({detail}).",
               "'내 열 이름: 카드 열 이름' 형식의 YAML로 쓰세요. 예: '사출압력: Max_Injection_Pressure'."),
    },
    "map_bad_pair": {
        "en": ("--map takes YOUR_COLUMN=CARD_COLUMN or a .yaml file, not {value!r}.", "write e.g. --map \"사출압력=Max_Injection_Pressure\"."),
        "ko": ("--map에는 내_열=카드_열 또는 .yaml 파일을 주어야 합니다 ({value!r}은 아님).", "예: --map \"사출압력=Max_Injection_Pressure\"."),
    },
    "map_unknown_user": {
        "en": ("the column map names columns that are not in the file: {names}.", "use names from the file's header: {header}."),
        "ko": ("열 대응표의 {names} 열이 파일에 없습니다.", "파일 머리글의 이름을 쓰세요: {header}."),
    },
    "map_unknown_card": {
        "en": ("the column map maps onto names the card does not have: {names}.", "use the card's column names (see `workbench show {card}`)."),
        "ko": ("열 대응표가 카드에 없는 이름 {names}(으)로 대응시킵니다.", "카드의 열 이름을 쓰세요 (`workbench show {card}` 참고)."),
    },
    "ambiguous": {
        "en": ("several columns of the file could be {card_column}: {names}.",
               "rename or delete all but one, or say which with --map \"{first}={card_column}\"."),
        "ko": ("파일의 여러 열이 {card_column} 열일 수 있습니다: {names}.",
               "하나만 남기고 이름을 바꾸거나 지우세요. 또는 --map \"{first}={card_column}\"로 지정하세요."),
    },
    "missing_columns": {
        "en": ("{count} required column(s) missing: {listing}.",
               "rename them in the file (the card's name or Korean name works) or pass --map \"YOUR_COLUMN=CARD_COLUMN\"."),
        "ko": ("필수 열 {count}개가 없습니다: {listing}.",
               "파일에서 열 이름을 카드의 이름이나 한국어 이름으로 바꾸거나 --map \"내_열=카드_열\"을 쓰세요."),
    },
    "model_columns_missing": {
        "en": ("the model {card} v{version} was trained with {count} column(s) the file lacks: {names}.",
               "add them to the file (the card's or Korean names work, or --map), or train a model on a file like this "
               "one with `workbench run {card} --data FILE` and score with that version."),
        "ko": ("모델 {card} v{version}은(는) 이 파일에 없는 열 {count}개로 학습했습니다: {names}.",
               "그 열을 파일에 넣거나(카드 이름·한국어 이름 또는 --map), 이런 파일로 `workbench run {card} --data 파일`을 "
               "실행해 학습한 버전으로 예측하세요."),
    },
    # --- values ----------------------------------------------------------------------------------
    "not_numbers": {
        "en": ("{count} value(s) ({share} of the filled cells) are not numbers, e.g. {value!r} in row(s) {rows}.",
               "remove the text or other units from those cells (write 12.5, not '12.5 psi'), leave unknown "
               "values empty, or map another column onto this one with --map."),
        "ko": ("숫자가 아닌 값이 {count}개 있습니다 (채워진 칸의 {share}; 예: {rows}행의 {value!r}).",
               "그 칸에서 글자나 다른 단위를 지우세요 ('12.5 psi'가 아니라 12.5). 모르는 값은 비워 두거나 "
               "--map 으로 다른 열을 이 열에 대응시키세요."),
    },
    "bad_dates": {
        "en": ("{count} date(s) cannot be read, e.g. {value!r} in row(s) {rows}.",
               "write dates as 2024-01-02 06:00:00 (2024.01.02 and 2024년 1월 2일 06:00 also work)."),
        "ko": ("읽을 수 없는 날짜가 {count}개 있습니다 (예: {rows}행의 {value!r}).",
               "날짜를 2024-01-02 06:00:00 형식으로 쓰세요 (2024.01.02, 2024년 1월 2일 06:00도 됩니다)."),
    },
    "dates_outside": {
        "en": ("{count} date(s) lie outside {first}-{last}, e.g. {value!r} in row(s) {rows}: a placeholder such as "
               "9999-12-31 or 1900-01-01 for 'no date'?",
               "correct those cells or leave them empty; without --strict they are read as missing."),
        "ko": ("{first}-{last}년 밖의 날짜가 {count}개 있습니다 (예: {rows}행의 {value!r}). 9999-12-31 같은 '날짜 없음' "
               "표시인가요?",
               "그 칸을 고치거나 비워 두세요. --strict 없이는 빈 값으로 읽습니다."),
    },
    "ambiguous_dates": {
        "en": ("dates such as {value!r} can be read day-first or month-first: every date fits both, and the rows "
               "do not tell which.",
               "say which with --dayfirst or --monthfirst (or write dates as year-month-day, e.g. 2024-01-02 06:00)."),
        "ko": ("{value!r} 같은 날짜는 일/월 순서로도 월/일 순서로도 읽힙니다. 모든 날짜가 두 가지 모두에 맞고, 행의 "
               "순서로도 알 수 없습니다.",
               "--dayfirst 또는 --monthfirst 로 알려 주세요 (또는 날짜를 연-월-일 순서로 쓰세요. 예: 2024-01-02 06:00)."),
    },
    "footer_rows": {
        "en": ("the last {count} row(s) are not data (e.g. {value!r} in row {row}): a total or note line below the table.",
               "delete those rows at the end of the file, or export the table without totals."),
        "ko": ("마지막 {count}개 행이 데이터가 아닙니다 (예: {row}행의 {value!r}). 표 아래의 합계나 메모 줄입니다.",
               "파일 끝의 그 행을 지우거나 합계 없이 표만 내보내세요."),
    },
    "out_of_range": {
        "en": ("{count} value(s) outside the allowed range {range} {unit}, e.g. {value} in row(s) {rows}.",
               "check the unit of the column (e.g. °F instead of °C, kPa instead of bar), or remove the faulty readings."),
        "ko": ("허용 범위 {range} {unit}를 벗어난 값이 {count}개 있습니다 (예: {rows}행의 {value}).",
               "열의 단위를 확인하세요 (예: ℃ 대신 ℉, bar 대신 kPa). 잘못된 측정값은 지우세요."),
    },
    "split_unavailable": {
        "en": ("--split {kind} is not possible for this card (it needs {need}).",
               "choose time, random or the card's own split; group needs a card with a group column, stratified a classifier."),
        "ko": ("이 카드에는 --split {kind} 를 쓸 수 없습니다 ({need} 필요).",
               "time, random 또는 카드의 분할을 고르세요. group 은 그룹 열이 있는 카드, stratified 는 분류 카드에서만 됩니다."),
    },
    "no_features": {
        "en": ("none of the card's input columns is in the file, so there is nothing to learn from.",
               "export the machine's readings with the result ({names}), or map your names onto them with --map."),
        "ko": ("카드의 입력 열이 파일에 하나도 없어 배울 것이 없습니다.",
               "결과와 함께 설비의 측정값({names})을 내보내거나 --map 으로 이름을 대응시키세요."),
    },
    "failed_units_unknown": {
        "en": ("--failed names {names}, which is not a {group} of the file.",
               "name the units as the file writes them, separated by commas (the file's: {units})."),
        "ko": ("--failed 의 {names} 은(는) 파일의 {group}에 없습니다.",
               "파일에 적힌 이름을 쉼표로 구분해 주세요 (파일의 이름: {units})."),
    },
    "no_signals": {
        "en": ("none of the signals this anomaly model watches is in the file ({names}).",
               "export at least one of those columns, or map your names onto them with --map."),
        "ko": ("이 이상 탐지 모델이 보는 신호 열이 파일에 하나도 없습니다 ({names}).",
               "그 열 중 하나 이상을 내보내거나 --map 으로 이름을 대응시키세요."),
    },
    "all_missing": {
        "en": ("the column is empty in every row.", "fill it, or export the column from the machine again (the sensor may have been off)."),
        "ko": ("모든 행에서 이 열이 비어 있습니다.", "값을 채우거나 설비에서 이 열을 다시 내보내세요 (센서가 꺼져 있었을 수 있습니다)."),
    },
    "no_target": {
        "en": ("no row has a value in the target column.", "fill the target column (the result you want to predict) for the rows to learn from."),
        "ko": ("목표 열에 값이 있는 행이 하나도 없습니다.", "학습에 쓸 행의 목표 열(예측하려는 결과)을 채우세요."),
    },
    "target_not_finite": {
        "en": ("{count} target value(s) are not finite numbers (e.g. {value} in row(s) {rows}): no model learns from "
               "infinity, and one such value makes every error figure infinite.",
               "write the measured value in those cells, or leave them empty (rows without a target are left out "
               "of training)."),
        "ko": ("목표 값 {count}개가 유한한 숫자가 아닙니다 (예: {rows}행의 {value}). 무한대에서는 어떤 모델도 배우지 "
               "못하고, 그런 값 하나로 모든 오차 지표가 무한대가 됩니다.",
               "그 칸에 측정값을 적거나 비워 두세요 (목표 값이 없는 행은 학습에서 뺍니다)."),
    },
    "target_outside": {
        "en": ("{count} target value(s) are outside the card's range {range} {unit} (e.g. {value} in row(s) {rows}).",
               "correct those cells (another unit?) or leave them empty (rows without a target are left out of training)."),
        "ko": ("목표 값 {count}개가 카드의 범위 {range} {unit}를 벗어납니다 (예: {rows}행의 {value}).",
               "그 칸을 고치거나(단위가 다른가요?) 비워 두세요 (목표 값이 없는 행은 학습에서 뺍니다)."),
    },
    "target_absurd": {
        "en": ("{count} target value(s) are absurdly far from the rest (e.g. {value} in row(s) {rows}; the middle "
               "half of the values lies between {low} and {high}): more than {times:,} times that spread from the "
               "median, or too large to square, so not a measurement of the same quantity (a unit error, a code "
               "for 'no value', an overflow).",
               "correct those cells or leave them empty (rows without a target are left out of training)."),
        "ko": ("목표 값 {count}개가 나머지와 터무니없이 멀리 떨어져 있습니다 (예: {rows}행의 {value}; 값의 가운데 절반은 "
               "{low}~{high}). 중앙값에서 그 폭의 {times:,}배 넘게 떨어졌거나 제곱할 수 없을 만큼 커서 같은 양의 측정값이 "
               "아닙니다 (단위 오류, '값 없음' 코드, 넘침).",
               "그 칸을 고치거나 비워 두세요 (목표 값이 없는 행은 학습에서 뺍니다)."),
    },
    "one_class": {
        "en": ("the target has one class only ({label!r} in all {count} rows).",
               "a classifier needs examples of every outcome: add a period that includes defects/failures."),
        "ko": ("목표 열에 한 가지 값만 있습니다 ({count}행 모두 {label!r}).",
               "분류 모델은 모든 결과의 예가 필요합니다. 불량/고장이 있었던 기간을 포함하세요."),
    },
    "too_many_classes": {
        "en": ("a pass/fail target needs two labels, but the file has {count}: {labels}.",
               "keep two labels (e.g. OK/NG), or pick a multiclass card."),
        "ko": ("양/불 판정 목표에는 두 가지 값이 있어야 하는데 {count}가지가 있습니다: {labels}.",
               "두 가지 값(예: OK/NG)만 쓰거나 다중 분류 카드를 고르세요."),
    },
    "positive_missing": {
        "en": ("the card's defect label {positive!r} never appears in the target (labels found: {labels}).",
               "name the label that marks a defect in your file with --positive LABEL (e.g. --positive NG), "
               "or write it as {positive!r} in the file."),
        "ko": ("카드의 불량 표시 {positive!r}가 목표 열에 없습니다 (있는 값: {labels}).",
               "파일에서 불량을 뜻하는 값을 --positive 값 으로 알려 주세요 (예: --positive 불량). "
               "또는 파일에서 불량을 {positive!r}로 표시하세요."),
    },
    "positive_option_missing": {
        "en": ("--positive {positive!r} never appears in the target (labels found: {labels}).",
               "give one of the labels found, as the file writes it."),
        "ko": ("--positive {positive!r} 값이 목표 열에 없습니다 (있는 값: {labels}).",
               "있는 값 가운데 하나를 파일에 쓰인 그대로 주세요."),
    },
    "too_few_rows": {
        "en": ("only {count} row(s) with a target value; the card's split and {folds} cross-validation folds need at least {minimum}.",
               "bring a longer period of data."),
        "ko": ("목표 값이 있는 행이 {count}개뿐입니다. 카드의 분할과 {folds}겹 교차 검증에는 최소 {minimum}개가 필요합니다.",
               "더 긴 기간의 데이터를 가져오세요."),
    },
    "split_class_too_small": {
        "en": ("the card's stratified split is not possible: class {label!r} has only {count} row(s), it needs 3.",
               "add examples of that class, or remove its rows if it is a typing error."),
        "ko": ("카드의 층화 분할을 할 수 없습니다: {label!r} 값은 {count}행뿐인데 3행이 필요합니다.",
               "그 값의 예를 더 넣거나, 잘못 적은 값이면 그 행을 지우세요."),
    },
    "split_few_groups": {
        "en": ("the card's group split is not possible: only {count} distinct value(s) in {group_column}, and the test "
               "and the cross-validation folds each need their own.",
               "bring data from at least 3 different {group_column} values."),
        "ko": ("카드의 그룹 분할을 할 수 없습니다: {group_column} 값이 {count}가지뿐인데 시험 세트와 교차 검증이 각각 따로 필요합니다.",
               "서로 다른 {group_column} 값이 3가지 이상인 데이터를 가져오세요."),
    },
    "split_no_positive_in_test": {
        "en": ("the card's time split is not possible: the test window (the last {share} of rows in time, from "
               "{start}) holds no {positive!r} row, so the model cannot be judged.",
               "bring a longer period, so that defects appear in its last part too."),
        "ko": ("카드의 시간 분할을 할 수 없습니다: 시험 구간(시간순 마지막 {share}, {start}부터)에 {positive!r} 행이 "
               "없어 모델을 평가할 수 없습니다.",
               "마지막 부분에도 불량이 있도록 더 긴 기간의 데이터를 가져오세요."),
    },
    "split_no_positive_in_train": {
        "en": ("the card's time split is not possible: no {positive!r} row before {start} to learn from.",
               "bring a longer period that starts earlier."),
        "ko": ("카드의 시간 분할을 할 수 없습니다: {start} 이전에 배울 {positive!r} 행이 없습니다.",
               "더 이른 시점부터 시작하는 긴 기간의 데이터를 가져오세요."),
    },
    "duplicate_times": {
        "en": ("{count} time stamp(s) appear more than once, e.g. {value} in row(s) {rows}; a series needs one row per time step.",
               "remove the repeated rows, or check whether midnight or a daylight-saving hour was written twice."),
        "ko": ("같은 시각이 {count}번 반복됩니다 (예: {rows}행의 {value}). 시계열은 한 시각에 한 행이어야 합니다.",
               "반복된 행을 지우세요. 자정이나 시간 변경 시각이 두 번 기록되지 않았는지 확인하세요."),
    },
    "series_mixed": {
        "en": ("{count} rows share their {time_column} with another row (e.g. {value} in row(s) {rows}): the file holds "
               "several series, which the card tells apart by {group_column}, and that column is not in the file.",
               "add the {group_column} column (or map yours onto it with --map), or keep the rows of one series only."),
        "ko": ("{count}개 행이 다른 행과 같은 {time_column} 값을 가집니다 (예: {rows}행의 {value}). 파일에 여러 시계열이 "
               "섞여 있는데, 카드가 이를 구분하는 {group_column} 열이 파일에 없습니다.",
               "{group_column} 열을 넣거나(--map 으로 대응 가능) 한 시계열의 행만 남기세요."),
    },
    "time_order": {
        "en": ("the rows are not in time order: row {row} ({value}) comes after row {prev_row} ({prev_value}); "
               "a forecast reads the series in order.",
               "sort the file by {time_column}, oldest first; if it is sorted in your spreadsheet, the dates may be read "
               "day/month swapped or a midnight may carry the previous day's date: write them as 2024-01-02 00:00."),
        "ko": ("행이 시간 순서가 아닙니다: {row}행({value})이 {prev_row}행({prev_value}) 뒤에 있습니다. "
               "예측 모델은 시계열을 순서대로 읽습니다.",
               "{time_column} 기준으로 오래된 것부터 정렬하세요. 이미 정렬되어 있다면 날짜의 일/월이 바뀌어 읽혔거나 "
               "자정이 전날 날짜로 적혀 있을 수 있습니다: 2024-01-02 00:00 형식으로 쓰세요."),
    },
}

# Notes: not errors, said in the check report and logged by run and predict.
NOTES: dict[str, dict[str, str]] = {
    "extra_columns": {"en": "{count} column(s) of the file are not used by the card and are ignored: {names}.",
                      "ko": "카드가 쓰지 않는 열 {count}개는 무시합니다: {names}."},
    "absent_columns": {"en": "trained without {count} card column(s) not in the file: {listing}.",
                       "ko": "파일에 없는 카드 열 {count}개 없이 학습합니다: {listing}."},
    "empty_column": {"en": "{column} is empty in every row: trained without it.",
                     "ko": "{column} 열은 모든 행이 비어 있어 이 열 없이 학습합니다."},
    "test_extended": {"en": "the latest {card_share} of the rows held only {found} row(s) with {event}, too few to judge "
                            "the model by: the test period reaches back to the latest {share} ({count} such rows).",
                      "ko": "최근 {card_share} 행에는 {event} 인 행이 {found}개뿐이라 모델을 판단하기에 너무 적습니다: "
                            "시험 기간을 최근 {share} 까지 넓혔습니다 (해당 행 {count}개)."},
    "split_fallback": {"en": "no {time_column} in the file, so no split by time: split {fallback} instead (test {share}); "
                             "add the time column for a test on the latest rows, or choose with --split.",
                       "ko": "파일에 {time_column} 열이 없어 시간 분할 대신 {fallback} 분할을 씁니다 (시험 {share}). "
                             "최근 행으로 시험하려면 시간 열을 넣거나 --split 으로 고르세요."},
    "split_no_late_events": {"en": "no {positive!r} row in the latest {share} of the rows, so a test on the "
                                   "latest period could judge nothing: split {fallback} instead, which mixes periods "
                                   "(the test figure may flatter a model that drifts); --split time refuses instead.",
                             "ko": "최근 {share}의 행에 {positive!r} 행이 없어 최근 기간으로는 모델을 평가할 수 "
                                   "없습니다: 대신 {fallback} 분할을 씁니다. 기간이 섞이므로 시간에 따라 변하는 모델은 시험 "
                                   "점수가 실제보다 좋게 나올 수 있습니다. --split time 이면 대신 거부합니다."},
    "split_file_order": {"en": "no {time_column} in the file: the rows are taken to be in time order as the file has them.",
                         "ko": "파일에 {time_column} 열이 없어 파일의 행 순서를 시간 순서로 봅니다."},
    "split_override": {"en": "split {kind} as asked with --split (the card says {card_kind}).",
                       "ko": "--split 에 따라 {kind} 분할을 씁니다 (카드는 {card_kind})."},
    "positive_override": {"en": "{positive!r} read as the defect label (the card's {card_positive!r}) as asked with --positive.",
                          "ko": "--positive 에 따라 {positive!r}을(를) 불량 표시(카드의 {card_positive!r})로 읽습니다."},
    "positive_from_file": {"en": "the card's defect label {card_positive!r} is not in the target, which holds {positive!r} "
                                 "and {good!r}: {positive!r} read as the defect (the card's {card_positive!r}). If that is "
                                 "wrong, say which label is the defect with --positive LABEL.",
                           "ko": "카드의 불량 표시 {card_positive!r}가 목표 열에 없고 {positive!r}와 {good!r}가 있어 "
                                 "{positive!r}을(를) 불량(카드의 {card_positive!r})으로 읽습니다. 다르면 --positive 값 으로 "
                                 "불량 표시를 알려 주세요."},
    "costs_override": {"en": "alarm threshold chosen for costs {costs} (false alarm : missed defect) as asked with --costs "
                             "(the card says {card_costs}).",
                       "ko": "--costs 에 따라 비용 {costs} (오경보 : 불량 놓침) 으로 경보 기준을 고릅니다 (카드는 {card_costs})."},
    "out_of_range_missing": {"en": "{count} value(s) in {columns} column(s) outside the physical range read as missing: {listing}.",
                             "ko": "물리적 범위를 벗어난 값 {count}개({columns}개 열)를 빈 값으로 읽습니다: {listing}."},
    "out_of_range_dropped": {"en": "{column}: {count} row(s) with a value outside {range} {unit} left out (e.g. {value} in row {rows}; "
                                   "the card's out_of_range: drop-row).",
                             "ko": "{column}: {range} {unit}를 벗어난 값이 있는 {count}개 행을 뺍니다 (예: {rows}행의 {value}; "
                                   "카드의 out_of_range: drop-row)."},
    "not_numbers_missing": {"en": "{column}: {count} cell(s) that are not numbers read as missing (e.g. {value!r} in row(s) {rows}).",
                            "ko": "{column}: 숫자가 아닌 칸 {count}개를 빈 값으로 읽습니다 (예: {rows}행의 {value!r})."},
    "bad_dates_missing": {"en": "{column}: {count} cell(s) that are not dates read as missing (e.g. {value!r} in row(s) {rows}).",
                          "ko": "{column}: 날짜가 아닌 칸 {count}개를 빈 값으로 읽습니다 (예: {rows}행의 {value!r})."},
    "dates_outside": {"en": "{column}: {count} date(s) outside {first}-{last} read as missing (e.g. {value!r} in row(s) {rows}: "
                            "a placeholder such as 9999-12-31?).",
                      "ko": "{column}: {first}-{last}년 밖의 날짜 {count}개를 빈 값으로 읽습니다 (예: {rows}행의 {value!r}; "
                            "9999-12-31 같은 자리표시 값?)."},
    "date_order": {"en": "{column}: dates read {order} ({why}), e.g. {value!r} is {reading}; if that is wrong, pass {flag}.",
                   "ko": "{column}: 날짜를 {order}로 읽습니다 ({why}). 예: {value!r} = {reading}. 틀렸다면 {flag} 를 주세요."},
    "date_order_trained": {"en": "{column}: dates read {order}, as version {version}'s training file was read "
                                 "(this file alone does not tell); if that is wrong, pass {flag}.",
                           "ko": "{column}: 날짜를 버전 {version}의 학습 파일처럼 {order}로 읽습니다 (이 파일만으로는 알 수 "
                                 "없음). 틀렸다면 {flag} 를 주세요."},
    "date_numbers": {"en": "{column}: numbers read as dates ({kind}), e.g. {value} is {reading}.",
                     "ko": "{column}: 숫자를 날짜로 읽습니다 ({kind}). 예: {value} = {reading}."},
    "date_zones_dropped": {"en": "{column}: the time-zone suffix is dropped and the clock kept as written (one offset in the file).",
                           "ko": "{column}: 시간대 표시를 떼고 적힌 시각을 그대로 씁니다 (파일 안의 시간대가 하나)."},
    "date_zones_utc": {"en": "{column}: stamps with different time-zone offsets are converted to UTC.",
                       "ko": "{column}: 시간대가 다른 시각들을 UTC로 바꿉니다."},
    "sentinel_missing": {"en": "{column}: {count} reading(s) of the 'no value' code {codes} read as missing.",
                         "ko": "{column}: '값 없음' 코드 {codes}인 {count}개 값을 빈 값으로 읽습니다."},
    "likely_sentinel": {"en": "{column}: {value} appears in {count} rows ({share}), far from the other readings ({low} to {high}): "
                              "a sensor's code for 'no reading'? If so, pass --na \"{column}={value}\" (or add missing_values to the card).",
                        "ko": "{column}: {value} 값이 {count}개 행({share})에 있고 다른 값({low}~{high})과 멀리 떨어져 있습니다. "
                              "센서의 '측정 없음' 코드라면 --na \"{column}={value}\" 를 주세요 (또는 카드에 missing_values)."},
    "labels_merged": {"en": "{column}: {spellings} read as one value {value!r} (spaces and full-width characters ignored).",
                      "ko": "{column}: {spellings} 를 같은 값 {value!r}로 읽습니다 (공백·전각 문자 무시)."},
    "footer_dropped": {"en": "the last {count} row(s) are not data (e.g. {value!r} in row {row}: a total or note below the table): left out.",
                       "ko": "마지막 {count}개 행은 데이터가 아니어서 뺍니다 (예: {row}행의 {value!r}, 표 아래 합계나 메모)."},
    "header_repeated": {"en": "{count} row(s) repeat the header (e.g. row {row}: two exports pasted together?): left out.",
                        "ko": "머리글을 되풀이한 {count}개 행을 뺍니다 (예: {row}행; 두 파일을 이어 붙였나요?)."},
    "block_titles": {"en": "{count} title line(s) above a repeated header (e.g. row {row}: {title!r}) start a table of "
                           "their own: left out (the title is in no row; to use it, write it in a column of its own).",
                     "ko": "되풀이된 머리글 위의 제목 행 {count}개(예: {row}행 {title!r})는 표마다 붙은 제목이라 뺍니다. 제목은 "
                           "어느 행에도 들어가지 않습니다 (쓰려면 따로 열을 만들어 적으세요)."},
    "midnight_next_day": {"en": "{column}: {count} row(s) stamped 00:00 with the day that is ending (e.g. row {row}: {value} after "
                                  "{prev_value}) read as midnight of the next day.",
                            "ko": "{column}: 끝나는 날의 날짜로 00:00이 적힌 {count}개 행(예: {row}행, {prev_value} 다음의 {value})을 "
                                  "다음 날 자정으로 읽습니다."},
    "within_file_order": {"en": "no {within} in the file: the rows of one {column} are taken in the file's order.",
                          "ko": "파일에 {within} 열이 없어 같은 {column} 안의 행은 파일 순서대로 봅니다."},
    "unlabelled_rows": {"en": "{count} row(s) without a target value are left out of training.",
                        "ko": "목표 값이 없는 {count}개 행은 학습에서 뺍니다."},
    "duplicate_rows": {"en": "{count} row(s) repeat an earlier row exactly (e.g. row(s) {rows}).",
                       "ko": "앞의 행과 완전히 같은 행이 {count}개 있습니다 (예: {rows}행)."},
    "sorted_by_time": {"en": "{count} row(s) are earlier than the row above them: rows are sorted by {column} before splitting.",
                       "ko": "{count}개 행이 바로 위 행보다 이른 시각입니다. 분할 전에 {column} 기준으로 정렬합니다."},
    "same_time": {"en": "{count} row(s) share their {column} with another row.",
                  "ko": "{count}개 행이 다른 행과 같은 {column} 값을 가집니다."},
    "time_joined": {"en": "{time} made from the date in {date} and the time of day in {clock}.",
                    "ko": "{date}의 날짜와 {clock}의 시각으로 {time}을(를) 만들었습니다."},
    "target_by_words": {"en": "{target} ({ko}) is the file's column {column!r}, the only one holding pass and fail words; "
                              "if it is not, name the target with --map \"COLUMN={target}\".",
                        "ko": "{target}({ko})은(는) 파일의 {column!r} 열입니다 (합격·불합격 낱말만 있는 유일한 열). 아니라면 "
                              "--map \"열이름={target}\"으로 목표 열을 지정하세요."},
    "target_from_flags": {"en": "{target} ({ko}) is not a column of the file; {count} columns of 0/1 flags ({columns}) "
                                "mark one class in every row: each row's class is the name of its flagged column.",
                          "ko": "{target}({ko}) 열이 없고, 0/1 표시 열 {count}개({columns})가 행마다 하나의 유형을 "
                                "표시합니다. 표시된 열의 이름을 그 행의 유형으로 읽었습니다."},
    "labels_key_from_names": {"en": "{key} is not a column of the data files: each file's {key} is the one its name holds "
                                    "({file}: {value}).",
                              "ko": "데이터 파일에 {key} 열이 없어, 파일마다 이름에 든 {key}를 씁니다 ({file}: {value})."},
    "rul_from_run_to_failure": {"en": "{target} is not in the file: each {group}'s rows ({units} of them) are taken as a run "
                                      "to failure, and {target} is what {by} has left to its last row. A unit still "
                                      "running would read as failing at its last row: leave it out, or give {target}.",
                                "ko": "파일에 {target} 열이 없어, {group}마다({units}개) 고장까지 운전한 기록으로 보고 {target}를 "
                                      "마지막 행까지 남은 {by}로 계산했습니다. 아직 운전 중인 설비는 마지막 행에서 고장난 것으로 "
                                      "읽히니 빼거나 {target}를 적어 주세요."},
    "rul_same_end": {"en": "every {group} ({units} of them) ends at the same moment, {end}: that is where the file ends, "
                           "and a {group} that had not failed by then reads as failing there. Name the ones that did "
                           "fail with --failed \"NAME,NAME\"; the others' remaining life is then only known to be longer.",
                     "ko": "{group} {units}개가 모두 같은 시각({end})에 끝납니다. 파일이 끝난 시각이라, 그때까지 고장 나지 "
                           "않은 {group}도 그 시각에 고장 난 것으로 읽힙니다. 실제로 고장 난 것을 --failed \"이름,이름\" 으로 "
                           "알려 주시면 나머지는 그보다 수명이 길다고만 봅니다."},
    "rul_censored": {"en": "{target} is not in the file: the {failed} {group}(s) named by --failed ran to failure, and their "
                           "{target} is what {by} has left to their last row. The other {others} stopped before failing: their "
                           "rows count as {cap} where at least that much was left, and {unknown} row(s) whose remaining "
                           "life is unknown are left out.",
                     "ko": "파일에 {target} 열이 없습니다. --failed 로 알려 주신 {group} {failed}개는 고장까지 운전했으므로 "
                           "{target}를 마지막 행까지 남은 {by}로 계산했습니다. 나머지 {others}개는 고장 전에 멈췄으므로 "
                           "그만큼 이상 남은 행은 {cap}로 세고, 남은 수명을 알 수 없는 {unknown}개 행은 뺐습니다."},
    "anomaly_without_labels": {"en": "{target} ({ko}) is not in the file: every row is taken as normal operation. The "
                                     "detector learns it from the signals; its alarm threshold is the 99.5th percentile of "
                                     "its scores on rows it did not train on, and no test can say how many faults it "
                                     "finds, so the model is registered as a challenger: `workbench promote` it once its "
                                     "alarms have been checked.",
                               "ko": "파일에 {target}({ko}) 열이 없어 모든 행을 정상 운전으로 봅니다. 감지기는 신호로 정상 "
                                     "상태를 배우고, 경보 기준은 학습에 쓰지 않은 행의 점수 상위 0.5 % 지점입니다. 고장을 얼마나 "
                                     "찾는지는 시험할 수 없으므로 모델은 도전자로 등록됩니다. 경보를 확인한 뒤 `workbench promote`로 "
                                     "승격하세요."},
    "anomaly_no_faults": {"en": "{target} marks no fault in these rows (only {label!r}): the detector learns normal "
                                "operation from them; its alarm threshold is the 99.5th percentile of its scores on rows "
                                "it did not train on, and no test can say how many faults it finds (registered as a "
                                "challenger).",
                          "ko": "{target}에 고장으로 표시된 행이 없습니다 ({label!r}뿐). 감지기는 이 행들로 정상 운전을 "
                                "배우고, 경보 기준은 학습에 쓰지 않은 행의 점수 상위 0.5 % 지점입니다. 고장을 얼마나 찾는지는 "
                                "시험할 수 없습니다 (도전자로 등록)."},
    "time_from_names": {"en": "{time} made from the {what} in each file's (or sheet's) name ({first} ... {last}){clock}.",
                        "ko": "각 파일(또는 시트) 이름의 {what}({first} ... {last}){clock}로 {time}을(를) 만들었습니다."},
    "time_assembled": {"en": "{time} made from the columns {parts}.", "ko": "{parts} 열로 {time}을(를) 만들었습니다."},
    "time_assembled_1_24": {"en": "{time} made from the columns {parts}; {hour} numbers the hours 1-24, so hour 1 is "
                                  "stamped 00:00 (the hour's start) and hour 24 23:00.",
                            "ko": "{parts} 열로 {time}을(를) 만들었습니다. {hour}은(는) 1-24시로 적혀 있어 1시는 00:00(그 시간의 "
                                  "시작), 24시는 23:00으로 적었습니다."},
    "units_row": {"en": "row {row} holds the columns' units ({units}), not data: left out.",
                  "ko": "{row}행은 데이터가 아니라 열의 단위({units})라서 뺐습니다."},
    "units_row_other": {"en": "row {row} holds the columns' units ({units}), not data: left out. Not the card's units: "
                              "{other}; check those columns (values outside the card's range are read as missing).",
                        "ko": "{row}행은 데이터가 아니라 열의 단위({units})라서 뺐습니다. 카드와 다른 단위: {other}. "
                              "그 열을 확인하세요 (카드의 범위를 벗어난 값은 빈 값으로 읽습니다)."},
    "files_combined": {"en": "read {count} file(s) of the folder with the same header one below the other ({files}){named}; "
                             "files with another header left out: {skipped}.",
                       "ko": "폴더에서 머리글이 같은 파일 {count}개를 이어서 읽었습니다 ({files}){named} "
                             "머리글이 다른 파일은 뺐습니다: {skipped}."},
    "sheets_combined": {"en": "read {count} sheet(s) with the same header one below the other ({sheets}){named}; "
                              "sheets with another header left out: {skipped}.",
                        "ko": "머리글이 같은 시트 {count}개를 이어서 읽었습니다 ({sheets}){named} "
                              "머리글이 다른 시트는 뺐습니다: {skipped}."},
    "sheet_chosen": {"en": "read sheet {sheet!r}, whose header names {count} of the card's columns, not the first sheet "
                           "{first!r}; choose another with --sheet.",
                     "ko": "카드의 열 {count}개가 머리글에 있는 {sheet!r} 시트를 읽었습니다 (첫 시트 {first!r} 대신). "
                           "다른 시트는 --sheet로 고르세요."},
    "alike_sheets_unread": {"en": "only sheet {sheet!r} was read, but {count} other sheet(s) have the same header ({sheets}): "
                                  "--sheet all reads them together.",
                            "ko": "{sheet!r} 시트만 읽었지만 머리글이 같은 시트가 {count}개 더 있습니다 ({sheets}). "
                                  "--sheet all 을 주면 함께 읽습니다."},
    "header_joined": {"en": "the header spans rows {rows} (a name merged over sub-headers): {count} column(s) named from "
                             "the two rows ({names}); check the matched columns, or --map a name.",
                      "ko": "머리글이 {rows}행 두 줄입니다 (병합된 이름 아래 하위 머리글). {count}개 열의 이름을 두 줄로 "
                            "만들었습니다 ({names}). 찾은 열을 확인하고, 필요하면 --map으로 이름을 지정하세요."},
    "date_end_of_day": {"en": "{column}: {count} time(s) at 24:00, the end of a day, read as 00:00 of the next day.",
                        "ko": "{column}: 24:00(하루의 끝)인 시각 {count}개를 다음 날 00:00으로 읽었습니다."},
    "labels_joined": {"en": "{columns} from {file}, matched on {key}: {matched} of {rows} rows found one of its {results} "
                            "results.",
                      "ko": "{file}의 {columns}을(를) {key}(으)로 맞췄습니다: {rows}개 행 중 {matched}개가 결과 {results}개 중 "
                            "하나를 찾았습니다."},
    "decimal_comma": {"en": "numbers are written with a decimal comma (12,5 is 12.5; thousands separator: {thousands}): read so.",
                      "ko": "숫자의 소수점이 쉼표로 적혀 있어 (12,5는 12.5, 천 단위 구분: {thousands}) 그렇게 읽었습니다."},
    "merged_down": {"en": "{count} cell(s) under a cell merged down over several rows took its value: {columns}.",
                    "ko": "여러 행에 걸쳐 병합된 셀 아래의 {count}칸이 그 값을 이어받았습니다: {columns}."},
    "uncalculated_formulas": {"en": "{count} cell(s) hold formulas that were never calculated, so they read as empty: "
                                    "{columns}. The program that wrote the file left the results to Excel: open the file "
                                    "in Excel, save it, and read it again.",
                              "ko": "계산된 적이 없는 수식 {count}칸이 빈 값으로 읽혔습니다: {columns}. 파일을 만든 프로그램이 "
                                    "계산을 Excel에 맡긴 것입니다. Excel에서 파일을 열어 저장한 뒤 다시 읽으세요."},
    "widened": {"en": "the file holds one reading per row ({tag} names it, {value} holds it): its {lines} rows read as "
                      "{rows}, one per {keys}, with a column per tag ({tags}, {card_tags} of them the card's); {filled} "
                      "empty cell(s) took the tag's previous value, as a historian stores a reading when it changes.",
                "ko": "한 행에 측정값 하나씩 있는 파일입니다 ({tag}이(가) 항목, {value}이(가) 값). {lines}개 행을 {keys}마다 "
                      "한 행씩, 항목마다 한 열로 바꿔 {rows}개 행으로 읽었습니다 (항목 {tags}개, 그중 카드의 열 {card_tags}개). "
                      "빈 칸 {filled}개는 그 항목의 직전 값으로 채웠습니다 (히스토리언은 값이 바뀔 때만 기록합니다)."},
    "widened_by_key": {"en": "the file holds one reading per row ({tag} names it, {value} holds it): its {lines} rows read as "
                             "{rows}, one per {keys}, with a column per tag ({tags}, {card_tags} of them the card's); a tag "
                             "without a reading for a row stays missing.",
                       "ko": "한 행에 측정값 하나씩 있는 파일입니다 ({tag}이(가) 항목, {value}이(가) 값). {lines}개 행을 {keys}마다 "
                             "한 행씩, 항목마다 한 열로 바꿔 {rows}개 행으로 읽었습니다 (항목 {tags}개, 그중 카드의 열 {card_tags}개). "
                             "값이 없는 항목은 빈 값으로 둡니다."},
    "header_below": {"en": "line {line} holds the card's column names under a row of other names ({above}: tag codes, "
                           "most often); line {line} is read as the header.",
                     "ko": "{line}행에 카드의 열 이름이 있고, 그 위 행({above})은 다른 이름(대개 태그 번호)입니다. {line}행을 "
                           "머리글로 읽었습니다."},
    "tag_row": {"en": "row {row} holds a code per column ({codes}: tag codes), not data: left out.",
                "ko": "{row}행은 열마다 코드({codes}: 태그 번호)가 적힌 행이라 데이터가 아닙니다. 읽지 않았습니다."},
    "space_separated": {"en": "the values are separated by spaces, not commas: read as columns.",
                        "ko": "값이 쉼표가 아니라 공백으로 구분되어 있습니다. 열로 나눠 읽었습니다."},
    "turned": {"en": "the file is laid sideways, a row per item ({item}) and a column per time ({first} to {last}, {times} "
                     "columns, {blocks} table(s)): turned to {rows} rows, one per time, with a column per item ({items}, "
                     "{card_items} of them the card's){day}.",
               "ko": "가로로 놓인 표입니다: 항목({item})마다 한 행, 시각마다 한 열({first}~{last}, {times}개 열, 표 {blocks}개). "
                     "시각마다 한 행, 항목마다 한 열로 돌려 {rows}개 행으로 읽었습니다 (항목 {items}개, 그중 카드의 열 "
                     "{card_items}개){day}."},
    "turned_undated": {"en": "{count} table(s) ({names}) give no day, neither in the title above the table nor in the "
                             "sheet's or file's name: their rows have a time of day but no date ({time} is missing there). "
                             "Write the date in the title (2024-03-05) or name the sheet or file by it.",
                       "ko": "표 {count}개({names})에 날짜가 없습니다 (표 위 제목에도, 시트나 파일 이름에도). 그 행들은 "
                             "시각만 있고 날짜가 없어 {time}이(가) 비어 있습니다. 제목에 날짜(2024-03-05)를 적거나 시트나 "
                             "파일 이름을 날짜로 지으세요."},
    "turned_aside": {"en": "{columns}: neither an item nor a time (a unit, a day's average or maximum, a remark); left aside.",
                     "ko": "{columns}: 항목도 시각도 아닙니다 (단위, 하루 평균이나 최대, 비고). 읽지 않았습니다."},
    "turned_repeats": {"en": "{count} item(s) written twice in one table: the first row of each is read.",
                       "ko": "한 표에 두 번 적힌 항목이 {count}개 있습니다. 각각 첫 행을 읽었습니다."},
    "by_position": {"en": "the file has no header row: its {count} columns are the card's in the card's order, by number "
                          "and kind, and are read so ({names}). If that is not the file's order, add a first line naming "
                          "the columns.",
                    "ko": "파일에 머리글 행이 없습니다. 열 {count}개가 개수와 종류로 보아 카드의 열과 같은 순서라 그렇게 "
                          "읽었습니다 ({names}). 순서가 다르면 맨 위에 열 이름 행을 넣어 주세요."},
    "per_unit": {"en": "the file has a column per {group} ({units}){signals}: its {lines} rows read as {rows}, a row per "
                       "{group} and row of the file.",
                 "ko": "파일에 {group}마다 열이 따로 있습니다 ({units}){signals}. {lines}개 행을 {group}마다 한 행씩 "
                       "{rows}개 행으로 읽었습니다."},
    "widened_tag_columns": {"en": "{columns}: one value per {tag} (its unit or description), not per row; left out of the "
                                  "widened rows.",
                            "ko": "{columns}: 행마다가 아니라 {tag}마다 값이 하나입니다 (단위나 설명). 바꾼 행에는 넣지 "
                                  "않았습니다."},
    "widened_repeats": {"en": "{count} reading(s) repeat a {tag} at the same {keys}: the first is kept.",
                        "ko": "같은 {keys}에 같은 {tag} 값이 {count}번 더 있습니다. 첫 값을 썼습니다."},
    "duplicate_same": {"en": "column {name!r} appears {times} times with the same values: read once.",
                       "ko": "{name!r} 열이 값이 같은 채로 {times}번 나옵니다. 한 번만 읽었습니다."},
    "duplicate_numbered": {"en": "column {name!r} appears {times} times with different values: read as {names}; a card "
                                 "column of that name reads the first (--map \"{second}={name}\" reads another).",
                           "ko": "{name!r} 열이 값이 다른 채로 {times}번 나옵니다. {names}(으)로 읽었습니다. 같은 이름의 "
                                 "카드 열은 첫 번째 열을 읽습니다 (다른 열은 --map \"{second}={name}\")."},
    "content_not_name": {"en": "the file is {what}, though its name ends in {suffix}: read as what it is.",
                         "ko": "파일 이름은 {suffix}(으)로 끝나지만 내용은 {what}입니다. 내용대로 읽었습니다."},
    "other_sheets": {"en": "read sheet {sheet!r} of {sheets}; choose another with --sheet.",
                     "ko": "{sheets} 중 {sheet!r} 시트를 읽었습니다. 다른 시트는 --sheet로 고르세요."},
}

# Words inside notes that depend on the language.
WORDS = {
    "day-first": {"en": "day-first", "ko": "일/월 순서"}, "month-first": {"en": "month-first", "ko": "월/일 순서"},
    "year-first": {"en": "year-first (yy.mm.dd)", "ko": "연.월.일 순서 (yy.mm.dd)"},
    "field": {"en": "a first or second number above 12 settles it", "ko": "12보다 큰 숫자로 정해짐"},
    "steps": {"en": "read so, the rows step forward in time most evenly", "ko": "그렇게 읽어야 행이 시간순으로 고르게 나아감"},
    "excel serial days": {"en": "Excel serial days", "ko": "Excel 일련번호"},
    "unix seconds": {"en": "Unix seconds", "ko": "Unix 초"}, "unix milliseconds": {"en": "Unix milliseconds", "ko": "Unix 밀리초"},
    "stratified": {"en": "stratified (classes in proportion)", "ko": "층화"}, "random": {"en": "random", "ko": "무작위"},
    "time": {"en": "time", "ko": "시간"}, "group": {"en": "group", "ko": "그룹"},
}

CLOSEST = {"en": "closest in file", "ko": "파일에서 가장 비슷한 열"}

MORE = {
    "en": " ({count} more problem(s): `workbench check {card} --data {file}` lists them all.)",
    "ko": " (문제가 {count}개 더 있습니다: `workbench check {card} --data {file}`로 모두 볼 수 있습니다.)",
}


def lang_or_default(lang: str | None) -> str:
    return lang if lang in ("ko", "en") else settings.language()


def _python(value):
    """A numpy number as the Python number it is: messages say -1, not np.int64(-1)."""
    import numpy as np

    return value.item() if isinstance(value, np.generic) else value


def text(code: str, lang: str | None = None, **fields) -> tuple[str, str]:
    """(what is wrong, how to fix it) for a problem code, in ``lang``."""
    lang = lang_or_default(lang)
    what, fix = MESSAGES[code][lang]
    fields = {k: _python(v) for k, v in fields.items()}
    return what.format(**fields), fix.format(**fields)


WORDED = {"order", "why", "kind", "fallback", "card_kind"}  # fields whose values are words of WORDS


def _localised(key: str, value, lang: str):
    """A field worded per language: a function of the language, an {en, ko} pair, or a word of WORDS."""
    if callable(value):
        return value(lang)
    if isinstance(value, dict) and set(value) == {"en", "ko"}:
        return value[lang]
    if key in WORDED and isinstance(value, str) and value in WORDS:
        return WORDS[value][lang]
    return value


def note(code: str, lang: str | None = None, **fields) -> str:
    lang = lang_or_default(lang)
    return NOTES[code][lang].format(**{k: _python(_localised(k, v, lang)) for k, v in fields.items()})


def portable(notes: list[tuple[str, dict]]) -> list[list]:
    """Notes as plain JSON (functions of the language resolved to {en, ko}, numbers and dates to text),
    so they travel with the data into a notebook kernel and into MLflow."""
    def plain(value):
        if callable(value):
            return {lang: value(lang) for lang in ("en", "ko")}
        if isinstance(value, (str, int, float, bool)) or value is None or isinstance(value, dict):
            return value.item() if hasattr(value, "item") else value
        return value.item() if hasattr(value, "item") else str(value)
    return [[code, {k: plain(v) for k, v in fields.items()}] for code, fields in notes]


def error(code: str, source, column: str | None = None, row_numbers: list[int] | None = None,
          lang: str | None = None, **fields) -> DataError:
    """A DataError for ``code``: one paragraph naming the file, the column, the rows and the fix."""
    lang = lang_or_default(lang)
    fields = {k: _localised(k, v, lang) for k, v in fields.items()}  # wording that depends on the language
    fields.setdefault("rows", ", ".join(map(str, row_numbers or [])))
    what, fix = text(code, lang, **fields)
    return DataError(source, what, column=column, fix=fix, code=code, rows=row_numbers, lang=lang)


# --- drift of new data against a model's training data (pipelines/drift.py) ----------------------------

DRIFT_WORDS = {
    "drift": {"en": "drift", "ko": "변화"}, "watch": {"en": "watch", "ko": "주의"},
    "stable": {"en": "stable", "ko": "안정"}, "absent": {"en": "not in the file", "ko": "파일에 없음"},
    "too_few_rows": {"en": "too few rows", "ko": "행 부족"},
}

DRIFT_SUMMARY = {
    "drift": {"en": "drift: {count} of {total} input(s) no longer look like the training data: "
                    "{names} ({rows:,} new rows against {reference:,} training rows).",
              "ko": "데이터 변화: 입력 {total}개 중 {count}개가 학습 데이터와 달라졌습니다: {names} "
                    "(새 행 {rows:,}개, 학습 행 {reference:,}개 기준)."},
    "watch": {"en": "no drift, but {count} of {total} input(s) moved a little from the training data: "
                    "{names} (watch them; {rows:,} new rows).",
              "ko": "큰 변화는 없지만 입력 {total}개 중 {count}개가 학습 데이터에서 조금 움직였습니다: "
                    "{names} (지켜보세요; 새 행 {rows:,}개)."},
    "stable": {"en": "no drift: all {total} inputs look like the training data ({rows:,} new rows "
                     "against {reference:,} training rows).",
               "ko": "변화 없음: 입력 {total}개 모두 학습 데이터와 비슷합니다 (새 행 {rows:,}개, "
                     "학습 행 {reference:,}개 기준)."},
    "too_few_rows": {"en": "too few rows to tell drift: {rows:,} new row(s), at least {least} needed.",
                     "ko": "변화를 판단하기에 행이 너무 적습니다: 새 행 {rows:,}개, 최소 {least}개가 필요합니다."},
}

DRIFT_RULE = {
    "en": "An input drifts when its PSI is at least {psi_drift} and its test (KS for numbers, chi-square for "
          "categories) gives p < {alpha} after correction for the {tests} tests made; PSI {psi_watch} to "
          "{psi_drift}: watch.",
    "ko": "PSI가 {psi_drift} 이상이고 검정(숫자는 KS, 범주는 카이제곱)의 p값이 검정 {tests}개에 대한 보정 후 "
          "{alpha} 미만이면 변화로 봅니다. PSI {psi_watch}~{psi_drift}: 주의.",
}


def drift_word(verdict: str, lang: str | None = None) -> str:
    return DRIFT_WORDS[verdict][lang_or_default(lang)]


def drift_text(report, lang: str | None = None) -> str:
    """One line on a DriftReport: the verdict and the inputs that moved."""
    lang = lang_or_default(lang)
    absent = f" ({DRIFT_WORDS['absent'][lang]})"
    names = report.drifted if report.verdict == "drift" else report.watched
    listing = ", ".join(n + (absent if any(c.column == n and c.verdict == "absent" for c in report.columns) else "")
                        for n in names[:8]) + (" …" if len(names) > 8 else "")
    from .drift import MIN_ROWS

    return DRIFT_SUMMARY[report.verdict][lang].format(
        count=len(names), total=len(report.columns), names=listing, rows=report.rows,
        reference=report.reference_rows, least=MIN_ROWS)

DRIFT_HEADERS = {
    "en": ("input", "kind", "training", "new", "PSI", "test", "p (corrected)", "verdict"),
    "ko": ("입력", "종류", "학습 데이터", "새 데이터", "PSI", "검정", "p (보정)", "판정"),
}


# --- what commands say (predict, template, new, the site of a run), and the columns predict adds --------

SAY: dict[str, dict[str, str]] = {
    "predict_done": {
        "en": "wrote {rows:,} predictions of {model} v{version} to {path} in {seconds:.1f} s (model loaded in "
              "{load:.1f} s, then {rate:,.0f} rows/s)",
        "ko": "{model} v{version} 모델의 예측 {rows:,}건을 {path}에 썼습니다: {seconds:.1f}초 걸림 (모델 불러오기 "
              "{load:.1f}초, 이후 초당 {rate:,.0f}행)"},
    "drift_details": {"en": "details: workbench drift {card} --input FILE --version {version}{site}",
                      "ko": "자세히: workbench drift {card} --input 파일 --version {version}{site}"},
    "drift_not_checked": {"en": "drift: not checked. {why}", "ko": "데이터 변화: 확인하지 못했습니다. {why}"},
    "output_folder": {"en": "--output {path} is a folder: name a file in it, e.g. --output {example}.",
                      "ko": "--output {path} 은(는) 폴더입니다: 그 안의 파일 이름을 주세요. 예: --output {example}"},
    "output_format": {"en": "predictions are written to a .csv, .xlsx or .parquet file, not {name}: choose one of "
                            "these endings for --output.",
                      "ko": "예측 결과는 .csv, .xlsx, .parquet 파일로만 씁니다 ({name} 은(는) 안 됨): --output 의 확장자를 "
                            "이 중 하나로 바꾸세요."},
    "output_is_input": {"en": "the output file would overwrite the input: choose another --output.",
                        "ko": "출력 파일이 입력 파일을 덮어쓰게 됩니다: 다른 --output 을 고르세요."},
    "output_exists": {"en": "--output {path} already exists: choose another name, or pass --force to replace it (it is "
                            "replaced only once every row is scored).",
                      "ko": "--output {path} 파일이 이미 있습니다: 다른 이름을 고르거나, 바꾸려면 --force 를 주세요 "
                            "(모든 행을 계산한 뒤에만 바뀝니다)."},
    "output_parent": {"en": "--output {path}: {parent} is a file, not a folder.",
                      "ko": "--output {path}: {parent} 은(는) 폴더가 아니라 파일입니다."},
    "excel_rows": {"en": "{source} has {rows:,} rows to score, more than an Excel sheet holds ({limit:,} below its "
                         "header): write the predictions to a .csv or .parquet file instead, or split the input.",
                   "ko": "{source} 에서 계산할 행이 {rows:,}개로, Excel 시트 한 장에 들어가는 {limit:,}행(머리글 "
                         "제외)보다 많습니다: 예측 결과를 .csv 나 .parquet 파일로 쓰거나 입력을 나누세요."},
    "output_types": {"en": "{source}: column {column} holds {first} in the first rows scored and {later} from row {row:,} on, "
                           "and a Parquet file keeps one type per column: write the predictions to a .csv file, or "
                           "make the column one type in the input (e.g. text codes throughout).",
                     "ko": "{source}: {column} 열이 처음 행에는 {first}, {row:,}행부터는 {later} 값이라 Parquet 파일에 한 "
                           "형식으로 쓸 수 없습니다: 예측 결과를 .csv 파일로 쓰거나 입력에서 그 열을 한 형식(예: "
                           "모두 문자 코드)으로 맞추세요."},
    "template_done": {"en": "wrote {path}: {columns} columns, {rows} example rows",
                      "ko": "{path} 파일을 만들었습니다: 열 {columns}개, 예시 행 {rows}개"},
    "template_next": {"en": "next: paste your data under the header (replacing the examples), then "
                            "workbench check {card} --data {path}",
                      "ko": "다음: 머리글 아래에 공장 데이터를 붙여 넣고(예시 행은 지우세요) "
                            "workbench check {card} --data {path} 로 확인하세요"},
    "template_format": {"en": "--format must be csv or xlsx, not {value}.",
                        "ko": "--format 은 csv 또는 xlsx 여야 합니다 ({value} 은(는) 안 됨)."},
    "site_derived": {"en": "site: {site} (from the file name; the model registers as {model}; --site NAME names the "
                           "data line yourself, so later files of the same line add versions to one model)",
                     "ko": "사이트: {site} (파일 이름에서 만듦; 모델은 {model} 로 등록됩니다. --site 이름 으로 데이터 "
                           "라인을 직접 정하면 같은 라인의 다음 파일도 한 모델의 새 버전이 됩니다)"},
    "site_given": {"en": "site: {site} (the model registers as {model})",
                   "ko": "사이트: {site} (모델은 {model} 로 등록됩니다)"},
    "site_without_data": {"en": "--site {site} names the data line of your own file: give it with --data FILE. A run "
                                "on the card's reference data registers under the card id itself.",
                          "ko": "--site {site} 는 공장 파일의 데이터 라인 이름입니다: --data 파일 과 함께 주세요. "
                                "카드의 기준 데이터로 학습한 모델은 카드 id 그대로 등록됩니다."},
    "site_reserved": {"en": "--site reference is the name of the card's own reference data: choose another name for "
                            "this file's data line, e.g. --site plant-a.",
                      "ko": "--site reference 는 카드의 기준 데이터 이름입니다: 이 파일의 데이터 라인에는 다른 이름을 "
                            "주세요. 예: --site plant-a"},
    "site_empty": {"en": "--site {site!r} has no letter or digit: name the data line, e.g. --site plant-a or --site 1공장.",
                   "ko": "--site {site!r} 에 글자나 숫자가 없습니다: 데이터 라인 이름을 주세요. 예: --site plant-a, "
                         "--site 1공장"},
}

# new card (``workbench new``): the summary it prints
SAY.update({
    "new_wrote": {"en": "wrote card {card_file} and notebook {notebook}.",
                  "ko": "카드 {card_file} 와 노트북 {notebook} 를 만들었습니다."},
    "new_task": {"en": "task: {task} ({how}; target {target}: {labels}).",
                 "ko": "과제: {task} ({how}; 목표 {target}: {labels})."},
    "new_task_guessed": {"en": "guessed from the target", "ko": "목표 열에서 추정함"},
    "new_task_given": {"en": "as given by --task", "ko": "--task로 지정함"},
    "new_task_wrong": {"en": "  If that is wrong, run again with --task KIND --force.",
                       "ko": "  추정이 틀렸다면 --task 를 주고 --force 로 다시 만드세요."},
    "new_positive": {"en": "defect label: {positive!r} (the rarer one); if not, edit target.positive in the card.",
                     "ko": "불량 표시: {positive!r} (더 드문 값). 다르면 카드의 target.positive 를 고치세요."},
    "new_columns": {"en": "columns: {kinds}.", "ko": "열: {kinds}."},
    "new_time": {"en": " time {column}.", "ko": " 시각 {column}."},
    "new_group": {"en": " group {column}.", "ko": " 그룹 {column}."},
    "new_ranges": {"en": "ranges: the observed range widened by its span; edit min/max in the card to the plant's "
                         "real limits.",
                   "ko": "범위: 관측값 범위를 그 폭만큼 넓혔습니다. 공장의 실제 한계로 카드의 min/max 를 고치세요."},
    "new_split": {"en": "split: {kind}, test {share:.0%}; metric: {metric} {sign} {accept}.",
                  "ko": "분할: {kind}, 시험 {share:.0%}. 지표: {metric} {sign} {accept}."},
    "new_left_out": {"en": "left out: {column} ({why})", "ko": "제외한 열: {column} ({why})"},
    "new_leak": {"en": "excluded from the inputs: {column} (its value decides the target exactly: a column written "
                       "after the result would leak it; see exclude in the card)",
                 "ko": "입력에서 뺀 열: {column} (값이 목표를 그대로 정합니다: 결과를 기록한 열이면 누설입니다; "
                       "exclude 참고)"},
    "new_next": {"en": "next: workbench run {card}", "ko": "다음: workbench run {card}"},
})


# `workbench run`: what it prints when the run is over
SAY.update({
    "run_finished": {"en": "{card} finished in {seconds:.0f} s on {device} ({trials} trials in the study)",
                     "ko": "{card} 학습 완료: {seconds:.0f}초, 장치 {device} (스터디의 시행 {trials}회)"},
    "run_engine": {"en": "this run's trials ran on {engine}", "ko": "이번 실행의 시행은 {engine}에서 실행됨"},
    "run_headline": {"en": "{card}: primary metric test {metric} {value:.4f}{interval} {verdict} the acceptance "
                           "threshold {sign} {accept:g}{baseline}",
                     "ko": "{card}: 주 지표 시험 {metric} {value:.4f}{interval}, 합격 기준 {sign} {accept:g} 을(를) "
                           "{verdict}{baseline}"},
    "run_headline_none": {"en": "{card}: no test {metric} (the test rows could not score it)",
                          "ko": "{card}: 시험 {metric} 없음 (시험 행으로 계산할 수 없었습니다)"},
    "run_passes": {"en": "passes", "ko": "통과했습니다"},
    "run_fails": {"en": "does NOT pass", "ko": "통과하지 못했습니다"},
    "run_interval": {"en": " (90 % interval {lo:.4f} to {hi:.4f})", "ko": " (90% 구간 {lo:.4f} ~ {hi:.4f})"},
    "run_baseline": {"en": "; naive baseline {value:.4f} ({how})", "ko": "; 단순 기준선 {value:.4f} ({how})"},
    "run_table": {"en": "metric|model (test)|90 % interval|baseline", "ko": "지표|모델 (시험)|90% 구간|기준선"},
    "run_primary": {"en": " (primary)", "ko": " (주 지표)"},
    "run_to": {"en": "{lo:.4f} to {hi:.4f}", "ko": "{lo:.4f} ~ {hi:.4f}"},
    "run_counts": {"en": "test: {counts}", "ko": "시험: {counts}"},
    "run_interval_runs": {"en": "the 90 % intervals draw the test rows in runs of {block} in time order (neighbouring "
                                "readings err together)",
                          "ko": "90% 구간은 시험 행을 시간 순서대로 {block}행씩 이어서 뽑았습니다 (이웃한 측정값은 함께 "
                                "틀리기 때문입니다)"},
    "run_interval_groups": {"en": "the 90 % intervals draw whole {unit} groups, {groups} in the test part (rows of one "
                                  "{unit} err together)",
                            "ko": "90% 구간은 시험 부분의 {unit} {groups}개를 통째로 뽑았습니다 (같은 {unit}의 행은 함께 "
                                  "틀리기 때문입니다)"},
    "run_untrusted": {"en": "(!) {name} cannot be trusted: {why}", "ko": "(!) {name} 은(는) 믿을 수 없습니다: {why}"},
    "run_costs": {"en": "alarm threshold {threshold:.3f} (chosen for the card's costs on the training folds): cost per "
                        "test row {cost:.3f}, at 0.5 {half:.3f}, never alarming {never:.3f}",
                  "ko": "경보 기준값 {threshold:.3f} (학습 폴드에서 카드의 비용으로 고름): 시험 행당 비용 {cost:.3f}, "
                        "기준값 0.5 일 때 {half:.3f}, 경보하지 않을 때 {never:.3f}"},
    "run_alarm_rate": {"en": "no fault marked in the training rows: the alarm threshold {threshold:.3f} is the 99.5th "
                             "percentile of the training folds' scores; it alarms on {rate:.2%} of the test rows",
                       "ko": "학습 행에 고장 표시가 없습니다: 경보 기준값 {threshold:.3f} 은 학습 폴드 점수의 상위 0.5 % "
                             "지점이며, 시험 행의 {rate:.2%} 에서 경보합니다"},
    "run_intervals": {"en": "{level:.0%} prediction intervals held {coverage:.1%} of the test rows (mean width {width:.3g})",
                      "ko": "{level:.0%} 예측 구간이 시험 행의 {coverage:.1%} 를 담았습니다 (평균 폭 {width:.3g})"},
    "run_split": {"en": "split: {split} (the card's split was not possible on this file; see the notes above)",
                  "ko": "분할: {split} (이 파일에서는 카드의 분할을 쓸 수 없었습니다. 위의 안내 참고)"},
    "run_note": {"en": "note:", "ko": "안내:"},
    "run_refit": {"en": "tested on {test} rows with the model fitted on {train}; the registered model is refit on all "
                        "{rows} rows (--no-refit: not)",
                  "ko": "{train}행으로 학습한 모델을 {test}행으로 시험했고, 등록 모델은 전체 {rows}행으로 다시 "
                        "학습했습니다 (--no-refit: 다시 학습 안 함)"},
    "run_registered": {"en": "registered model {model} version {version}: {state} ({reason})",
                       "ko": "등록 모델 {model} 버전 {version}: {state} ({reason})"},
    "run_champion": {"en": "champion", "ko": "챔피언"},
    "run_challenger": {"en": "challenger", "ko": "도전자"},
    "run_mlflow": {"en": "MLflow run: {run}  (store: {store})", "ko": "MLflow 실행: {run}  (저장소: {store})"},
    "run_notebook": {"en": "executed notebook: {path}", "ko": "실행된 노트북: {path}"},
    "run_ui": {"en": "open the MLflow UI with: workbench ui  (or: make ui); the card's runs with the primary metric "
                     "first: the link in its experiment's description; trials: workbench dashboard {card}",
               "ko": "MLflow 화면 열기: workbench ui  (또는 make ui). 주 지표가 앞에 오는 실행 목록은 실험 설명의 "
                     "링크에, 시행 목록은 workbench dashboard {card} 에 있습니다"},
    "accuracy_below_multiclass": {
        "en": "accuracy {acc:.4f} is below the baseline's {base:.4f}: always naming the most common class is right "
              "that often when one class dominates, and tells no other class apart; {primary} is the card's measure",
        "ko": "정확도 {acc:.4f} 가 기준선의 {base:.4f} 보다 낮습니다: 한 부류가 대부분이면 늘 가장 흔한 부류를 답해도 "
              "그만큼 맞지만 다른 부류는 가려내지 못합니다. 이 카드의 척도는 {primary} 입니다"},
    "accuracy_below_rare": {
        "en": "accuracy {acc:.4f} is below the baseline's {base:.4f} because {events} are rare ({rate:.1%} of the test "
              "rows): never alarming is right {base:.1%} of the time and catches none; the model's alarms catch "
              "{events} at the price of some false alarms, which accuracy counts against it, so {primary} decides",
        "ko": "정확도 {acc:.4f} 가 기준선의 {base:.4f} 보다 낮은 것은 {events}이(가) 드물기 때문입니다 (시험 행의 "
              "{rate:.1%}): 경보하지 않으면 {base:.1%} 맞지만 {events}을(를) 하나도 잡지 못합니다. 모델의 경보는 약간의 "
              "오경보를 대가로 {events}을(를) 잡고, 정확도는 그 오경보를 깎으므로 {primary} 로 판단합니다"},
    "events_quality": {"en": "defects", "ko": "불량"},
    "events_maintenance": {"en": "failures", "ko": "고장"},
    "events_anomaly": {"en": "faults", "ko": "이상"},
    # the registry's decision, said from its facts (MLflow keeps the English reason as the version's tag)
    "reason_unchanged": {"en": "{reason}", "ko": "모델이 그대로입니다: 같은 데이터·카드·코드에서 스터디에 새 시행이 없어 "
                                                 "v{version} 이(가) 그대로 {state}입니다. 그래도 새 버전을 등록하려면 "
                                                 "workbench run {card} --retrain"},
    "reason_first": {"en": "{reason}", "ko": "합격 기준을 통과한 첫 버전"},
    "reason_misses": {"en": "{reason}", "ko": "시험 {metric} {value:.4f} 이(가) 합격 기준 {accept:g} 에 못 미침"},
    "reason_compared": {"en": "{reason}", "ko": "시험 {metric} {value:.4f}, 챔피언 v{before} 은(는) 같은 시험 행에서 "
                                                "{champion:.4f}: {verdict}"},
    "reason_untrusted": {"en": "{reason}", "ko": "시험 {metric} 를 믿을 수 없어(위의 (!) 참고) 이 수치만으로는 챔피언을 "
                                                 "정하지 않습니다; 직접 챔피언으로 올리려면 workbench promote {model} "
                                                 "--version {version}"},
    "reason_not_worse": {"en": "not worse", "ko": "챔피언보다 나쁘지 않음"},
    "reason_worse": {"en": "worse", "ko": "챔피언보다 나쁨"},
})

# why a test figure cannot be trusted (pipelines/metrics.untrusted), in Korean
UNTRUSTED_KO = ((r"only (\d+) test rows", r"시험 행이 \1개뿐"),
                (r"only (\d+) positive test rows \(at least (\d+) needed\)", r"시험 행의 양성(불량)이 \1개뿐 (\2개 이상 필요)"),
                (r"the test target is constant", "시험 목표값이 일정함"))


def untrusted_text(why: str, lang: str | None = None) -> str:
    if lang_or_default(lang) != "ko":
        return why
    import re

    for pattern, korean in UNTRUSTED_KO:
        if re.fullmatch(pattern, why):
            return re.sub(pattern, korean, why)
    return why


COUNT_WORDS_KO = {"rows": "행", "positives": "양성(불량) 행", "groups": "그룹"}


def counts_text(counts: dict, lang: str | None = None) -> str:
    """``1200 rows, 35 positives`` (ko: ``1200 행, 35 양성(불량) 행``)."""
    words = COUNT_WORDS_KO if lang_or_default(lang) == "ko" else {}
    names = {k: k.removeprefix("test_") for k in counts}
    return ", ".join(f"{v} {words.get(names[k], names[k])}" for k, v in counts.items())


def decision_reason(decision: dict, card_id: str, lang: str | None = None) -> str:
    """The registry's reason in ``lang``: English as the registry wrote it; Korean said from the decision's
    own fields (version, values, champion before), which hold the same facts."""
    reason = decision.get("reason", "")
    if lang_or_default(lang) != "ko":
        return reason
    state = say("run_champion" if decision.get("promoted") else "run_challenger", "ko")
    fields = dict(reason=reason, metric=decision.get("metric", ""), value=decision.get("value") or 0.0,
                  accept=decision.get("accept") or 0.0, version=decision.get("version"), card=card_id, state=state,
                  model=decision.get("model") or card_id, before=decision.get("champion_before"),
                  champion=decision.get("champion_value") or 0.0)
    if reason.startswith("model unchanged"):
        return say("reason_unchanged", "ko", **fields)
    if "cannot be trusted" in reason:
        return say("reason_untrusted", "ko", **fields)
    if not decision.get("passes_threshold", True):
        return say("reason_misses", "ko", **fields)
    if decision.get("champion_before") is not None and decision.get("champion_value") is not None:
        verdict = say("reason_not_worse" if " not worse than " in reason else "reason_worse", "ko")
        return say("reason_compared", "ko", verdict=verdict, **{k: v for k, v in fields.items() if k != "verdict"})
    return say("reason_first", "ko", **fields)

def say(code: str, lang: str | None = None, **fields) -> str:
    """A sentence a command prints, in ``lang`` (default: the locale)."""
    return SAY[code][lang_or_default(lang)].format(**{k: _python(v) for k, v in fields.items()})


# The columns `workbench predict` adds, as headed with --lang ko (en keeps the engine's names, which scripts
# and `workbench serve` use).
OUTPUT_COLUMNS_KO = {"prediction": "예측", "probability": "불량 확률", "score": "이상 점수", "prediction_lower": "하한",
                     "prediction_upper": "상한", "model_id": "모델", "model_version": "버전", "input_row": "입력 행",
                     "input_sheet_row": "시트!행"}
PROBABILITY_KO = {"maintenance": "고장 확률", "quality": "불량 확률"}  # binary: the positive class's probability


def output_column(name: str, lang: str | None = None, task: str | None = None, problem: str | None = None) -> str:
    """The header of a column `workbench predict` adds, in ``lang``."""
    if lang_or_default(lang) != "ko":
        return name
    if name == "probability":
        if task == "multiclass":
            return "확률 (가장 높은 유형)"
        return PROBABILITY_KO.get(problem or "", "양성 확률")
    if name.startswith("probability_"):
        return f"확률_{name.removeprefix('probability_')}"
    return OUTPUT_COLUMNS_KO.get(name, name)
