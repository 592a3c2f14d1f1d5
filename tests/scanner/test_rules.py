"""Risk rules: the shipped pack, the engine's yes/no/unknown, rule-file errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.errors import DocumentError
from scanner.rules import Outcome, ServiceFacts, load_rules
from scanner.rules.versions import VersionRange, version_key
from tests.conftest import FIXTURES

RULES = FIXTURES / "rules"


def facts(protocol: str = "tcp", port: int = 80, name: str | None = "http",
          product: str | None = None, version: str | None = None, tunnel: str | None = None,
          probed: bool = True, scripts: tuple[tuple[str, str], ...] | None = None
          ) -> ServiceFacts:
    return ServiceFacts(protocol, port, name, product, version, tunnel, probed, scripts)


@pytest.fixture(scope="module")
def ruleset():  # type: ignore[no-untyped-def]
    return load_rules()[0]


def test_the_shipped_pack_has_at_least_15_rules(ruleset) -> None:  # type: ignore[no-untyped-def]
    assert len(ruleset) >= 15
    for rule in ruleset.rules.values():
        assert rule.rationale and rule.remedy and rule.title


# One service per shipped rule that must match it (and the exact set of rules it matches).
EXAMPLES = [
    (facts(port=23, name="telnet", product="Linux telnetd"), {"telnet-exposed"}),
    (facts(port=21, name="ftp", product="vsftpd", version="3.0.3",
           scripts=(("ftp-anon", "Anonymous FTP login allowed (FTP code 230)"),)),
     {"ftp-cleartext", "ftp-anonymous-login"}),
    (facts(port=3389, name="ms-wbt-server", product="Microsoft Terminal Services"),
     {"rdp-exposed"}),
    (facts(port=5900, name="vnc", product="VNC", version="3.8"), {"vnc-exposed"}),
    (facts(port=22, name="ssh", product="OpenSSH", version="7.2p2"), {"openssh-outdated"}),
    (facts(port=22, name="ssh", product="OpenSSH", version="9.6p1"), {"openssh-regresshion"}),
    (facts(port=22, name="ssh", product="OpenSSH", version="9.8p1"), set()),
    (facts(port=6380, name="redis", product="Redis key-value store", version="6.0.5"),
     {"redis-exposed"}),
    (facts(port=27017, name="mongodb", product="MongoDB"), {"mongodb-exposed"}),
    (facts(port=9201, name="http", product="Elasticsearch REST API", version="7.10.2"),
     {"elasticsearch-exposed"}),
    (facts(port=3306, name="mysql", product="MySQL", version="5.7.33"), {"mysql-exposed"}),
    (facts(port=5432, name="postgresql", product="PostgreSQL DB"), {"postgresql-exposed"}),
    (facts(port=1433, name="ms-sql-s", product="Microsoft SQL Server 2019"), {"mssql-exposed"}),
    (facts(protocol="udp", port=11211, name="memcache"), {"memcached-exposed"}),
    (facts(port=445, name="microsoft-ds", product="Samba smbd"), {"smb-exposed"}),
    (facts(protocol="udp", port=161, name="snmp", product="net-snmp"), {"snmp-exposed"}),
    (facts(port=2375, name="docker", product="Docker", version="20.10.7"),
     {"docker-api-exposed"}),
    (facts(port=111, name="rpcbind"), {"rpcbind-exposed"}),
    (facts(port=1883, name="mqtt"), {"mqtt-cleartext"}),
    (facts(port=8080, name="http", product="Apache Tomcat"), {"http-admin-cleartext"}),
    (facts(port=80, name="http", product="nginx", version="1.22.1",
           scripts=(("http-title", "后台管理系统"),)), {"http-admin-cleartext"}),
    (facts(port=443, name="http", product="Apache httpd", version="2.4.49", tunnel="ssl"),
     {"apache-path-traversal"}),
    (facts(port=443, name="https", product="nginx", version="1.14.0", tunnel="ssl"),
     {"nginx-outdated"}),
    (facts(port=8443, name="https", product="nginx", version="1.24.0", tunnel="ssl"), set()),
]


@pytest.mark.parametrize(("svc", "expected"), EXAMPLES)
def test_each_rule_matches_its_example(ruleset, svc: ServiceFacts, expected: set[str]) -> None:  # type: ignore[no-untyped-def]
    matched = {rule.id for rule, outcome in ruleset.evaluate(svc) if outcome is Outcome.yes}
    assert matched == expected


def test_every_shipped_rule_has_an_example(ruleset) -> None:  # type: ignore[no-untyped-def]
    covered = set().union(*(expected for _svc, expected in EXAMPLES))
    assert covered == set(ruleset.rules)


def test_without_version_detection_product_rules_are_unknown_not_no(ruleset) -> None:  # type: ignore[no-untyped-def]
    quick = facts(port=22, name="ssh", probed=False)
    assert ruleset.outcome("openssh-outdated", quick) is Outcome.unknown
    probed_other = facts(port=22, name="ssh", product="Dropbear sshd", version="2020.81")
    assert ruleset.outcome("openssh-outdated", probed_other) is Outcome.no
    # the port alone decides a port rule even in a quick scan
    assert ruleset.outcome("redis-exposed", facts(port=6379, name="redis", probed=False)) \
        is Outcome.yes
    # scripts that did not run cannot say no
    anon = facts(port=21, name="ftp", product="vsftpd", scripts=None)
    assert ruleset.outcome("ftp-anonymous-login", anon) is Outcome.unknown


def test_version_ranges() -> None:
    assert version_key("8.9p1") == ((8, 9), "p1")
    assert version_key("8.0") == ((8,), "")
    assert version_key("unknown") is None
    old = VersionRange.parse("<7.4")
    assert old.contains("7.2p2") and not old.contains("7.4") and not old.contains("7.4p1")
    band = VersionRange.parse(">=8.5,<9.8")
    assert band.contains("8.5p1") and band.contains("9.7p1") and not band.contains("9.8p1")
    assert band.contains("unknown") is None
    with pytest.raises(ValueError, match="'newer than 7' is not a version clause"):
        VersionRange.parse("newer than 7")


def test_bad_rule_file_lists_every_problem(tmp_path: Path) -> None:
    user = tmp_path / "rules"
    user.mkdir()
    (user / "bad.yaml").write_text((RULES / "bad_rules.yaml").read_text(), encoding="utf-8")
    with pytest.raises(DocumentError) as err:
        load_rules(user)
    f = user / "bad.yaml"
    assert [str(p) for p in err.value.problems] == [
        f"{f}:2: rules[0].id: 'Bad Id' is not a rule id: use lower-case letters, digits and "
        "hyphens, e.g. redis-exposed",
        f"{f}:4: rules[0].severity: 'urgent' is not allowed; use 'critical', 'high', "
        "'medium', 'low' or 'info'",
        f"{f}:7: rules[0].match: List should have at least 1 item after validation, not 0",
        # (pydantic's wording, kept: it says exactly what is wrong)
        f"{f}:14: rules[1].match[0].product: not a valid regular expression: missing ), "
        "unterminated subpattern at position 7",
        f"{f}:14: rules[1].match[0].version: 'newer than 7' is not a version clause like "
        "<8.0 or >=2.4.0",
        f"{f}:15: rules[2].match: required field is missing",
        f"{f}:20: rules[2].mtach: unknown key 'mtach' (did you mean 'match'?)",
    ]


def test_a_user_directory_overrides_and_extends(tmp_path: Path) -> None:
    ruleset, loaded = load_rules(RULES / "override")
    assert ruleset.rules["mysql-exposed"].severity.value == "high"
    assert ruleset.rules["unit-custom-8888"].title == "Jupyter-style notebook port open"
    overridden = next(e for e in loaded if e.rule.id == "mysql-exposed")
    assert overridden.overrides is not None and overridden.overrides.endswith("databases.yaml")
    with pytest.raises(DocumentError, match="not a directory of rule files"):
        load_rules(tmp_path / "missing")
