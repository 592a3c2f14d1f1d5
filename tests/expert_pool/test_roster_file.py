"""Roster files: good fixtures parse to exact records; every bad-input fixture is paired
with the exact problems it must produce, each with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from expert_pool.roster_file import (
    MAX_BYTES,
    ExpertRecord,
    key_for,
    load_roster,
    record_from_values,
)
from garrison.errors import DocumentError, GarrisonError
from tests.conftest import FIXTURES

EXPERTS = FIXTURES / "experts"

KNOWN_COLUMNS = (
    "known columns: name/姓名, organisation/单位, home_unit/所属单位代码, city/城市, "
    "skills/技能, certifications/证书, phone/电话, email/邮箱, languages/语言, notes/备注, "
    "clearance/密级, active/在岗"
)

# file -> its problems as "line: message", or " message" for a problem without a line
EXPECTED: dict[str, list[str]] = {
    "bad_rows.csv": [
        "3: email 'li.na@example' is not an e-mail address",
        "4: unknown skill 'forensic' (did you mean 'forensics'?)",
        "5: duplicate expert zhang.wei@example.org (also on line 2)",
        "9: skill web: level '5' is not 1, 2 or 3 (row 8 in Excel and WPS)",
        "10: certification CISP: expiry '2028-13-01' is not a date; write YYYY-MM-DD "
        "(row 9 in Excel and WPS)",
        "11: organisation must not be empty (row 10 in Excel and WPS)",
        "11: phone '12345' is not a phone number (7 to 20 digits; +, -, spaces and "
        "brackets allowed) (row 10 in Excel and WPS)",
        "12: the row has 4 cells but the header has 7 columns (a value with a comma in it "
        "must be in double quotes) (row 11 in Excel and WPS)",
    ],
    "bad_header.csv": [
        f"1: unknown column 'emial' (did you mean 'email'?); {KNOWN_COLUMNS}",
    ],
    "bad_header_columns.csv": [
        "1: columns 1 ('姓名') and 2 ('Name') are both the name column",
        "1: column 4 has no name",
        "1: required column 'organisation' (单位) is missing",
    ],
    "bad_empty.csv": [
        " no experts in the file",
    ],
    "bad_rows_gbk.csv": [
        "2: email 'zhang.wei@example' is not an e-mail address",
        "4: unknown skill '电子取正' (did you mean '电子取证'?)",
    ],
    "bad_encoding.csv": [
        "2: not UTF-8 or GB18030 text (byte 27)",
    ],
    "bad_big5.csv": [
        " not UTF-8, and read as GB18030 (GBK) the text comes out garbled",
    ],
    "bad_roster.yaml": [
        "2: experts[0]: unknown field 'emial' (did you mean 'email'?)",
        "2: experts[0]: skill web: level '5' is not 1, 2 or 3",
        "2: experts[0]: unknown skill 'forensic' (did you mean 'forensics'?)",
        "6: experts[1]: certifications: unknown field 'expiry' (did you mean 'expires'?)",
        "6: experts[1]: phone: expected text, got 13912345678: write it in quotes",
        "10: experts[1].certifications[0].expires: invalid date '2028-13-01' "
        "(month must be in 1..12)",
        "12: experts[2]: expected a mapping (name: ..., organisation: ...), got '王芳'",
        "16: experts[4]: duplicate expert chen.jie@example.org (also on line 13)",
        "19: experts[5]: name must not be empty",
        "19: experts[5]: active 'maybe' is not yes or no (also true/false, 1/0, 是/否)",
    ],
    "bad_top_level.yaml": [
        "1: unknown field 'expert' (did you mean 'experts'?)",
        "1: expected an 'experts:' list at the top of the file",
    ],
}


def _problems(path: Path) -> list[str]:
    with pytest.raises(DocumentError) as err:
        load_roster(path)
    return [str(p) for p in err.value.problems]


def _expected(path: Path, lines: list[str]) -> list[str]:
    return [f"{path}:{line}" for line in lines]  # " message" renders as "path: message"


def test_every_bad_fixture_has_an_expectation() -> None:
    good = {"roster_en.csv", "roster_zh.csv", "roster.yaml", "roster_gbk.csv",
            "roster_gb18030.csv"}
    assert sorted(p.name for p in EXPERTS.iterdir() if p.name not in good) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_lists_every_problem_with_its_line(name: str) -> None:
    path = EXPERTS / name
    assert _problems(path) == _expected(path, EXPECTED[name])


def test_the_encoding_fixtures_really_are_in_their_encodings() -> None:
    gbk = (EXPERTS / "bad_rows_gbk.csv").read_bytes()
    assert gbk.decode("gbk").splitlines()[1].startswith("张伟,浙江省网络安全应急中心,")
    latin = (EXPERTS / "bad_encoding.csv").read_bytes()
    assert latin.decode("cp1252").splitlines()[1] == "José Müller,Universität Wien,Wien"
    big5 = (EXPERTS / "bad_big5.csv").read_bytes()
    assert big5.decode("big5").splitlines()[1] == "張偉,臺北市政府資訊局,臺北"


# ------------------------------------------------------------------ good files


def test_english_csv() -> None:
    records = load_roster(EXPERTS / "roster_en.csv")
    assert [r.line for r in records] == [2, 3, 4, 5, 6, 7]
    assert [r.key for r in records] == [
        "zhang.wei@example.org", "li.na@example.com", "wang fang|ningbo university",
        "chen.jie@example.org", "liu.yang@example.com", "zhao.min@example.org"]
    zhang = records[0]
    assert zhang == ExpertRecord(
        line=2, key="zhang.wei@example.org", name="Zhang Wei",
        organisation="Zhejiang Cyber Security Emergency Center", home_unit="zj-xxzx",
        city="Hangzhou", skills={"web": 3, "forensics": 2},
        certifications=[{"name": "CISP", "expires": "2028-06-30"},
                        {"name": "OSCP", "expires": None}],
        phone="138-1234-5678", email="Zhang.Wei@example.org", languages=["zh", "en"],
        clearance="confidential", notes="Leads web incident response", active=True)
    li = records[1]
    assert li.skills == {"forensics": 3, "malware": 1}  # the level defaults to 1
    assert li.notes == "Memory forensics, mobile devices"  # a quoted comma
    wang = records[2]
    assert (wang.name, wang.email, wang.home_unit, wang.certifications) == (
        "Wang Fang", None, None, [])  # inner whitespace collapsed; empty cells are None
    assert wang.phone == "+8613712345678"
    assert wang.languages == ["zh", "en", "ja"]
    assert records[3].active is False and records[3].phone == "0571-87654321"
    assert records[4].phone == "057788881234"  # brackets and spaces dropped
    assert records[4].email == "liu.yang@example.com"  # the domain in lower case
    assert records[5].languages == [] and records[5].active is True


def test_chinese_csv_with_bom_and_headers_in_another_order() -> None:
    path = EXPERTS / "roster_zh.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    records = load_roster(path)
    assert [(r.line, r.name, r.organisation) for r in records] == [
        (2, "王伟", "杭州市网络安全应急中心"),  # "\ufeff单位" was read as 单位
        (3, "李娜", "浙江大学网络空间安全学院"),
        (4, "陈静", "宁波市公安局网安支队"),
        (6, "刘洋", "温州市大数据发展管理局"),  # line 4's notes run over two lines
        (7, "赵敏", "绍兴市委网信办"),
    ]
    wang = records[0]
    assert wang.skills == {"forensics": 2, "malware": 3}  # 电子取证, 恶意代码分析
    assert wang.certifications == [{"name": "CISP", "expires": "2027-12-31"},
                                   {"name": "OSCP", "expires": None}]  # full-width ： and ；
    assert (wang.phone, wang.email, wang.city, wang.home_unit, wang.clearance) == (
        "13812345678", "wang.wei@example.org", "杭州", "hz-cg", "机密")
    assert wang.languages == ["中文", "英语"]
    assert records[1].phone == "139-8765-4321"
    chen = records[2]
    assert chen.key == "陈静|宁波市公安局网安支队"
    assert chen.notes == "周末不可联系，\n紧急情况请致电值班室"
    assert chen.active is False and chen.skills == {"network": 2}
    assert records[3].skills == {"data-protection": 1, "legal": 2}
    assert records[3].active is True  # an empty 在岗 cell
    assert records[4].languages == ["中文", "英语", "日语"]


def test_yaml_roster() -> None:
    records = load_roster(EXPERTS / "roster.yaml")
    assert [(r.line, r.key) for r in records] == [
        (3, "sun.li@example.org"), (17, "周强|杭州市公安局"), (28, "wu.fang@example.com"),
        (35, "zheng.hao@example.org")]
    sun, zhou, wu, zheng = records
    assert sun.skills == {"web": 3, "forensics": 2}
    assert sun.certifications == [{"name": "CISP", "expires": "2028-06-30"},
                                  {"name": "OSCP", "expires": None}]
    assert (sun.phone, sun.email, sun.languages) == (
        "13812345678", "Sun.Li@example.org", ["中文", "英语"])
    assert zhou.organisation == "杭州市公安局"  # "organization" is accepted
    assert zhou.skills == {"malware": 3, "forensics": 2}
    assert zhou.certifications == [{"name": "CISSP", "expires": "2027-03-31"}]
    assert (zhou.phone, zhou.active, zhou.languages) == (
        "+86-139-1234-5678", False, ["中文", "英语"])
    assert wu.skills == {"cryptography": 2, "legal": 1}
    assert (wu.phone, wu.certifications, wu.active) == (None, [], True)
    assert zheng.skills == {"data-protection": 2, "cloud": 1}
    assert zheng.certifications == [{"name": "CISP-DSG", "expires": "2028-01-15"}]


# ------------------------------------------------------------------ key_for


def test_key_for_prefers_the_email_in_lower_case() -> None:
    assert key_for("张伟", "浙江省网络安全应急中心", " Zhang.Wei@Example.ORG ") == (
        "zhang.wei@example.org")
    assert key_for("Someone Else", "Other", "ZHANG.WEI@example.org") == key_for(
        "张伟", "浙江省网络安全应急中心", "zhang.wei@example.org")


def test_key_for_falls_back_to_name_and_organisation() -> None:
    assert key_for("  Wang   Fang ", " Ningbo\u3000University ", None) == (
        "wang fang|ningbo university")
    assert key_for("王芳", "宁波大学", "") == key_for(" 王芳", "宁波大学 ", "  ") == "王芳|宁波大学"
    assert key_for("Wang Fang", "NINGBO UNIVERSITY", None) == key_for(
        "wang fang", "Ningbo University", None)


# ------------------------------------------------------------------ edge cases


def _csv(tmp_path: Path, text: str, name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_headers_are_case_and_space_insensitive_and_excel_trailing_cells_are_ignored(
        tmp_path: Path) -> None:
    path = _csv(tmp_path, " Name , ORGANIZATION ,Home Unit,,\r\n"
                          "张伟,浙江省网络安全应急中心,zj-xxzx,,\r\n"
                          ",,,,\r\n"
                          "李娜,杭州市公安局,,,\r\n")
    records = load_roster(path)
    assert [(r.line, r.key, r.home_unit) for r in records] == [
        (2, "张伟|浙江省网络安全应急中心", "zj-xxzx"), (4, "李娜|杭州市公安局", None)]


def test_duplicate_by_name_and_organisation(tmp_path: Path) -> None:
    path = _csv(tmp_path, "姓名,单位\n王芳,宁波大学\n\n 王芳 ,宁波大学\n")
    assert _problems(path) == [f"{path}:4: duplicate expert 王芳|宁波大学 (also on line 2)"]


def test_unclosed_quote_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'name,organisation,notes\n张伟,杭州市公安局,"never closed\n')
    assert _problems(path) == [
        f"{path}:2: not valid CSV (unexpected end of data); the rest of the file was not read"]


def test_excel_workbook_saved_as_csv_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    assert _problems(path) == [
        f"{path}: this is an Excel workbook, not CSV text: give the file the .xlsx "
        "extension and import it again"]


def test_unknown_extension_missing_file_and_oversized_file(tmp_path: Path) -> None:
    with pytest.raises(GarrisonError) as err:
        load_roster(tmp_path / "roster.xls")
    assert str(err.value) == (
        f"{tmp_path / 'roster.xls'}: a roster must be a .csv, .xlsx, .yaml or .yml file, "
        "not '.xls'\nIn Excel or WPS choose Save As > 'Excel Workbook (*.xlsx)' or "
        "'CSV UTF-8'.")
    with pytest.raises(GarrisonError) as err:
        load_roster(tmp_path / "nope.csv")
    assert str(err.value) == f"{tmp_path / 'nope.csv'}: no such file"
    assert not isinstance(err.value, DocumentError)
    for name in ("huge.csv", "huge.yaml"):
        huge = tmp_path / name
        with huge.open("wb") as handle:
            handle.truncate(MAX_BYTES + 1)  # sparse: no 20 MB written
        with pytest.raises(GarrisonError) as err:
            load_roster(huge)
        assert not isinstance(err.value, DocumentError)
        assert err.value.message == (
            f"{huge}: the file is larger than 20 MB; a roster is far smaller")


def test_yaml_empty_list_and_item_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_text("experts: []\n", encoding="utf-8")
    assert _problems(path) == [f"{path}:1: no experts in the file"]
    path.write_text("# roster\nexperts:\n\n  - name: 张伟\n    organisation: 杭州市公安局\n"
                    "    skills: web:4\n", encoding="utf-8")
    assert _problems(path) == [f"{path}:4: experts[0]: skill web: level '4' is not 1, 2 or 3"]


def test_record_from_values_uses_the_csv_forms() -> None:
    rec = record_from_values({"name": "张伟", "organisation": "浙江省网络安全应急中心",
                              "skills": "web:3;电子取证:2", "certifications": "CISP:2028-06-30",
                              "phone": "138 1234 5678", "email": "Zhang.Wei@Example.ORG",
                              "languages": "zh;en"}, "experts add")
    assert (rec.line, rec.key, rec.skills, rec.certifications, rec.phone, rec.email) == (
        0, "zhang.wei@example.org", {"web": 3, "forensics": 2},
        [{"name": "CISP", "expires": "2028-06-30"}], "13812345678", "Zhang.Wei@example.org")
    assert (rec.home_unit, rec.city, rec.notes, rec.active) == (None, None, None, True)
    with pytest.raises(DocumentError) as err:
        record_from_values({"name": "张伟", "organisation": " ", "email": "x@y"}, "experts add")
    assert [str(p) for p in err.value.problems] == [
        "experts add: organisation must not be empty",
        "experts add: email 'x@y' is not an e-mail address"]
    with pytest.raises(ValueError, match="not roster fields"):
        record_from_values({"name": "张伟", "organisation": "x", "mail": "a@b.c"}, "t")
