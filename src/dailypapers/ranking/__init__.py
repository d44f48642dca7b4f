"""How papers are ranked across days: the trending score (see docs/ranking.md)."""

from dailypapers.ranking.trending import (
    Scored,
    TrendingParams,
    featured_at,
    hours_since_featured,
    rank,
    reference_time,
    score,
    window_start,
)

__all__ = [
    "Scored",
    "TrendingParams",
    "featured_at",
    "hours_since_featured",
    "rank",
    "reference_time",
    "score",
    "window_start",
]
