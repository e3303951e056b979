"""Following a page's links through the Flask test clients of a Stack, across services (review's
and notify's staff pages hand over to intake's staff sign-in), as a browser would."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from sqlalchemy import event


def main_links(page: str) -> list[str]:
    """The href of every link inside the page's <main>."""
    main = page[page.index("<main"):page.index("</main>")]
    return re.findall(r'<a [^>]*href="([^"]+)"', main)


def follow(stack, service: str, path: str, client=None, hops: int = 8):
    """GET ``path`` on ``service`` and follow its redirects, into another service of the stack
    when one points there. Returns (the last URL, its response). ``client``: a browser of
    ``service`` (its cookies); any other service is visited by a fresh, anonymous one."""
    origins = {f"{urlsplit(stack.settings.service_url(s)).netloc}": s for s in stack.apps}
    url = urljoin(stack.settings.service_url(service) + "/", path)
    clients = {service: client or stack.apps[service].test_client()}
    for _ in range(hops):
        svc = origins[urlsplit(url).netloc]
        where = urlsplit(url)
        c = clients.setdefault(svc, stack.apps[svc].test_client())
        response = c.get(where.path, query_string=where.query)
        if response.status_code not in (301, 302, 303, 307, 308):
            return url, response
        url = urljoin(url, response.headers["Location"])
    raise AssertionError(f"more than {hops} redirects from {service} {path}: last {url}")


class QueryCount:
    """Counts the SQL statements a Database's engine runs while the block is open."""

    def __init__(self, db):
        self.engine, self.statements = db.engine, []

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def anonymous_front_page(stack, service: str) -> tuple:
    """``service``'s `/` for a visitor with no cookie: asserted a 200 HTML page that ran no SQL.
    Returns (the response, its text)."""
    client = stack.apps[service].test_client()
    with QueryCount(stack.apps[service].extensions["prize"]["db"]) as queries:
        r = client.get("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert queries.statements == []
    return r, r.get_data(as_text=True)


def assert_every_link_answers(stack, service: str, links: list[str]) -> None:
    for link in links:
        url, answer = follow(stack, service, link)
        assert answer.status_code != 404 and answer.status_code < 500, (link, url, answer.status_code)
