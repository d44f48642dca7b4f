"""`/docs`: Swagger UI for the JSON API, from our own origin (its files come from the `swagger-ui-bundle-v2`
package, web/assets.py), so the page works air-gapped: it loads nothing from another host."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from dailypapers.web.site import HTML_HEADERS, site_of

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    body = site_of(request).render("api_docs.html", openapi_url=request.app.openapi_url or "/openapi.json")
    headers = {**HTML_HEADERS, "Cache-Control": "no-cache"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)
