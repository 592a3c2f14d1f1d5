"""XLSX rosters: the first worksheet, the same headers and checks as CSV, every problem
placed as ``file:sheet!row`` with the row number Excel shows. The workbooks are written
here with openpyxl, cell by cell at the rows named, as an office's sheet would be."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from expert_pool.roster_file import load_roster
from expert_pool.roster_xlsx import cell_text
from garrison.errors import DocumentError

Rows = dict[int, list[Any]]


def workbook(path: Path, rows: Rows, *, title: str = "名单",
             others: dict[str, Rows] | None = None) -> Path:
    """A workbook whose first sheet holds ``rows`` (row number -> cells from column A)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    for name, more in (others or {}).items():
        _fill(book.create_sheet(name), more)
    _fill(sheet, rows)
    if others:
        book.active = len(book.worksheets) - 1  # another sheet open: the first is read
    book.save(path)
    return path


def _fill(sheet: Any, rows: Rows) -> None:
    for number, cells in rows.items():
        for column, value in enumerate(cells, start=1):
            if value is not None:
                sheet.cell(row=number, column=column, value=value)


HEADER = ["姓  名", "单  位", "城市", "技能", "电话", "邮箱", "在岗", "证书"]  # spaced out


def test_the_first_sheet_is_read_with_excel_row_numbers(tmp_path: Path) -> None:
    path = workbook(tmp_path / "roster.xlsx", {
        1: ["2026年网络安全专家名单"],  # a title row above the header
        3: HEADER,
        4: ["张伟", "浙江省网络安全应急中心", "杭州", "电子取证:3;web:2", 13812345678,
            "zhang.wei@example.org", True, "CISP:2028-06-30"],
        5: ["李娜", "宁波市住房公积金中心", "宁波", "恶意代码分析", "0574-87654321", None,
            False],
        7: ["王芳", "温州市城市管理局", None, "云安全:2", None, None, None, "OSCP"],
    }, others={"说明": {1: ["姓名", "单位"], 2: ["不是专家", "这页不读"]}})
    records = load_roster(path)
    assert [(r.line, r.name, r.organisation) for r in records] == [
        (4, "张伟", "浙江省网络安全应急中心"), (5, "李娜", "宁波市住房公积金中心"),
        (7, "王芳", "温州市城市管理局")]
    zhang, li, wang = records
    assert zhang.phone == "13812345678"  # typed as a number in Excel
    assert zhang.skills == {"forensics": 3, "web": 2}
    assert zhang.certifications == [{"name": "CISP", "expires": "2028-06-30"}]
    assert (zhang.active, li.active, wang.active) == (True, False, True)
    assert (li.phone, li.email, li.skills) == ("0574-87654321", None, {"malware": 1})
    assert (wang.city, wang.certifications) == (None, [{"name": "OSCP", "expires": None}])


def test_every_bad_row_is_placed_by_sheet_and_row(tmp_path: Path) -> None:
    path = workbook(tmp_path / "roster.xlsx", {
        1: HEADER,
        2: ["张伟", "浙江省网络安全应急中心", "杭州", "web:3", None, "zhang.wei@example.org"],
        3: ["李娜", "宁波市住房公积金中心", None, "电子取正:2", "12345"],
        5: ["张三", None, None, "web:4"],
        6: ["赵敏", "绍兴市园林局", None, None, None, "Zhang.Wei@example.org"],
        7: ["刘洋", "湖州市房管局", None, None, None, None, "也许", None, None, "多出来的"],
    }, title="专家")
    with pytest.raises(DocumentError) as err:
        load_roster(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}:专家!3: unknown skill '电子取正' (did you mean '电子取证'?)",
        f"{path}:专家!3: phone '12345' is not a phone number (7 to 20 digits; +, -, spaces "
        "and brackets allowed)",
        f"{path}:专家!5: organisation must not be empty",
        f"{path}:专家!5: skill web: level '4' is not 1, 2 or 3",
        f"{path}:专家!6: duplicate expert zhang.wei@example.org (also on row 2)",
        f"{path}:专家!7: column J has a value but no name in the header row",
    ]
    assert err.value.hint == ("Nothing was written. Fix the problems above and run the "
                              "command again.")


def test_a_bad_header_is_placed_on_its_row(tmp_path: Path) -> None:
    path = workbook(tmp_path / "roster.xlsx", {2: ["姓\u3000名", "职务", "emial"],
                                               3: ["张伟", "处长", "x@example.org"]})
    with pytest.raises(DocumentError) as err:
        load_roster(path)
    known = ("known columns: name/姓名, organisation/单位, home_unit/所属单位代码, city/城市, "
             "skills/技能, certifications/证书, phone/电话, email/邮箱, languages/语言, "
             "notes/备注, clearance/密级, active/在岗")
    assert [str(p) for p in err.value.problems] == [
        f"{path}:名单!2: unknown column '职务'; {known}",
        f"{path}:名单!2: unknown column 'emial' (did you mean 'email'?); {known}",
        f"{path}:名单!2: required column 'organisation' (单位) is missing",
    ]


def test_an_empty_sheet_and_a_file_that_is_no_workbook(tmp_path: Path) -> None:
    empty = workbook(tmp_path / "empty.xlsx", {})
    with pytest.raises(DocumentError) as err:
        load_roster(empty)
    assert [str(p) for p in err.value.problems] == [f"{empty}:名单: no experts in the file"]
    header_only = workbook(tmp_path / "header.xlsx", {1: HEADER})
    with pytest.raises(DocumentError) as err:
        load_roster(header_only)
    assert [str(p) for p in err.value.problems] == [
        f"{header_only}:名单: no experts in the file"]
    fake = tmp_path / "fake.xlsx"
    fake.write_text("姓名,单位\n张伟,杭州\n", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        load_roster(fake)
    assert str(err.value) == (
        f"{fake}: not an Excel workbook that can be read (File is not a zip file)\n"
        "Open it in Excel or WPS and save it again as 'Excel Workbook (*.xlsx)'.")


def test_cells_read_as_a_csv_of_the_same_sheet_would() -> None:
    assert cell_text(None) == ""
    assert cell_text(13812345678) == "13812345678"
    assert cell_text(13812345678.0) == "13812345678"
    assert cell_text(2.5) == "2.5"
    assert (cell_text(True), cell_text(False)) == ("yes", "no")
    assert cell_text(datetime(2028, 6, 30)) == "2028-06-30"
    assert cell_text(datetime(2028, 6, 30, 9, 30)) == "2028-06-30 09:30:00"
    assert cell_text("  张伟 ") == "  张伟 "
