"""Comments on papers: Markdown bodies rendered to a small, sanitized subset of HTML."""

from dailypapers.comments.render import MAX_BODY, BodyProblem, check_body, render_markdown

__all__ = ["MAX_BODY", "BodyProblem", "check_body", "render_markdown"]
