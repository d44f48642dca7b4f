"""A reader's data: export all of it as JSON, and delete the account."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
