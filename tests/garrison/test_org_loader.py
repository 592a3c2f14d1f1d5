"""Org files: every bad-input fixture is paired with the exact problems it must produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.errors import DocumentError
from garrison.org.loader import load_org_file
from garrison.yamldoc import MAX_BYTES
from tests.conftest import FIXTURES

ORG = FIXTURES / "org"

EXPECTED: dict[str, list[str]] = {
    "bad_unknown_key.yaml": [
        "2: units[0].officer: required field is missing",
        "5: units[0].officr: unknown key 'officr' (did you mean 'officer'?)",
        "7: units[0].scopes[0].authorised_by: unknown key 'authorised_by' "
        "(did you mean 'authorized_by'?)",
        "7: units[0].scopes[0].authorized_by: required field is missing",
    ],
    "bad_duplicate_codes.yaml": [
        "11: units[0].units[1].code: duplicate unit code 'hz-jw' (first on line 7)",
    ],
    "bad_cidr_and_date.yaml": [
        "7: units[0].scopes[0].cidr: '127.0.0.300' is not a valid IPv4 address",
        "8: units[0].scopes[1].cidr: '127.0.1.5/24' has host bits set; "
        "did you mean 127.0.1.0/24?",
        "9: units[0].scopes[2].valid_until: invalid date '2027-13-01' "
        "(month must be in 1..12)",
        "10: units[0].scopes[3].valid_until: invalid date 'next year': "
        "write it as YYYY-MM-DD",
    ],
    "bad_missing_name.yaml": [
        "2: units[0].name: required field is missing",
        "7: units[0].units[0].name: must not be empty",
        "9: units[0].units[0].officer.name: required field is missing",
        "9: units[0].units[0].officer.phone: expected text, got 13800001111: "
        "write it in quotes",
    ],
    "bad_many.yaml": [
        "3: units[0].code: 'ZJ JST' is not a unit code: use lower-case letters, digits "
        "and hyphens, e.g. hz-jw",
        "5: units[0].level: 'ministry' is not allowed; use 'province', 'city', 'county', "
        "'bureau' or 'unit'",
        "6: units[0].officer.email: 'not-an-email' is not an e-mail address",
        "8: units[0].scopes[0].cidr: '2130706433' is a legacy numeric form (integer, octal, "
        "hex or short) that the system reads as 127.0.0.1; write the address in dotted "
        "decimal: 127.0.0.1",
        "9: units[0].scopes[1].authorized_by: required field is missing",
        "14: units[0].units[0].parent: 'parent' is only for top-level units; a nested "
        "unit's parent is the unit it is nested under",
        "17: units[0].units[0].scopes[0]: valid_until 2026-01-01 is before valid_from "
        "2026-06-01",
        "18: units[0].units[0].scopes[1].cidr: scope 127.0.1.0/24 is listed twice for this "
        "unit (first at scopes[0])",
    ],
    "bad_not_yaml.yaml": [
        "5: not valid YAML: found unexpected end of stream "
        "(scanning a quoted scalar started on line 3)",
    ],
    "bad_yaml_bomb.yaml": [
        "2: the document expands to more than 200000 values (aliases that multiply, "
        "a 'billion laughs' file?); refused",
    ],
    "bad_python_tag.yaml": [
        "3: units[0].name: YAML tag !!python/object/apply:os.system is not allowed",
    ],
    "bad_not_a_mapping.yaml": [
        "1: expected a mapping with a 'units:' list at the top of the file",
    ],
    "bad_duplicate_key.yaml": [
        "4: units[0].name: duplicate key 'name' (first on line 3)",
    ],
}


def test_every_bad_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in ORG.glob("bad_*.yaml")) == sorted([*EXPECTED, "bad_binary.yaml"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_lists_every_problem_with_its_line(name: str) -> None:
    path = ORG / name
    with pytest.raises(DocumentError) as err:
        load_org_file(path)
    assert [str(p) for p in err.value.problems] == [f"{path}:{line}" for line in EXPECTED[name]]


def test_binary_file_is_refused() -> None:
    path = ORG / "bad_binary.yaml"
    with pytest.raises(DocumentError) as err:
        load_org_file(path)
    assert [str(p) for p in err.value.problems] == [f"{path}: binary file, not YAML text"]


def test_oversized_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("units:\n" + "#" * MAX_BYTES + "\n", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        load_org_file(path)
    size = path.stat().st_size
    assert [str(p) for p in err.value.problems] == [
        f"{path}: file is {size} bytes; the limit is {MAX_BYTES} bytes"
    ]


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as err:
        load_org_file(tmp_path / "nope.yaml")
    assert str(err.value.problems[0]) == f"{tmp_path / 'nope.yaml'}: no such file"
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("units:\n  - name: 杭州\n".encode("gbk"))
    with pytest.raises(DocumentError) as err:
        load_org_file(gbk)
    assert str(err.value.problems[0]) == f"{gbk}:2: not UTF-8 text (byte 17)"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("units: " + "[" * 100 + "]" * 100 + "\n", encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        load_org_file(path)
    assert str(err.value.problems[0]) == f"{path}:1: nested deeper than 64 levels; refused"


def test_good_file_keeps_the_tree_and_normalises_values() -> None:
    doc = load_org_file(ORG / "good_small.yaml")
    assert [(p.spec.code, p.parent) for p in doc.units] == [("zj-jst", None), ("hz-jw", "zj-jst")]
    province = doc.units[0].spec
    assert province.officer.phone == "0571-00000000"
    assert str(province.scopes[0].valid_until) == "2027-12-31"
    assert doc.units[1].spec.scopes[0].cidr == "127.0.1.0/24"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (ORG / "good_small.yaml").read_bytes())
    assert load_org_file(path).units[0].spec.name == "浙江省住房和城乡建设厅"
