"""Comments on papers: the rules of a discussion (`discussion`) and Markdown bodies rendered to a small,
sanitized subset of HTML (`markdown`)."""
