"""Paging through every lead or contact of a portal for a backfill, on Uspacy's
page-number paging (`page`, `list`), with a cursor of our own.

Pages are asked for in ascending id order (contract.SORT_PARAMS), so records
created during a backfill land on later pages. Records deleted during it would
shift later ones onto pages already read; the cursor remembers the last id and
the total it saw, and when the total has dropped, the next read steps back far
enough to meet the shifted records again, skipping the ids it already gave. A
page that does not come in id order (a server ignoring the sort) is taken as
Uspacy sends it.
"""

import math
from typing import Any

from app.crm.base import CrmUnavailable
from app.crm.uspacy import contract, values
from app.crm.uspacy.portal import PortalApi

MAX_CURSOR_CHARS = 100
Rows = list[dict[str, Any]]


def next_page(
    api: PortalApi, object_type: str, cursor: str | None, limit: int
) -> tuple[Rows, str | None]:
    """The records of the page `cursor` points at (the first page for None) and
    the cursor of the page after it (None at the end)."""
    page, last_id, seen_total = parse_cursor(cursor)
    size = min(max(int(limit), 1), contract.MAX_PAGE_SIZE)
    rows, total, last_page = _page(api, object_type, page, size)
    ordered = ascending(rows)
    if ordered and seen_total is not None and total < seen_total and page > 1:
        page = max(1, page - math.ceil((seen_total - total) / size))
        rows, total, last_page = _page(api, object_type, page, size)
        ordered = ascending(rows)
    ids = [_id_number(row) for row in rows]
    if ordered:  # drop what an earlier page (or the step back) already gave
        rows = [row for row, i in zip(rows, ids, strict=True) if i > last_id]
    if not ids or page >= last_page:
        return rows, None
    seen = max(last_id, *ids) if ordered else 0
    return rows, f"{page + 1}:{seen}:{total}"


def parse_cursor(cursor: str | None) -> tuple[int, int, int | None]:
    """(page, last id seen, total seen) from a cursor `next_page` returned;
    ValueError for anything else."""
    if cursor is None:
        return 1, 0, None
    parts = cursor.split(":") if len(cursor) <= MAX_CURSOR_CHARS else []
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError("cursor must be a paging cursor this adapter returned")
    page, last_id, total = (int(p) for p in parts)
    if page < 1:
        raise ValueError("cursor must be a paging cursor this adapter returned")
    return page, last_id, total


def ascending(rows: Rows) -> bool:
    """Whether a page came in the id order asked for."""
    ids = [_id_number(row) for row in rows]
    return all(ids) and all(a < b for a, b in zip(ids, ids[1:], strict=False))


def _page(
    api: PortalApi, object_type: str, page: int, size: int
) -> tuple[Rows, int, int]:
    """One page's records, the total and the last page number."""
    answer = api.call(
        "GET",
        contract.RECORDS_PATH.format(kind=object_type),
        params={
            contract.PAGE_PARAM: page,
            contract.SIZE_PARAM: size,
            **contract.SORT_PARAMS,
        },
    )
    rows = answer.get(contract.WRAPPER_KEY) if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise CrmUnavailable("Uspacy sent a page without data")
    meta = answer.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    return (
        [row for row in rows if isinstance(row, dict)],
        values.count(meta.get("total")) or 0,
        values.count(meta.get("last_page")) or page,
    )


def _id_number(row: dict[str, Any]) -> int:
    return int(values.record_id(row.get("id")) or 0)
