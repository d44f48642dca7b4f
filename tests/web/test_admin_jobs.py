"""`/admin/jobs` for admins: the jobs with their schedules and latest runs, what failed with its error and a
retry button, a button to run a job now; nobody else sees it."""

from __future__ import annotations

from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import Engine

from tests.support.accounts import make_user, post, sign_in
from tests.support.fixtures import recording
from tests.support.jobs import wait_for
from tests.support.server import running_sites, serve_app


def _page(client: httpx.Client) -> html.HtmlElement:
    r = client.get("/admin/jobs")
    assert r.status_code == 200
    return html.fromstring(r.text)


def test_admins_see_failures_retry_them_and_run_jobs_now(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "root", role="admin")
    make_user(engine, "ada")
    later = tmp_path / "later.json"
    settings = {"job_retry_seconds": 0.5, "digest_scheduler": False, "embed_background": False}
    with serve_app(engine, tmp_path, background=True, **settings) as base:
        assert httpx.get(f"{base}/admin/jobs").status_code == 303  # to sign in
        assert sign_in(base, "ada").get("/admin/jobs").status_code == 403
        root = sign_in(base, "root")
        page = _page(root)
        assert {r.get("id") for r in page.cssselect("tr[id^=job-]")} >= {"job-keyword-index", "job-send-digests"}
        assert "off (settings)" in page.cssselect("#job-send-digests")[0].text_content()
        # A job that fails for good shows with its error.
        job_id = _defer_import(base, later)
        wait_for(lambda: bool(_page(root).cssselect(f"#failed-{job_id}")), what="the failed job on the page")
        row = _page(root).cssselect(f"#failed-{job_id}")[0].text_content()
        assert "import-file" in row and "no such file" in row
        # The file arrives; Retry runs the job again.
        later.write_bytes(recording("hf_papers_api", "fastpaper_api_papers_2608.09888_pretty.json").read_bytes())
        assert post(root, f"/admin/jobs/{job_id}/retry").status_code == 303
        wait_for(lambda: "1 new" in _recent(root), what="the retried job's run")
        assert not _page(root).cssselect(f"#failed-{job_id}")
        # Run now: a periodic job queued at once.
        assert post(root, "/admin/jobs/run/housekeeping").status_code == 303
        wait_for(lambda: "removed" in _page(root).cssselect("#job-housekeeping")[0].text_content(), what="housekeeping")
        assert post(root, "/admin/jobs/run/no-such-job").status_code == 404
        assert post(root, "/admin/jobs/999999/retry").status_code == 404
        assert root.post("/admin/jobs/run/housekeeping", data={"csrf_token": "forged"}).status_code == 403


def _recent(client: httpx.Client) -> str:
    return str(_page(client).cssselect("h2 + table")[-1].text_content())


def _defer_import(base: str, path: Path) -> int:
    """Queue an import of a file that is not there yet, in the server's own queue (as `import --queue` would)."""
    site = running_sites[base]
    assert site.jobs is not None
    return site.jobs.defer("import-file", path=str(path))
