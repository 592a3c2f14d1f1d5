"""Rendering of the inventory and the run history (``assets``, ``scan list/show/diff``):
summary lines, rich tables and their JSON.

Every list prints its summary first: how many match, counted by state or kind,
which rows this page shows, and the ``--after`` that starts the next page. JSON
carries the page's rows only; a script pages with the last row's cursor (see
docs/scanner.md).

The lists render plain rows (``scanner.listing``), whichever road read them: the ORM
queries or the CLI's quick path (``scanner.quick``), so both print the same bytes.
Nothing here loads the ORM, and rich is loaded only to print a table: ``--json``
goes without it (tens of milliseconds of the first page's 0.3 s).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from garrison.i18n import _, ngettext
from garrison.vocab import OPEN_STATES
from scanner.listing import AssetLine, AssetQuery, ChangeLine, Page, RunChanges, RunDiff, RunLine

if TYPE_CHECKING:
    from rich.console import Console

    from scanner.queries import AssetDetail

TIME = "%Y-%m-%d %H:%M"
_OPEN = frozenset(s.value for s in OPEN_STATES)


def counted(counts: dict[str, int]) -> str:
    """``65,000 up, 534 gone``, in the order given."""
    return ", ".join(f"{n:,} {k}" for k, n in counts.items())


def page_tail(page: Page[Any], next_cursor: str | None, after: object | None) -> str:
    """``showing 51-100 (next: --after X)``; ``nothing after X`` past the end."""
    if not page.rows:
        return _("nothing after {c}").format(c=after) if after is not None else ""
    tail = _("showing {a:,}-{b:,}").format(a=page.first, b=page.last)
    if page.more and next_cursor is not None:
        tail += _(" (next: --after {c})").format(c=next_cursor)
    return tail


def _line(head: str, counts: str, tail: str) -> str:
    return head + (": " + counts if counts else "") + ("; " + tail if tail else "")


# ---------------------------------------------------------------- assets


def assets_summary(q: AssetQuery, page: Page[AssetLine], after: str | None) -> str:
    """``65,534 assets in hz-jw and below: 65,000 up, 534 gone; showing 1-50 (next: ...)``"""
    where = [_("in {u} and below").format(u=q.unit) if q.unit else _("in every unit")]
    if q.state is not None:
        where.append(_("in state {s}").format(s=q.state))
    if q.text:
        where.append(_("matching {t!r}").format(t=q.text))
    if q.service:
        where.append(_("with service {s!r}").format(s=q.service))
    if page.total == 0:
        return _("No assets {w}.").format(w=" ".join(where))
    head = ngettext("{n:,} asset {w}", "{n:,} assets {w}", page.total).format(
        n=page.total, w=" ".join(where))
    nxt = page.rows[-1].cursor if page.rows else None
    return _line(head, counted(page.counts), page_tail(page, nxt, after))


def services_cell(row: AssetLine) -> str:
    """A gone asset's services are what it had when last seen, not open ones."""
    if row.gone and row.open_services:
        return _("{n} last seen").format(n=row.open_services)
    return str(row.open_services)


def asset_line_json(r: AssetLine) -> dict[str, object]:
    return {"unit": r.unit, "address": r.address, "hostname": r.hostname, "mac": r.mac,
            "os": r.os_guess, "state": r.state, "first_seen": r.first_seen.isoformat(),
            "last_seen": r.last_seen.isoformat(),
            "open_services": 0 if r.gone else r.open_services,
            "last_seen_services": r.open_services if r.gone else 0,
            "open_findings": r.open_findings}


def render_assets(out: Console, rows: list[AssetLine]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(_("unit"), _("address"), _("hostname"), _("state"), _("services"),
                  _("open findings"), _("last seen (UTC)"))
    for r in rows:
        table.add_row(r.unit, r.address, escape(r.hostname or ""), r.state, services_cell(r),
                      str(r.open_findings), r.last_seen.strftime(TIME))
    out.print(table)


def detail_json(d: AssetDetail) -> dict[str, object]:
    from scanner.run_queries import change_line

    a = d.asset
    return {
        "unit": d.unit, "address": a.address, "hostname": a.hostname, "mac": a.mac,
        "vendor": a.vendor, "os": a.os_guess, "state": a.state.value,
        "first_seen": a.first_seen.isoformat(), "last_seen": a.last_seen.isoformat(),
        "gone_since": d.gone_since.isoformat() if d.gone_since else None,
        "services": [{"protocol": s.protocol, "port": s.port, "state": s.state,
                      "name": s.name, "product": s.product, "version": s.version,
                      "tunnel": s.tunnel, "cpe": s.cpe, "scripts": s.scripts,
                      "last_seen": s.last_seen.isoformat()} for s in d.services],
        "changes": [change_json(change_line(c)) for c in d.changes],
        "findings": [{"id": f.id, "rule": f.rule_id, "title": f.title,
                      "severity": f.severity.value, "status": f.status.value,
                      "port": f"{f.protocol}/{f.port}" if f.port else None, "owner": f.owner,
                      "due_at": f.due_at.isoformat() if f.due_at else None}
                     for f in d.findings],
    }


def render_detail(out: Console, d: AssetDetail) -> None:
    from rich.markup import escape
    from rich.table import Table

    info = detail_json(d)
    state = str(info["state"])
    if d.gone_since is not None:
        state = _("gone since {d}").format(d=d.gone_since.strftime(TIME))
    out.print(_("[bold]{address}[/bold] ({unit}) {state}; hostname {h}; MAC {mac}; OS {os}")
              .format(address=info["address"], unit=info["unit"], state=state,
                      h=escape(str(info["hostname"] or "-")), mac=info["mac"] or "-",
                      os=escape(str(info["os"] or "-"))))
    services = Table(_("port"), _("state"), _("service"), _("product"), _("version"), _("cpe"))
    for s in d.services:
        shown = _("last seen") if d.gone_since is not None and s.state == "open" else s.state
        services.add_row(f"{s.protocol}/{s.port}", shown, escape(s.name or ""),
                         escape(s.product or ""), escape(s.version or ""), " ".join(s.cpe))
    out.print(services)
    findings = Table(_("finding"), _("severity"), _("status"), _("port"), _("title"),
                     _("owner"), _("due"))
    for f in d.findings:
        status = f.status.value
        if d.gone_since is not None and status in _OPEN:
            status = _("{s} (asset gone)").format(s=status)
        findings.add_row(str(f.id), f.severity.value, status,
                         f"{f.protocol}/{f.port}" if f.port else "", escape(f.title),
                         escape(f.owner), f.due_at.strftime("%Y-%m-%d") if f.due_at else "")
    out.print(findings)


# ---------------------------------------------------------------- runs and changes


def runs_summary(unit: str | None, page: Page[RunLine], after: int | None) -> str:
    where = _("in {u} and below").format(u=unit) if unit else _("in every unit")
    if page.total == 0:
        return _("No runs {w}.").format(w=where)
    head = ngettext("{n:,} run {w}", "{n:,} runs {w}", page.total).format(n=page.total, w=where)
    nxt = str(page.rows[-1].id) if page.rows else None
    return _line(head, counted(dict(sorted(page.counts.items()))), page_tail(page, nxt, after))


def run_json(r: RunLine) -> dict[str, object]:
    return {"id": r.id, "unit": r.unit, "kind": r.kind, "profile": r.profile,
            "technique": r.technique, "status": r.status,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "observed_at": r.observed_at.isoformat(),
            "observed_until": r.observed_until.isoformat() if r.observed_until else None,
            "targets": r.targets, "command": r.command, "actor": r.actor,
            "hosts_total": r.hosts_total, "hosts_done": r.hosts_done, "hosts_up": r.hosts_up,
            "hosts_skipped": r.hosts_skipped, "services": r.services_seen,
            "batches": [r.batches_done, r.batches_total], "counts": r.counts,
            "nmap_version": r.nmap_version, "source_file": r.source_file,
            "source_sha256": r.source_sha256, "error": r.error}


def render_runs(out: Console, runs: Iterable[RunLine]) -> None:
    from rich.table import Table

    table = Table(_("run"), _("unit"), _("kind"), _("profile"), _("status"),
                  _("observed (UTC)"), _("hosts up"), _("services"), _("changes"),
                  _("findings new/fixed"))
    for r in runs:
        counts = r.counts
        changes = sum(v for k, v in counts.items() if k.startswith("change."))
        table.add_row(str(r.id), r.unit, r.kind, r.profile, r.status,
                      r.observed_at.strftime(TIME), f"{r.hosts_up}/{r.hosts_done}",
                      str(r.services_seen), str(changes),
                      f"{counts.get('finding.new', 0)}/{counts.get('finding.fixed', 0)}")
    out.print(table)


#: What ``scan show`` prints of the run, in this order (keys of ``run_json``).
RUN_HEADER = ("id", "unit", "kind", "profile", "technique", "status", "started_at",
              "finished_at", "observed_at", "observed_until", "actor", "command",
              "nmap_version", "source_file", "source_sha256", "hosts_total", "hosts_done",
              "hosts_up", "hosts_skipped", "services", "batches", "error")


def render_counts(out: Console, counts: dict[str, int]) -> None:
    """A run's changes and finding transitions, by kind."""
    changes = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("change.")}
    findings = {k.split(".", 1)[1]: v for k, v in counts.items() if k.startswith("finding.")}
    out.print(_("Changes: {c}").format(
        c=", ".join(f"{k} {v}" for k, v in sorted(changes.items())) or _("none")))
    out.print(_("Findings: {f}").format(
        f=", ".join(f"{k} {v}" for k, v in sorted(findings.items())) or _("none")))


def render_run(out: Console, shown: RunChanges, after: int | None) -> None:
    """``scan show``: the run, its counts, the summary line, a page of its changes."""
    from rich.markup import escape

    info = run_json(shown.run)
    for key in RUN_HEADER:
        if info.get(key) not in (None, ""):
            out.print(f"[bold]{key}[/bold]: {escape(str(info[key]))}", highlight=False)
    render_counts(out, shown.run.counts)
    out.print(changes_summary(shown.page, after), markup=False, soft_wrap=True)
    if shown.page.rows:
        render_changes(out, shown.page.rows)


def changes_summary(page: Page[ChangeLine], after: int | None) -> str:
    head = ngettext("{n:,} change", "{n:,} changes", page.total).format(n=page.total)
    nxt = str(page.rows[-1].id) if page.rows else None
    return _line(head, "", page_tail(page, nxt, after))


def diff_summary(d: RunDiff, after: int | None) -> str:
    """``5 changes by 2 runs of hz-jw observed after run 3 (...) up to run 7 (...): ...``"""
    page = d.page
    head = ngettext("{n:,} change", "{n:,} changes", page.total).format(n=page.total)
    head += " " + ngettext(
        "by {k} run of {u} observed after run {a} ({ta}) up to run {b} ({tb})",
        "by {k} runs of {u} observed after run {a} ({ta}) up to run {b} ({tb})", d.runs).format(
        k=d.runs, u=d.unit, a=d.first.id, ta=d.first.observed_at.strftime(TIME), b=d.last.id,
        tb=d.last.observed_at.strftime(TIME))
    nxt = str(page.rows[-1].id) if page.rows else None
    return _line(head, counted(dict(sorted(page.counts.items()))), page_tail(page, nxt, after))


def change_json(c: ChangeLine) -> dict[str, object]:
    return {"id": c.id, "run": c.run_id, "kind": c.kind, "address": c.address,
            "protocol": c.protocol, "port": c.port, "before": c.before, "after": c.after,
            "at": c.at.isoformat()}


def render_changes(out: Console, changes: Iterable[ChangeLine]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(_("id"), _("run"), _("change"), _("address"), _("port"), _("before"),
                  _("after"))
    for c in changes:
        port = f"{c.protocol}/{c.port}" if c.port is not None else ""
        table.add_row(str(c.id), str(c.run_id), c.kind, c.address, port,
                      escape(_short(c.before)), escape(_short(c.after)))
    out.print(table)


def _short(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    return "; ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], ""))
