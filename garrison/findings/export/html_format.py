"""An offline HTML report: one self-contained file (inline CSS, inline SVG charts).

No script, no external font, style sheet or image, and a Content-Security-Policy
that forbids loading any, so the report opens on an air-gapped machine and an
escaping mistake could not run code. Everything from the data goes through
``html.escape``. The findings table is streamed row by row; the row count in the
header is patched in place once the rows are written.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import TextIO

from garrison import __version__
from garrison.findings.export.base import COLUMNS, ExportContext, Exporter, ExportRow, cell
from garrison.findings.export.csv_format import CONTROL_CHARS, iso_utc, text_value
from garrison.i18n import _

SEVERITIES = ("critical", "high", "medium", "low", "info")
COLOURS = {"critical": "#8e1b1b", "high": "#d9480f", "medium": "#e8a317",
           "low": "#1c6fb8", "info": "#6b7b8c"}
TOP_UNITS = 15
_COUNT_WIDTH = 12  # room for the patched-in row count

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","PingFang SC","Hiragino Sans GB",
"Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",
"Noto Sans SC",sans-serif;margin:24px;color:#1d232a;font-size:14px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0}
dt{color:#5b6672}dd{margin:0}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d5dbe1;padding:3px 7px;text-align:left;vertical-align:top}
thead th{background:#eef1f4;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;background:#f6f7f9}
tr.overdue td{background:#fff3f0}
.charts{display:flex;flex-wrap:wrap;gap:32px}
svg text{font-family:inherit;font-size:12px;fill:#1d232a}
@media print{thead th{position:static}.charts{break-inside:avoid}}
"""


def _text(value: object) -> str:
    """Escaped text of a cell; control characters HTML cannot carry are replaced."""
    return escape(CONTROL_CHARS.sub("\ufffd", text_value(value)))


def _severity_order(context: ExportContext) -> list[str]:
    seen = set(context.summary.by_severity)
    for counts in context.summary.by_unit_severity.values():
        seen.update(counts)
    return [*SEVERITIES, *sorted(seen - set(SEVERITIES))]


def severity_chart(by_severity: dict[str, int], order: list[str]) -> str:
    """Vertical bars: findings by severity."""
    bar, gap, top, height = 56, 24, 24, 160
    biggest = max([*by_severity.values(), 1])
    parts = []
    for index, severity in enumerate(order):
        count = by_severity.get(severity, 0)
        x, h = gap + index * (bar + gap), round(height * count / biggest)
        y = top + height - h
        parts.append(
            f'<rect x="{x}" y="{y}" width="{bar}" height="{h}" '
            f'fill="{COLOURS.get(severity, "#999")}"><title>{_text(severity)}: {count}</title>'
            f'</rect><text x="{x + bar // 2}" y="{y - 6}" text-anchor="middle">{count}</text>'
            f'<text x="{x + bar // 2}" y="{top + height + 18}" text-anchor="middle">'
            f"{_text(severity)}</text>"
        )
    width = gap + len(order) * (bar + gap)
    label = escape(_("findings by severity"))
    return (f'<svg class="chart" width="{width}" height="{top + height + 30}" role="img" '
            f'aria-label="{label}">{"".join(parts)}</svg>')


def overdue_chart(overdue: dict[str, int], names: dict[str, str]) -> str:
    """Horizontal bars: the units with the most overdue findings."""
    label_w, bar_w, row_h = 220, 320, 24
    top = sorted(((n, code) for code, n in overdue.items() if n > 0),
                 key=lambda item: (-item[0], item[1]))[:TOP_UNITS]
    label = escape(_("overdue findings by unit"))
    if not top:
        return (f'<svg class="chart" width="{label_w + bar_w}" height="{row_h}" role="img" '
                f'aria-label="{label}"><text x="0" y="16">'
                f'{escape(_("no overdue findings"))}</text></svg>')
    parts = []
    for index, (count, code) in enumerate(top):
        y, w = index * row_h, max(1, round(bar_w * count / top[0][0]))
        name = names.get(code) or code
        short = name if len(name) <= 16 else name[:15] + "…"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_text(short)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="{row_h - 8}" fill="#c2410c">'
            f"<title>{_text(name)} ({_text(code)}): {count}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + 16}">{count}</text>'
        )
    return (f'<svg class="chart" width="{label_w + bar_w + 60}" height="{len(top) * row_h}" '
            f'role="img" aria-label="{label}">{"".join(parts)}</svg>')


def _summary_table(out: TextIO, context: ExportContext, order: list[str]) -> None:
    summary = context.summary
    heads = [_("unit code"), _("unit name"), *order, _("total"), _("overdue")]
    out.write('<table class="summary"><thead><tr>')
    out.write("".join(f"<th>{_text(h)}</th>" for h in heads) + "</tr></thead><tbody>\n")
    totals = dict.fromkeys(order, 0)
    for code in sorted(summary.by_unit_severity.keys() | summary.overdue_by_unit.keys()):
        counts = summary.by_unit_severity.get(code, {})
        for severity in order:
            totals[severity] += counts.get(severity, 0)
        numbers = [*(counts.get(s, 0) for s in order), sum(counts.values()),
                   summary.overdue_by_unit.get(code, 0)]
        out.write(f"<tr><td>{_text(code)}</td><td>{_text(summary.unit_names.get(code))}</td>"
                  + "".join(f'<td class="n">{n}</td>' for n in numbers) + "</tr>\n")
    numbers = [*totals.values(), sum(totals.values()), sum(summary.overdue_by_unit.values())]
    out.write(f'<tr class="total"><td>{escape(_("total"))}</td><td></td>'
              + "".join(f'<td class="n">{n}</td>' for n in numbers) + "</tr>\n")
    out.write("</tbody></table>\n")


def _header(out: TextIO, context: ExportContext) -> int:
    """Write the document's start and header; returns where the row count goes."""
    title = escape(_("Garrison findings report"))
    out.write(
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        f'<meta name="generator" content="Garrison {escape(__version__)}">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
        f"<dl><dt>{escape(_('generated at (UTC)'))}</dt>"
        f"<dd>{escape(iso_utc(context.generated_at))}</dd>"
        f"<dt>{escape(_('actor'))}</dt><dd>{_text(context.actor)}</dd>"
        f"<dt>{escape(_('findings'))}</dt><dd><strong id=\"count\">"
    )
    position = out.tell()
    out.write(" " * _COUNT_WIDTH + "</strong></dd>\n")
    for key, value in context.filters.items():
        out.write(f"<dt>{escape(_('filter: {name}').format(name=key))}</dt>"
                  f"<dd>{_text(value)}</dd>\n")
    if not context.filters:
        out.write(f"<dt>{escape(_('filters'))}</dt><dd>{escape(_('none'))}</dd>\n")
    out.write("</dl>\n")
    return position


class HtmlExporter(Exporter):
    name = "html"
    suffix = ".html"

    def write(self, rows: Iterable[ExportRow], path: Path, context: ExportContext) -> int:
        order = _severity_order(context)
        summary = context.summary
        keys = [key for key, _header in COLUMNS]
        count = 0
        with path.open("w", encoding="utf-8", newline="\n") as out:
            count_at = _header(out, context)
            out.write(f"<h2>{escape(_('summary'))}</h2>\n")
            _summary_table(out, context, order)
            out.write('<div class="charts">\n<figure>'
                      f"<figcaption>{escape(_('findings by severity'))}</figcaption>"
                      f"{severity_chart(summary.by_severity, order)}</figure>\n<figure>"
                      f"<figcaption>{escape(_('overdue findings by unit'))}</figcaption>"
                      f"{overdue_chart(summary.overdue_by_unit, summary.unit_names)}"
                      "</figure>\n</div>\n")
            out.write(f"<h2>{escape(_('findings'))}</h2>\n"
                      '<table class="findings"><thead><tr>'
                      + "".join(f"<th>{escape(h)}</th>" for _k, h in COLUMNS)
                      + "</tr></thead>\n<tbody>\n")
            for row in rows:
                css = ' class="overdue"' if row.overdue else ""
                out.write(f"<tr{css}>" + "".join(f"<td>{_text(cell(row, k))}</td>" for k in keys)
                          + "</tr>\n")
                count += 1
            out.write("</tbody></table>\n</body>\n</html>\n")
            out.seek(count_at)
            out.write(f"{count:,}".ljust(_COUNT_WIDTH)[:_COUNT_WIDTH])
        return count
