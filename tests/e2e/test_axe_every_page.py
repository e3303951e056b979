"""axe-core on every page of the three services, at 1280 px and at 390 px (a phone), in a real
browser (Playwright + Debian's Chromium): the bar is zero violations of every rule axe runs by
default (WCAG 2.x A and AA, and its best practices), and no page wider than the phone's screen.

One edition in every state a page can show is served with its workers running
(tests/support/edition.py); the browser walks through it as a visitor, an applicant, a juror and
a member of the secretariat, signing in as each does. Which pages: every HTML route of each app's
url_map, those with parameters filled with the seeded edition's ids; a route that is neither
visited nor named in NOT_PAGES (files, redirects, email bodies) fails the test, so a new page is
checked the day it is added.

Framed email bodies are emails, not pages: axe does not enter frames here (it is injected in the
top document only); notify's preview page that frames them is checked on its own.

The hand checks axe cannot make (issue 15) are tests of their own below: the focus ring's
contrast, the leaderboard's columns, and the guest list's and the staff tables' width on a phone."""
from __future__ import annotations

import re
import time

import pytest
from werkzeug.exceptions import MethodNotAllowed

from shared.config import load_settings
from tests.conftest import embedded_env
from tests.support import browser
from tests.support.edition import APPLICANT, STAFF, Edition, outbox_signins, seed, serve
from tests.support.stack import wait_until

pytestmark = pytest.mark.e2e

DESKTOP, PHONE = browser.DESKTOP, browser.PHONE
# GET routes that are not pages a person reads: machine endpoints, files, email bodies (framed in
# pages that are checked), and redirects
NOT_PAGES = re.compile(r"^/(api|static|healthz|readyz|metrics|openapi\.json)(/|$)|/static/"
                       r"|\.(csv|xlsx|zip|html|json|atom|<suffix>)$|/documents/<document_id>$|^/storage/download$"
                       r"|^/staff/(go|handoff|oidc/.*)$"
                       r"|^/jury/signin$"  # to /signin, the passwordless sign-in (jury_signin.html is unused then)
                       r"|\.pdf$"  # the application's PDF: a file
                       r"|^/results/<int:year>/photos/"  # a winner's public photo: an image
                       # a request to erase an applicant: axe checks it in test_my_data_browser.py, where one exists
                       r"|^/secretariat/erasure/<request_id>$")


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    var = tmp_path_factory.mktemp("a11y") / "var"
    stack, urls, servers = serve(lambda urls: load_settings(embedded_env(
        var, PRIZE_PUBLIC_URL=urls["intake"], PRIZE_REVIEW_PUBLIC_URL=urls["review"],
        PRIZE_NOTIFY_PUBLIC_URL=urls["notify"])))
    try:
        yield seed(stack, urls)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
        stack.stop()


@pytest.fixture(scope="module")
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    page.set_viewport_size(DESKTOP)
    yield page
    browser.close(context, profile)


class Audit:
    """axe-core on the page as it is now, at both widths; what it finds is kept by page, and which
    route of which service each page was, for the coverage check."""

    def __init__(self, page, edition: Edition):
        from axe_playwright_python.sync_playwright import Axe
        self.page, self.edition, self.axe = page, edition, Axe()
        self.found: dict[str, list[str]] = {}
        self.sideways: dict[str, int] = {}  # pages wider than the phone's screen: their scrollWidth
        self.routes: set[tuple[str, str]] = set()

    def __call__(self, name: str) -> None:
        for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(viewport)
            if viewport is PHONE:
                scroll_width, inner = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                if scroll_width > inner:
                    self.sideways[name] = scroll_width
            for v in self.axe.run(self.page).response["violations"]:
                nodes = "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
                self.found.setdefault(f"{name} ({width}) {self.page.url}", []).append(
                    f"{v['id']} [{v['impact']}] {v['help']}: {len(v['nodes'])} node(s): {nodes}")
        self.page.set_viewport_size(DESKTOP)
        self._route()

    def visit(self, svc: str, path: str, name: str | None = None) -> None:
        response = self.page.goto(self.edition.urls[svc] + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        self(name or f"{svc} {path}")

    def _route(self) -> None:
        url = self.page.url.split("#")[0]
        for svc, base in self.edition.urls.items():
            if url.startswith(base + "/"):
                app = self.edition.stack.apps[svc]
                path = url[len(base):].split("?")[0]
                adapter = app.url_map.bind("localhost")
                try:
                    rule, _ = adapter.match(path, method="GET", return_rule=True)
                except MethodNotAllowed:  # the answer to a form's POST
                    rule, _ = adapter.match(path, method="POST", return_rule=True)
                self.routes.add((svc, rule.rule))

    def pages_not_visited(self) -> list[str]:
        missing = []
        for svc, app in self.edition.stack.apps.items():
            for rule in app.url_map.iter_rules():
                if "GET" in rule.methods and not NOT_PAGES.search(rule.rule) and (svc, rule.rule) not in self.routes:
                    missing.append(f"{svc} {rule.rule}")
        return sorted(missing)


def sign_in(page, e: Edition, svc: str, path: str, email: str, lands: str, audit: Audit | None = None) -> None:
    """Sign in by an emailed one-time link as a person does (the form, the "check your inbox"
    page, the link's page and its button); ``audit`` checks each page on the way."""
    check = audit or (lambda name: None)
    page.context.clear_cookies()
    page.goto(e.urls[svc] + path)
    check(f"{svc} {path}")
    before = len(outbox_signins(e.stack, svc))
    page.locator("#email").fill(email)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    check(f"{svc} {path}: link sent")
    assert wait_until(lambda: len(outbox_signins(e.stack, svc)) > before, timeout=10)
    page.goto(outbox_signins(e.stack, svc)[-1]["url"])
    check(f"{svc} sign-in link")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(e.urls[svc] + lands)
    check(f"{svc} {lands}")


def walk_as_visitor(audit: Audit) -> None:
    audit.visit("intake", "/")
    audit.visit("intake", "/register")
    with audit.page.expect_navigation():
        audit.page.locator("main form button[type=submit]").click()  # nothing filled in: the errors
    audit("intake /register: refused")
    audit.visit("intake", "/privacy")
    audit.visit("intake", "/privacy/2026")
    audit.visit("intake", "/results")  # the released editions
    audit.visit("intake", "/results/2026")  # released in intake (tests/support/edition.py): winners, a photo
    walk_outreach_as_visitor(audit)
    audit.visit("intake", audit.edition.event_rsvp_path)  # an event invitation's answer page (issue 17)
    for svc in ("review", "notify"):
        audit.visit(svc, "/")  # what the service is, and where jurors and staff go
    for svc in ("intake", "review", "notify"):
        audit.visit(svc, "/secretariat/signin")  # operators paste a token
        audit.visit(svc, "/docs")  # the API's human docs


def walk_as_applicant(audit: Audit) -> None:
    e = audit.edition
    sign_in(audit.page, e, "intake", "/signin", APPLICANT, "/portal", audit)
    finalist = e.apps["kaohsiung"]["id"]  # submitted, a finalist, invited to the ceremony
    for path in ("/portal/profile", f"/portal/applications/{e.draft_id}",
                 f"/portal/applications/{e.draft_id}/preview", f"/portal/applications/{finalist}/status",
                 f"/portal/applications/{finalist}/ceremony", f"/portal/applications/{e.draft_id}/withdraw",
                 "/portal/my-data"):
        audit.visit("intake", path)


def walk_as_juror(audit: Audit) -> None:
    e = audit.edition
    sign_in(audit.page, e, "review", "/signin", next(iter(e.jurors)), "/jury", audit)
    audit.visit("review", "/", "review / (a juror signed in: their assignments)")
    app_id = e.apps["kaohsiung"]["id"]
    audit.visit("review", f"/jury/applications/{app_id}")  # the award round's: being scored
    audit.visit("review", f"/jury/applications/{app_id}/conflict")
    audit.visit("review", f"/jury/applications/{e.apps['lublin']['id']}")  # the closed round's: read only


def walk_as_staff(audit: Audit) -> None:
    e, page = audit.edition, audit.page
    sign_in(page, e, "intake", "/staff/signin", STAFF, "/secretariat", audit)
    intake = [f"/secretariat/editions/{e.call_id}{tail}" for tail in
              ("", "/dashboard", "/ceremony", "/documents", "/exceptions", "/terms", "/close", "/privacy",
                         "/results")]
    intake += [f"/secretariat/editions/{e.draft_call_id}", f"/secretariat/editions/{e.draft_call_id}/open",
               f"/secretariat/editions/{e.draft_call_id}/categories/tech_innovacity",
               f"/secretariat/applications/{e.apps['kaohsiung']['id']}", f"/secretariat/calls/{e.call_id}/guests"]
    intake += [f"/secretariat/editions/{e.call_id}/events", f"/secretariat/events/{e.event_id}",  # issue 17's events
               f"/secretariat/events/{e.event_id}/invite?group=prospects"]
    review = [f"/secretariat/applications/{e.apps['kaohsiung']['id']}",
              f"/secretariat/jurors/{next(iter(e.jurors.values()))}",
              f"/secretariat/jurors/{next(iter(e.jurors.values()))}/deactivate",
              f"/secretariat/rounds/{e.rounds['award']}/assign", f"/secretariat/rounds/{e.rounds['award']}/close",
              f"/secretariat/calls/{e.call_id}/release?kind=finalist"]
    notify = [f"/secretariat/outbox/{e.delivery_id}", f"/secretariat/messages/{e.message_id}",
              f"/secretariat/messages/{e.message_id}/edit", f"/secretariat/messages/{e.message_id}/send",
              "/secretariat/templates/submission_ack/en"]
    intake += [f"/secretariat/editions/{e.call_id}/funnel", f"/secretariat/editions/{e.draft_call_id}/funnel?by=event"]
    for svc, paths in (("intake", intake), ("review", review), ("notify", notify)):
        for path in plain_staff_pages(e, svc) + paths:
            audit.visit(svc, path)
    audit.visit("notify", "/", "notify / (staff signed in: the header's links and the staff bar)")
    # issue 17: a prospect, and the CSV import's preview (a new line, one already a prospect, errors)
    for prospect_id in e.prospects.values():
        audit.visit("intake", f"/secretariat/prospects/{prospect_id}")
    audit.visit("intake", "/secretariat/prospects/import")
    page.locator("#file").set_input_files(files=[{"name": "met.csv", "mimeType": "text/csv", "buffer": (
        "organisation,email,country,met_on\nLublin,zofia@lublin.example.pl,PL,2023-03-28\n"
        "City of Ryde,olivia.chen@ryde.example.au,AU,\nAtlantis,king@atlantis,Atlantis,28/03\n").encode()}])
    with page.expect_navigation():
        page.locator("main form button[type=submit]", has_text="Preview").click()
    audit("intake /secretariat/prospects/import: the preview")
    audit.visit("intake", "/secretariat/tokens")
    page.locator("#name").fill("nightly backup")
    page.locator("main form button[type=submit]", has_text="Create").click()
    page.locator("#new-token").wait_for()
    audit("intake /secretariat/tokens: a new token shown once")
    walk_outreach_as_staff(audit)
    # the screening decision with the email it will send, framed from notify's preview
    audit.visit("review", f"/secretariat/applications/{e.apps['chiangmai']['id']}")
    page.locator("input[type=radio][name=eligible][value=yes]").check()
    page.locator("main form button[type=submit]", has_text="Preview").first.click()
    page.frame_locator("#email-preview").locator("body").wait_for()
    audit("review screening: the email previewed")
    preview = page.locator("#email-preview").get_attribute("src")
    audit.visit("notify", preview.split(e.urls["notify"], 1)[-1])


def plain_staff_pages(e: Edition, svc: str) -> list[str]:
    """Every GET page under /secretariat without parameters, from the app's url_map (but those that
    need a query, visited with theirs)."""
    app = e.stack.apps[svc]
    return sorted({r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments
                   and r.rule.startswith("/secretariat") and r.rule != "/secretariat/signin"
                   and r.rule not in NEEDS_QUERY and not NOT_PAGES.search(r.rule)})


# --- invitations to apply (issue 17, the invitations lane) ---------------------------------------

NEEDS_QUERY = {"/secretariat/outreach/invite"}  # ?call=...&prospect=...


def walk_outreach_as_visitor(audit: Audit) -> None:
    """The registration form an invitation fills, a link of someone registered since, and the
    unsubscribe page with its answer."""
    o = audit.edition.outreach
    audit.visit("intake", o["link"], "intake /portal/register?invitation= (filled in)")
    audit.visit("intake", o["registered_link"], "intake /portal/register?invitation= (registered already)")
    audit.visit("notify", o["unsubscribe"])
    with audit.page.expect_navigation():
        audit.page.locator("main form button[type=submit]").click()
    audit("notify /unsubscribe: done")


def walk_outreach_as_staff(audit: Audit) -> None:
    """The look before inviting (with notify's preview framed), the answer to Send, and the
    secretariat's opt-out confirmation."""
    e, page = audit.edition, audit.page
    prospect = e.outreach["to_invite"]
    audit.visit("intake", f"/secretariat/outreach/invite?call={e.call_id}&prospect={prospect}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]", has_text="Send").click()
    audit("intake /secretariat/outreach/invite: sent")
    audit.visit("intake", f"/secretariat/prospects/{prospect}/opt-out")


def test_axe_finds_nothing_on_any_page_at_desktop_and_phone_width(edition, page):
    started = time.monotonic()
    audit = Audit(page, edition)
    walk_as_visitor(audit)
    walk_as_applicant(audit)
    walk_as_juror(audit)
    walk_as_staff(audit)
    page.goto(edition.urls["intake"] + "/staff/signed-out")
    audit("intake staff signed out")
    report = "\n".join(f"{where}:\n  " + "\n  ".join(found) for where, found in audit.found.items())
    assert not audit.found, f"axe-core found violations:\n{report}"
    assert audit.sideways == {}, f"pages that scroll sideways at 390 px (their scrollWidth): {audit.sideways}"
    assert audit.pages_not_visited() == [], "pages axe never saw: visit them here, or name them in NOT_PAGES"
    print(f"axe: {len(audit.routes)} routes, {time.monotonic() - started:.0f} s")


# --- the hand checks (issue 15) ---------------------------------------------------------------------

RING = """el => { el.focus();
  const opaque = c => c && !/^rgba\\(.*,\\s*0\\)$/.test(c) && c !== 'transparent';
  let behind = 'rgb(255, 255, 255)';
  for (let node = el.parentElement; node; node = node.parentElement) {
    const c = getComputedStyle(node).backgroundColor; if (opaque(c)) { behind = c; break; } }
  const css = getComputedStyle(el), own = css.backgroundColor;
  return {focused: document.activeElement === el, style: css.outlineStyle, width: parseFloat(css.outlineWidth),
          ring: css.outlineColor, behind: behind, own: opaque(own) ? own : null}; }"""


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two CSS rgb()/rgba() colours (alpha ignored: both opaque here)."""
    def luminance(css: str) -> float:
        channels = [int(float(v)) / 255 for v in re.findall(r"[\d.]+", css)[:3]]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_focus_ring_has_3_to_1_contrast_against_the_page_and_the_buttons(edition, page):
    """WCAG 1.4.11: a focused link, button and field of each service is ringed in a colour with at
    least 3:1 against what is behind the ring and against the control's own background."""
    page.context.clear_cookies()
    weak = []
    for svc, path in (("intake", "/signin"), ("review", "/signin"), ("notify", "/secretariat/signin")):
        page.goto(edition.urls[svc] + path)
        for selector in ("header a", "main form button[type=submit]", "main form input:not([type=hidden])",
                         "button.secondary"):
            if selector == "button.secondary" and not page.locator(selector).count():
                continue  # the language switch's button: not on the staff pages
            ring = page.locator(selector).first.evaluate(RING)
            assert ring["focused"] and ring["style"] != "none" and ring["width"] >= 2, (svc, selector, ring)
            for against in filter(None, (ring["behind"], ring["own"])):
                if contrast(ring["ring"], against) < 3:
                    weak.append(f"{svc} {path} {selector}: {ring['ring']} on {against} is "
                                f"{contrast(ring['ring'], against):.2f}:1")
    assert weak == [], "focus rings under 3:1:\n" + "\n".join(weak)


LEADERBOARD_CELLS = """() => {
  const width = window.innerWidth, found = [];
  document.querySelectorAll('h3 + table').forEach(table => {
    if (!/leaderboard/.test(table.previousElementSibling.textContent)) return;
    const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
    table.querySelectorAll('tbody tr').forEach(tr => [...tr.cells].forEach((td, i) => {
      const box = td.getBoundingClientRect();
      found.push({column: heads[i], label: td.dataset.label || '', text: td.textContent.trim(),
                  shown: box.width > 0 && box.height > 0 && box.left >= 0 && box.right <= width + 0.5});
    }));
  });
  return found; }"""


def test_the_leaderboard_keeps_every_column_on_a_phone(edition, page):
    """At 390 px the review secretariat's leaderboards stack their rows as cards: every cell of
    every row is on the screen (nothing cut off or scrolled away) and names its column."""
    sign_in(page, edition, "intake", "/staff/signin", STAFF, "/secretariat")
    page.set_viewport_size(PHONE)
    try:
        for normalise, columns in (("0", 7), ("1", 9)):  # raw means; normalised, with two more columns
            page.goto(edition.urls["review"] + f"/secretariat?call={edition.call_id}&normalise={normalise}")
            cells = page.evaluate(LEADERBOARD_CELLS)
            assert len({c["column"] for c in cells}) == columns, cells
            assert len(cells) == 5 * columns, cells  # finalist round: 2 + 1 rows; award round: 1 + 1
            assert [c for c in cells if not c["shown"]] == [], "cells off the screen at 390 px"
            assert [c for c in cells if c["label"] != c["column"]] == [], "cells not named by their column"
            width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width <= inner, f"the dashboard scrolls sideways: {width} px"
        browser.screenshot(page, "leaderboard-phone")
    finally:
        page.set_viewport_size(DESKTOP)


def test_the_guest_list_and_the_staff_tables_do_not_scroll_sideways_on_a_phone(edition, page):
    """At 390 px intake's guest list (an answer with a long URL and passport numbers in it), the
    staff list and the personal tokens fit the screen: their rows stack as cards."""
    sign_in(page, edition, "intake", "/staff/signin", STAFF, "/secretariat")
    page.set_viewport_size(PHONE)
    sideways = {}
    try:
        for path, shows in ((f"/secretariat/calls/{edition.call_id}/guests", "Ayşe Yılmaz"),
                            ("/secretariat/staff", "Kim Min-ji"), ("/secretariat/tokens", "monthly export script")):
            page.goto(edition.urls["intake"] + path)
            assert shows in page.locator("main table").inner_text(), path
            scroll_width, width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll_width > width:
                sideways[path] = scroll_width
    finally:
        page.set_viewport_size(DESKTOP)
    assert sideways == {}, f"pages wider than the 390 px screen (their scrollWidth): {sideways}"
