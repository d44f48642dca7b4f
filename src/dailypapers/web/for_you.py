"""The reader's own ranking: /for-you, GET /api/for-you and the "not interested" button."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
