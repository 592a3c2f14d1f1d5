"""Packaging and boundaries: what ships, what imports what, what starts fast."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from garrison.dburl import SCHEMA_HEAD
from tests.conftest import REPO

FEATURES = {"textual", "scanner", "drills", "expert_pool", "tui"}


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, cwd=REPO).stdout.strip()


def test_the_kernel_imports_no_feature_package_and_no_textual() -> None:
    loaded = _python(
        "import sys\n"
        "import garrison.cli.main, garrison.scope, garrison.audit, garrison.db\n"
        "import garrison.org.service, garrison.demo, garrison.yamldoc\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FEATURES!r}))")
    assert loaded == "[]"


def test_help_does_not_import_the_heavy_libraries() -> None:
    """``garrison --help`` must start fast: no database, nmap, scapy or Textual imports."""
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom garrison.cli.main import main\nsys.argv = ['garrison', '--help']\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         "heavy = {'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic_settings', 'netaddr', 'nmap',"
         " 'scapy', 'textual'}\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"],
        capture_output=True, text=True, check=True)
    assert "Usage: garrison" in result.stdout
    assert result.stderr.strip() == "[]"


#: Typer would load pydantic to convert the options: ``garrison.cli.coercion`` spares
#: the plain ones it, so the quick paths load none of these.
HEAVY = "{'sqlalchemy', 'sqlmodel', 'alembic', 'pydantic', 'pydantic_settings', 'textual'}"


def _run_on_fresh_db(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``garrison ARGS`` in a child on a migrated, empty SQLite database; stderr is
    the list of heavy modules it loaded."""
    from garrison import db
    from garrison.settings import Settings

    url = f"sqlite:///{tmp_path / 'g.db'}"
    db.upgrade(Settings(db=url))
    db.dispose_engines()
    argv = ["garrison", "--db", url, *args]
    return subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom garrison.cli.main import main\n"
         f"sys.argv = {argv!r}\n"
         "try:\n    main()\nexcept SystemExit:\n    pass\n"
         f"heavy = {HEAVY}\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"],
        capture_output=True, text=True, check=True)


def test_findings_list_reads_without_the_orm(tmp_path: Path) -> None:
    """The office's most frequent command takes the quick path (``findings.quick``):
    no SQLAlchemy, SQLModel, pydantic or pydantic-settings -- half a second saved."""
    result = _run_on_fresh_db(tmp_path, "findings", "list", "--overdue")
    assert result.stdout == "No findings match.\n"
    assert result.stderr.strip() == "[]"


def test_experts_match_reads_without_the_orm(tmp_path: Path) -> None:
    """``experts match`` takes its quick path (``expert_pool.quick``) too."""
    result = _run_on_fresh_db(tmp_path, "experts", "match", "--skill", "web")
    assert result.stdout.startswith("Nobody available matches web:1.\n")
    assert result.stderr.strip() == "[]"


def test_console_script_runs() -> None:
    script = Path(sys.executable).with_name("garrison")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("garrison ")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    hatchling = Path(sys.executable).with_name("hatchling")
    subprocess.run([str(hatchling), "build", "-t", "wheel", "-d", str(out)], cwd=REPO,
                   check=True, capture_output=True)
    (built,) = out.glob("garrison-*.whl")
    return built


def test_wheel_ships_every_package_and_its_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in [
        "garrison/__init__.py", "scanner/__init__.py", "drills/__init__.py",
        "expert_pool/__init__.py", "tui/__init__.py", "playbooks/__init__.py",
        "playbooks/README.md", "garrison/demo/org.yaml", "garrison/migrations/env.py",
        "garrison/migrations/script.py.mako", "garrison/migrations/versions/0001_initial.py",
        "garrison/migrations/versions/0002_scanner.py",
        "garrison/migrations/versions/0003_findings.py",
        "garrison/migrations/versions/0004_drills.py", "playbooks/site-accident-rumour.yaml",
        "playbooks/clocks/statutory.yaml",
        "playbooks/rehearsals/site-accident-rumour.fast.yaml",
        "garrison/migrations/versions/0005_experts.py", "expert_pool/data/skills.yaml",
        "expert_pool/data/demo_roster.csv", "tui/styles/findings.tcss", "tui/app.py",
    ]:
        assert required in names, required
    assert not any(n.startswith(("tests/", "bench/")) for n in names)
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "garrison = garrison.cli.main:main" in entry_points
    assert "[garrison.commands]" in entry_points


def test_installed_copy_finds_its_data_outside_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    """A non-editable install (unzipped wheel first on the path) loads the demo and migrates."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = (
        "import garrison, playbooks, garrison.demo\n"
        f"assert garrison.__file__.startswith({str(target)!r}), garrison.__file__\n"
        "from garrison.settings import Settings\n"
        "from garrison import db\n"
        f"s = Settings(db='sqlite:///{tmp_path / 'w.db'}', actor='t')\n"
        "db.upgrade(s)\n"
        "doc = garrison.demo.demo_org_document()\n"
        "from drills.loader import discover\n"
        "found = [e.id for e in discover() if e.loaded is not None]\n"
        "assert len(found) == 4 and all(str(e.path).startswith("
        f"{str(target)!r}) for e in discover()), found\n"
        "print(len(doc.units), db.schema_state(s).current, playbooks.__file__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={"PYTHONPATH": str(target), "PATH": "/usr/bin"})
    assert result.returncode == 0, result.stderr
    count, revision, where = result.stdout.split()
    assert (count, revision) == ("100", SCHEMA_HEAD)
    assert where.startswith(str(target))


def test_shell_completion_reaches_the_lazy_sub_commands() -> None:
    script = Path(sys.executable).with_name("garrison")
    env = {"PATH": "/usr/bin:/bin", "COMP_WORDS": "garrison scope ", "COMP_CWORD": "2",
           "_GARRISON_COMPLETE": "complete_bash"}
    result = subprocess.run([str(script)], env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["list", "check"]


PRODUCT = ("garrison", "scanner", "drills", "expert_pool", "tui", "playbooks")
CLOCK_READS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
               ("date", "today"), ("time", "time"), ("time", "localtime"),
               ("time", "gmtime"), ("time", "ctime")}


def _clock_reads(path: Path, root: Path = REPO) -> list[str]:
    """Calls that read the system's date or time, outside the clock module."""
    import ast

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for node in ast.walk(ast.parse(text)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        name = owner.id if isinstance(owner, ast.Name) else (
            owner.attr if isinstance(owner, ast.Attribute) else None)
        if (name, node.func.attr) not in CLOCK_READS:
            continue
        if node.func.attr in ("localtime", "gmtime", "ctime") and node.args:
            continue  # formatting a given instant, not reading the clock
        context = " ".join(lines[max(0, node.lineno - 2):node.lineno])
        if "clock-ok:" not in context:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {name}.{node.func.attr}()")
    return found


def test_nothing_reads_the_system_clock_but_the_clock_module() -> None:
    """"Now" comes from ``settings.clock`` (garrison/clock.py), so tests can pin it and the
    suite can run a year ahead. A read that is not "now" for the product (a fake lab
    server's own time, packet capture stamps) says why with a ``# clock-ok:`` comment."""
    offenders = [hit for package in PRODUCT for path in sorted((REPO / package).rglob("*.py"))
                 if path != REPO / "garrison" / "clock.py" for hit in _clock_reads(path)]
    assert offenders == []


def test_the_clock_check_catches_a_direct_read(tmp_path: Path) -> None:
    sample = REPO / "tests" / "fixtures" / "clock_reads.py.txt"
    target = tmp_path / "probe.py"
    target.write_text(sample.read_text(encoding="utf-8"), encoding="utf-8")
    assert _clock_reads(target, tmp_path) == [
        "probe.py:4: datetime.now()", "probe.py:5: date.today()", "probe.py:6: time.time()",
        "probe.py:7: datetime.utcnow()"]


def _private_imports(path: Path, root: Path = REPO) -> list[str]:
    """``from M import _name`` where ``M`` is first-party and outside the importing
    module's own package (its directory): another package's private name."""
    import ast

    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
            continue
        if node.module.split(".")[0] not in PRODUCT:
            continue
        owner = node.module.rsplit(".", 1)[0] if "." in node.module else node.module
        if owner == package or node.module == package:
            continue
        found.extend(f"{path.relative_to(root)}:{node.lineno}: {node.module}.{alias.name}"
                     for alias in node.names
                     if alias.name.startswith("_") and alias.name != "_"
                     and not (alias.name.startswith("__") and alias.name.endswith("__")))
    return found


def test_no_module_borrows_another_packages_private_names() -> None:
    """A name with a leading underscore is its package's own: the quick read paths once
    imported ``garrison.findings.quick._connect``; the shared road is now
    ``garrison.quickread``. (``_`` is the gettext helper.)"""
    offenders = [hit for package in PRODUCT for path in sorted((REPO / package).rglob("*.py"))
                 for hit in _private_imports(path)]
    assert offenders == []


def test_the_private_import_check_catches_a_borrowed_name(tmp_path: Path) -> None:
    (tmp_path / "scanner").mkdir()
    probe = tmp_path / "scanner" / "probe.py"
    probe.write_text("from garrison.findings.quick import _connect\n"
                     "from garrison.i18n import _\n"
                     "from scanner.other import _own\n"
                     "from garrison import __version__\n", encoding="utf-8")
    assert _private_imports(probe, tmp_path) == [
        "scanner/probe.py:1: garrison.findings.quick._connect"]
