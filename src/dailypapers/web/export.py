"""A paper as Markdown (`/papers/{id}.md`), for people and for language models."""

from __future__ import annotations

from dailypapers.sources.arxiv_ids import abs_url, pdf_url
from dailypapers.store.feed import PaperDetail


def paper_markdown(d: PaperDetail, base_url: str) -> str:
    e = d.entry
    lines = [f"# {e.title}", ""]
    if e.authors:
        lines += ["**Authors:** " + ", ".join(a["name"] for a in e.authors), ""]
    facts = []
    if not e.local:
        facts.append(f"**arXiv:** [{e.id}]({abs_url(e.id)}) · [PDF]({pdf_url(e.id)})")
    if e.published:
        facts.append(f"**Published:** {e.published.date().isoformat()}")
    if e.categories:
        facts.append("**Categories:** " + ", ".join(e.categories))
    if d.doi:
        facts.append(f"**DOI:** [{d.doi}](https://doi.org/{d.doi})")
    if d.journal_ref:
        facts.append(f"**Journal reference:** {d.journal_ref}")
    if e.upvotes:
        facts.append(f"**Upvotes:** {e.upvotes} ({e.hf_upvotes} on Hugging Face, {e.votes} here)")
    for url in e.code_urls:
        facts.append(f"**Code:** <{url}>")
    for url in e.project_urls:
        facts.append(f"**Project page:** <{url}>")
    lines += [f"- {f}" for f in facts]
    lines += ["", "## Abstract", "", e.abstract or "(no abstract)", ""]
    if d.comments:
        lines += ["## Comments", "", d.comments, ""]
    if d.featured:
        lines += ["## Featured on Daily Papers", ""]
        for f in d.featured:
            who = f" by {f.submitter.name}" if f.submitter else ""
            where = " on Hugging Face" if f.source == "huggingface" else ""
            lines.append(f"- {f.day.isoformat()}{who}, {f.upvotes} upvotes{where}")
        lines.append("")
    lines.append(f"Source: {base_url}/papers/{e.id}")
    return "\n".join(lines) + "\n"
