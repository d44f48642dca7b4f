"""Request parameter types shared by the handlers: bounds checked before a handler runs, so a value at the
edge of its type is a 422 naming the parameter, never an overflow in the database."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Query

MAX_ROW_ID = 2**63 - 1  # the largest integer SQLite and PostgreSQL's BIGINT store
MAX_PAGE = 10_000  # pages of a listing a reader can ask for (?page=)

RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]  # a stored row's id in a path, form or JSON body
PageParam = Annotated[int, Query(ge=0, le=MAX_PAGE)]
