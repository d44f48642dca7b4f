"""Importing a library (BibTeX, CSL JSON) from the settings page and through POST /api/library/import."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
