"""Follows: the follow buttons' forms, the Following page and /api/follows."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
