"""CSV rosters as Excel and WPS save them in a Chinese office: UTF-8 with or without the
BOM, GBK and GB18030 detected, ``--encoding`` to force one; every refusal is exact."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from expert_pool.roster_encoding import decode, reads_as_chinese
from expert_pool.roster_file import load_roster
from garrison.errors import DocumentError, GarrisonError
from tests.conftest import FIXTURES

EXPERTS = FIXTURES / "experts"
HINT_GUESS = ("Give the file's encoding with --encoding (it may be {enc}: --encoding {enc}), "
              "or save it from Excel as 'CSV UTF-8'.")


def _refused(path: Path, encoding: str | None = None) -> DocumentError:
    with pytest.raises(DocumentError) as err:
        load_roster(path, encoding=encoding)
    return err.value


def test_a_gbk_csv_as_excel_saves_it_is_read() -> None:
    raw = (EXPERTS / "roster_gbk.csv").read_bytes()
    assert raw.decode("gbk").startswith("姓名,单位,城市,技能")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    records = load_roster(EXPERTS / "roster_gbk.csv")
    assert [(r.line, r.name, r.organisation, r.city) for r in records] == [
        (2, "张伟", "浙江省网络安全应急中心", "杭州"),
        (3, "李娜", "宁波市住房公积金中心", "宁波"),
        (4, "朱镕", "温州市城市管理局", "温州"),  # 镕 is in GBK, not in GB2312
    ]
    zhang, li, zhu = records
    assert zhang.skills == {"forensics": 3, "malware": 2}
    assert zhang.certifications == [{"name": "CISP", "expires": "2028-06-30"}]
    assert li.notes == "值班电话：0574-12345678，周末可联系"
    assert (zhu.skills, zhu.active) == ({"network": 2, "cloud": 1}, False)


def test_a_gb18030_csv_with_characters_beyond_gbk_is_read() -> None:
    raw = (EXPERTS / "roster_gb18030.csv").read_bytes()
    for char in ("䶮", "𠮷"):  # CJK extension A and B: four bytes in GB18030, not in GBK
        with pytest.raises(UnicodeEncodeError):
            char.encode("gbk")
        assert char.encode("gb18030") in raw
    records = load_roster(EXPERTS / "roster_gb18030.csv")
    assert [(r.name, r.skills) for r in records] == [("王䶮", {"opinion": 3}),
                                                     ("陈𠮷", {"legal": 1})]


def test_utf8_with_and_without_the_bom_stays_exact(tmp_path: Path) -> None:
    text = "姓名,单位,备注\n张伟,杭州市公安局,Ω≈ç√ 😀 \u00a0é\n"
    for raw in (text.encode("utf-8"), codecs.BOM_UTF8 + text.encode("utf-8")):
        assert decode(raw, "r.csv", None) == text
        path = tmp_path / "r.csv"
        path.write_bytes(raw)
        assert load_roster(path)[0].notes == "Ω≈ç√ 😀 \u00a0é"


def test_neither_utf8_nor_gb18030_is_refused_naming_encoding() -> None:
    path = EXPERTS / "bad_encoding.csv"  # Windows-1252: "José Müller,Universität Wien"
    err = _refused(path)
    assert [str(p) for p in err.problems] == [
        f"{path}:2: not UTF-8 or GB18030 text (byte 27)"]
    assert err.hint is not None and "--encoding" in err.hint
    assert err.hint.startswith("Give the file's encoding with --encoding (it may be cp125")
    forced = load_roster(path, encoding="cp1252")
    assert [(r.name, r.organisation) for r in forced] == [("José Müller", "Universität Wien")]


def test_big5_that_decodes_as_gb18030_into_nonsense_is_refused() -> None:
    path = EXPERTS / "bad_big5.csv"
    assert (EXPERTS / "bad_big5.csv").read_bytes().decode("gb18030")  # it does decode
    err = _refused(path)
    assert [str(p) for p in err.problems] == [
        f"{path}: not UTF-8, and read as GB18030 (GBK) the text comes out garbled"]
    assert err.hint == HINT_GUESS.format(enc="big5")
    forced = _refused(path, encoding="big5")  # read right, but in Traditional characters
    assert str(forced.problems[0]).startswith(f"{path}:1: unknown column '單位'; known")


def test_a_wrong_encoding_forced_is_reported_with_line_and_byte() -> None:
    path = EXPERTS / "roster_gbk.csv"
    err = _refused(path, encoding="utf-8")
    assert [str(p) for p in err.problems] == [f"{path}:1: not utf-8 text (byte 0)"]
    assert err.hint == ("Give the file's real encoding with --encoding, or leave --encoding "
                        "out to detect it.")
    utf8 = EXPERTS / "roster_zh.csv"
    err = _refused(utf8, encoding="gb2312")
    assert [str(p) for p in err.problems] == [f"{utf8}:1: not gb2312 text (byte 4)"]
    assert [r.name for r in load_roster(path, encoding="GBK")] == ["张伟", "李娜", "朱镕"]
    assert [r.name for r in load_roster(utf8, encoding="utf-8")][0] == "王伟"  # BOM dropped


def test_an_unknown_encoding_name_gets_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(GarrisonError) as err:
        load_roster(EXPERTS / "roster_gbk.csv", encoding="gb1803")
    assert str(err.value) == (
        "--encoding 'gb1803': unknown encoding (did you mean 'gb18030'?)\n"
        "Use e.g. --encoding gb18030 (GBK files too), utf-8 or big5, or leave --encoding "
        "out to detect it.")
    yaml = tmp_path / "r.yaml"
    yaml.write_text("experts: []\n", encoding="utf-8")
    with pytest.raises(GarrisonError) as err:
        load_roster(yaml, encoding="gbk")
    assert str(err.value) == (f"{yaml}: --encoding applies to CSV files only\n"
                              "Leave --encoding out for this file.")


def test_a_utf8_bom_followed_by_gbk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(codecs.BOM_UTF8 + "姓名,单位\n张伟,杭州\n".encode("gbk"))
    err = _refused(path)
    assert [str(p) for p in err.problems] == [f"{path}:1: not utf-8 text (byte 3)"]
    assert err.hint == "The file starts like UTF-8 but is not: save it again as 'CSV UTF-8'."


def test_utf16_is_refused_as_binary(tmp_path: Path) -> None:
    path = tmp_path / "unicode.csv"
    path.write_bytes("姓名,单位\n".encode("utf-16"))
    assert [str(p) for p in _refused(path).problems] == [
        f"{path}: binary file, not CSV text (UTF-16? save it as 'CSV UTF-8')"]


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕凤洁梅琳雪荣爱喆镕堃昇"
UNITS = ["杭州市建设委员会", "宁波市住房公积金中心", "浙江省建设厅", "温州市城市管理局",
         "绍兴市园林局", "湖州市房管局", "省网络安全应急中心", "金华市城管执法局"]
NOTES = ["", "周末不可联系，紧急情况请致电值班室", "CISP：2027-12-31；OSCP", "（借调）"]


def test_short_gbk_rosters_are_detected_every_time() -> None:
    """The property the detector is built for (see roster_encoding): a short, genuine
    GBK roster -- one to four rows, the names of a Chinese office -- reads as GB18030."""
    rnd = random.Random(11)
    for _ in range(400):
        lines = ["姓名,单位,城市,备注"]
        for _row in range(rnd.randint(1, 4)):
            name = rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.randint(1, 2)))
            lines.append(f"{name},{rnd.choice(UNITS)},杭州,{rnd.choice(NOTES)}")
        text = "\r\n".join(lines) + "\r\n"
        assert decode(text.encode("gbk"), "r.csv", None) == text


def test_other_legacy_encodings_do_not_pass_as_chinese() -> None:
    for text, enc in [("名前,所属\n田中太郎,東京都庁\n", "shift_jis"),
                      ("姓名,單位\n張偉,臺北市政府資訊局\n", "big5"),
                      ("name,org\nMüller,Bundesamt für Sicherheit\n", "cp1252")]:
        assert not reads_as_chinese(text.encode(enc).decode("gb18030")), enc
