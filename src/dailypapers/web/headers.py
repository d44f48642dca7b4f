"""Security headers on every HTML response, whichever handler, error page or mount produced it.

Handlers add `site.HTML_HEADERS` themselves where they build a response; this layer is the guarantee: any
`text/html` response that lacks one of them gets it, so a new page cannot ship without them. HSTS is sent
only when the site's public URL is https (a browser must not pin http-only instances to https).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web.site import HTML_HEADERS

EXTRA = {
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = ("Strict-Transport-Security", "max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        wanted = {**HTML_HEADERS, **EXTRA}
        if https:
            wanted[HSTS[0]] = HSTS[1]
        self.wanted = [(k.lower().encode(), v.encode()) for k, v in wanted.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers += [(n, v) for n, v in self.wanted if n not in names]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)
