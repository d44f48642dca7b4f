"""Collections: their pages, forms and exports, and the HF-style API under /api/collections."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
