"""Keyset pages for the scanner's lists: assets, runs, a run's changes, a diff.

Every list is ordered by a key that is unique per row (ties broken by a unique
column), and a page starts *after* the key of the previous page's last row, as
``findings list --after ID`` does: the database walks an index or keeps the top
rows of a sort, never counts off an OFFSET, and a row written between two pages
neither repeats nor hides one. Row values (``(a, b) > (x, y)``) say "after" in one
comparison on SQLite (3.15+) and PostgreSQL.

A page (``scanner.listing.Page``) also carries what the summary line needs: how many
rows match in all, how many come before it, and the matches counted by state or kind.
``scanner.listing_sql`` writes the same pages as SQL text for the CLI's quick path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped

from scanner.listing import Page as Page  # the page itself is plain data (scanner.listing)

Key = sa.ColumnElement[Any] | Mapped[Any]
"""A column or expression of a list's order (``col(Model.field)`` included)."""


def _cursor(keys: Sequence[Key], values: Sequence[Any]) -> tuple[sa.Tuple, sa.Tuple]:
    left = sa.tuple_(*keys)
    right = sa.tuple_(*(sa.literal(v, cast(sa.ColumnElement[Any], k).type)
                        for k, v in zip(keys, values, strict=True)))
    return left, right


def beyond(keys: Sequence[Key], values: Sequence[Any], *,
           descending: bool = False) -> sa.ColumnElement[bool]:
    """Rows after the one whose key is ``values``, in the order ``keys`` (all ascending,
    or all descending)."""
    left, right = _cursor(keys, values)
    return left < right if descending else left > right


def up_to(keys: Sequence[Key], values: Sequence[Any], *,
          descending: bool = False) -> sa.ColumnElement[bool]:
    """Rows up to and including the one whose key is ``values``: the page's ``before``."""
    left, right = _cursor(keys, values)
    return left >= right if descending else left <= right


def tally(session: Any, group: Key, where: Sequence[sa.ColumnElement[bool]],
          froms: sa.FromClause, before: sa.ColumnElement[bool] | None
          ) -> tuple[dict[str, int], int, int]:
    """Matches counted by ``group``, their total, and how many satisfy ``before``: one
    pass over the matching rows serves the whole summary line."""
    counted = sa.func.count().filter(before) if before is not None else sa.literal(0)
    rows = session.execute(sa.select(group, sa.func.count(), counted).select_from(froms)
                           .where(*where).group_by(group)).all()
    counts = {str(getattr(g, "value", g)): int(n) for g, n, _b in rows}
    return counts, sum(counts.values()), sum(int(b or 0) for _g, _n, b in rows)
