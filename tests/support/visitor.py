"""A scripted browser for tests: cookies, and the CSRF token of the forms it was last shown."""

from __future__ import annotations

import httpx
from lxml import html


class Visitor:
    """A browser: cookies, and the CSRF token of the forms it was last shown."""

    def __init__(self, base: str, session: str | None = None) -> None:
        self.http = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
        if session:
            self.http.cookies.set("dp_session", session)
        self.token = ""

    def page(self, path: str) -> httpx.Response:
        r = self.http.get(path)
        assert r.status_code == 200, (path, r.status_code)
        field = html.fromstring(r.text).cssselect("input[name=csrf_token]")
        if field:
            self.token = field[0].get("value")
        return r

    def post(self, path: str, csrf: bool = True, **data: object) -> httpx.Response:
        if csrf:
            if not self.token:
                self.page("/signin")
            data["csrf_token"] = self.token
        return self.http.post(path, data={k: str(v) for k, v in data.items() if v is not None})
