"""What each page weighs: HTML, CSS, JS and images a browser loads for it, raw and as sent (gzip).

    python -m bench.bench_pages [--base http://127.0.0.1:8000] [PATH ...]

Against a running site (`make run`: the demo). Resources are those the HTML links (stylesheets, scripts,
images), fetched once each per page, as a browser with an empty cache would; nothing from another host
is counted because pages load nothing from one (that is checked: a foreign URL is reported).
"""

from __future__ import annotations

import argparse
from urllib.parse import urljoin, urlsplit

import httpx
from lxml import html

PAGES = ["/", "/trending", "/papers/2607.28618", "/search?q=retrieval", "/orgs/newyorkuniversity", "/signin", "/docs"]


def weigh(client: httpx.Client, base: str, path: str) -> dict[str, int]:
    """Bytes by kind for one page: raw (`html`, `css`, `js`, `img`) and as sent with gzip (`*_sent`)."""
    sizes = {k: 0 for k in ("html", "css", "js", "img", "html_sent", "css_sent", "js_sent", "img_sent")}

    def get(url: str, kind: str) -> bytes:
        raw = client.get(url, headers={"Accept-Encoding": "identity"})
        sent = client.get(url, headers={"Accept-Encoding": "gzip"})
        sizes[kind] += len(raw.content)
        sizes[kind + "_sent"] += sent.num_bytes_downloaded  # the body on the wire, before decoding
        return raw.content

    page = html.fromstring(get(base + path, "html"))
    links = [("css", e.get("href")) for e in page.xpath("//link[@rel='stylesheet']")]
    links += [("js", e.get("src")) for e in page.xpath("//script[@src]")]
    links += [("img", e.get("src")) for e in page.xpath("//img[@src]") if not e.get("src", "").startswith("data:")]
    for kind, url in dict.fromkeys(links):
        full = urljoin(base + path, url)
        if urlsplit(full).netloc != urlsplit(base).netloc:
            raise SystemExit(f"{path} loads {full} from another host")
        get(full, kind)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("paths", nargs="*", default=PAGES)
    args = parser.parse_args()
    print("| page | HTML KB | CSS KB | JS KB | images KB | total KB | sent (gzip) KB |")
    print("|---|---|---|---|---|---|---|")
    with httpx.Client(timeout=30, follow_redirects=True) as client:
        for path in args.paths:
            s = weigh(client, args.base, path)
            total = s["html"] + s["css"] + s["js"] + s["img"]
            sent = s["html_sent"] + s["css_sent"] + s["js_sent"] + s["img_sent"]
            cells = [s["html"], s["css"], s["js"], s["img"], total, sent]
            print(f"| `{path}` | " + " | ".join(f"{c / 1024:.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
