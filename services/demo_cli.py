"""``prize demo``: a sample 2026 edition, and one sign-in link for each person a newcomer may be.

The edition goes into intake (services/intake/demo.py) and, once the submitted applications have
reached review through the broker, review screens them, invites two jurors and assigns the
finalist round (services/review/demo.py). Then the command prints a sign-in link for the admin,
a secretariat member, a juror and two applicants. The links are the ones a sign-in request
makes (one use, 15 minutes), handed to the terminal instead of the mailbox; ``--links`` prints
fresh ones later. With ``PRIZE_ENV=production`` no link is printed.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click

# Who to be, in the order printed: (role, service, email, what to try).
PEOPLE = [
    ("admin", "intake", "secretariat@wego-cities.org",
     "Staff (top bar) to invite a colleague; Editions for the 2026 call, its applications and funnel"),
    ("secretariat", "intake", "jiwon.park@wego-cities.org",
     "Review (top bar): the finalist round's progress and its jurors; Emails: every email sent so far"),
    ("juror", "review", "soojin.kim@jury.demo.example.kr",
     "open an assigned application, score each criterion (it saves as you type) and submit"),
    ("applicant", "intake", "mei.lin@kcg.demo.example.tw",
     "Kaohsiung, in Korean: the submitted application's status, its PDF, and the language switch"),
    ("applicant", "intake", "zofia.wisniewska@lublin.demo.example.pl",
     "Lublin: start a second application, upload a PDF, preview and submit it"),
]
REVIEW_WAIT = 60.0  # seconds for the submitted applications to reach review while the services run


@dataclass
class Person:
    role: str
    name: str
    email: str
    url: str | None
    hint: str


def _settings():
    from services.cli import _settings as load
    return load()


def _production() -> bool:
    return os.environ.get("PRIZE_ENV", "").strip().lower() == "production"


@click.command()
@click.option("--links", "links_only", is_flag=True,
              help="only print fresh sign-in links for the demo's people (each works once, within 15 minutes)")
def demo(links_only):
    """Load a sample 2026 edition (the call, six cities met at the Smart City Summit and Expo 2023,
    drafts, submissions, jurors with assignments) and print a sign-in link for each person to be.

    Safe to run again: nothing is added twice. Run it while `make run` is going, so that the
    events flow on to review and notify."""
    from services.cli import _service_module
    from shared.migrations import upgrade
    settings = _settings()
    if _production() and links_only:
        click.echo("demo: sign-in links are never printed with PRIZE_ENV=production", err=True)
        sys.exit(1)
    apps = {}
    try:
        for service in ("intake", "review"):
            upgrade(service, settings.database_url(service))
            apps[service] = _service_module(service).create_app(settings=settings)
        if not links_only:
            _load(settings, apps)
        _print_links(settings, apps)
    finally:
        for app in apps.values():
            app.extensions["prize"]["db"].dispose()


def _load(settings, apps) -> None:
    from services.intake.demo import DemoError, ensure_demo_staff, load_demo
    from services.review.demo import ReviewDemoError, load_review_demo, wait_for_applications
    try:
        counts = load_demo(apps["intake"])
        added = ensure_demo_staff(apps["intake"].extensions["prize"]["db"])
    except DemoError as exc:
        click.echo(f"demo: {exc}", err=True)
        sys.exit(1)
    click.echo(f"demo: call {counts['call']} open; {counts['applicants']} applicants, "
               f"{counts['drafts']} drafts, {counts['submitted']} submitted; {counts['prospects']} prospects "
               f"met at the Smart City Summit and Expo 2023, {counts['invited']} invited to apply")
    for member in added:
        click.echo(f"demo: staff {member['role']} {member['email']} added")
    from services.processes import answers_ok
    review_url = settings.service_url("review")
    if not answers_ok(f"{review_url}/healthz"):
        click.echo(f"demo: review does not answer at {review_url}, so it has not heard of the applications: "
                   "start the services (make run), then run prize demo again for the jurors")
        return
    known = wait_for_applications(apps["review"], counts["call"], counts["submitted"], REVIEW_WAIT)
    if known < counts["submitted"]:
        click.echo(f"demo: review knows {known} of the {counts['submitted']} submitted applications after "
                   f"{REVIEW_WAIT:.0f} s: run prize demo again in a moment for the jurors")
        return
    try:
        done = load_review_demo(apps["review"], counts["call"])
    except ReviewDemoError as exc:
        click.echo(f"demo: {exc}", err=True)
        sys.exit(1)
    click.echo(f"demo: review: {done['applications']} applications screened eligible, {done['jurors']} jurors, "
               "the finalist round assigned")


def people(apps) -> list[Person]:
    """The demo's people with a fresh one-time sign-in link each (None where they do not exist yet)."""
    from services.intake.demo import APPLICANTS, applicant_link
    from services.intake.ops import staff as staff_ops
    from services.review.demo import JURORS, juror_link
    found = []
    intake_db = apps["intake"].extensions["prize"]["db"]
    settings = apps["intake"].extensions["prize"]["settings"]
    names = {m["email"]: m["name"] for m in staff_ops.members(intake_db)}
    for role, service, email, hint in PEOPLE:
        if role in ("admin", "secretariat"):
            link = staff_ops.printed_link(intake_db, email, "prize demo", settings.public_url)
            url, name = (link.url if link else None), names.get(email, email)
        elif role == "juror":
            url = juror_link(apps["review"], email)
            name = next(j["name"] for j in JURORS if j["email"] == email)
        else:
            url = applicant_link(apps["intake"], email)
            person = next(p for p, *_ in APPLICANTS if p["contact_email"] == email)
            name = f"{person['contact_name']}, {person['organisation']}"
        found.append(Person(role, name, email, url, hint))
    return found


def _print_links(settings, apps) -> None:
    from services.processes import prize_command
    if _production():
        click.echo("demo: with PRIZE_ENV=production no sign-in link is printed; people ask for theirs at "
                   f"{settings.public_url}/signin and {settings.public_url}/staff/signin")
        return
    click.echo("\nBe one of these people: open a link in a browser (each signs in once, within 15 minutes; "
               f"{prize_command()} demo --links prints fresh ones)")
    for person in people(apps):
        click.echo(f"\n  {person.role:<12} {person.name}")
        click.echo(f"  {'':<12} {person.url or '(not there yet: run prize demo while make run is going)'}")
        click.echo(f"  {'':<12} try: {person.hint}")
    click.echo(f"\nEmails sent so far: {prize_command()} mail (the embedded stack's mailbox); services: {settings.public_url}, "
               f"{settings.service_url('review')}, {settings.service_url('notify')}")
