"""Saving papers: the save toggle on cards and paper pages (a form, enhanced by app.js) and the API's POST/DELETE /api/papers/{id}/save."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
