"""Who reviews what: conflicts of interest and a balanced juror assignment (plain data, no I/O).

`assign` gives every application exactly k distinct jurors, never a conflicted one, keeps the
pairs already made by hand, respects each juror's max_load, balances the loads and prefers
jurors whose expertise names the application's category. It is a flow problem, solved in
four deterministic steps (jurors and applications are handled by their position in the input,
never by iterating a set of strings, so the same input always gives the same answer):

1. cap: the lowest load cap L any solution could have (water-filling the k·n slots over the
   jurors' own limits) is where the search starts.
2. feasible: a greedy pass (most constrained applications first; each takes its least loaded
   jurors, an expert counting as EXPERT_SLACK loads lighter) and then, for every application
   still short, an augmenting path (application → juror it could have → an application that
   juror holds → another juror it could move to … → a juror under the cap), as in max-flow.
   When no path exists L goes up by one; when L reaches every juror's own limit the request is
   Infeasible, and the reachable part of the graph names the culprits (Hall's condition).
3. balance: while some juror u sits two or more below another one it could take work from, move
   one unit along an alternating path u ← application ← juror … ← juror with load ≥ load(u)+2.
   With L minimal and no such path left, max − min ≤ 1 whenever an assignment with max − min ≤ 1
   exists (an alternating path in the symmetric difference with that assignment would
   otherwise exist).
4. expertise: load-preserving improvements: move an application from a non-expert to an expert
   with a strictly lower load, or swap two applications between two jurors, whenever the number
   of expert pairs grows. Balance ranks before expertise.

Conflicts: same country (ISO code), same organisation (case and whitespace-insensitive), same
email domain (exact, or one a subdomain of the other; public webmail domains such as gmail.com
or naver.com are ignored: sharing one says nothing about an affiliation), and every
(juror_id, application_id) pair the jurors declared.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .flow import State

# An expert counts this many loads lighter in the greedy pass: experts are preferred, but not
# so much that the balancing step must undo the greedy's choices.
EXPERT_SLACK = 1

# Domains anyone can sign up for: a shared one is no sign of a common employer.
PUBLIC_EMAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "yahoo.com", "yahoo.co.jp", "yahoo.co.kr", "icloud.com", "me.com", "mac.com", "aol.com",
    "proton.me", "protonmail.com", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com",
    "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "sina.com",
    "naver.com", "daum.net", "hanmail.net", "kakao.com", "nate.com", "zoho.com",
    "fastmail.com", "tutanota.com", "rediffmail.com", "uol.com.br", "bol.com.br",
    "wp.pl", "o2.pl", "interia.pl", "onet.pl", "libero.it", "orange.fr", "free.fr",
})


@dataclass(frozen=True)
class Juror:
    id: str
    country: str
    organisation: str
    email: str
    expertise: frozenset[str] = frozenset()
    max_load: int | None = None


@dataclass(frozen=True)
class Candidate:
    """An application as assignment sees it."""
    id: str
    category: str
    country: str
    organisation: str
    contact_email: str


@dataclass
class Assignment:
    pairs: dict[str, list[str]]          # application id → its k juror ids (existing first, then input order)
    loads: dict[str, int]                # juror id → applications (every juror, zeros too)
    load_cap: int = 0                    # the highest load any juror was allowed (step 1-2's L)
    expert_pairs: int = 0                # pairs where the juror's expertise names the category


class Infeasible(Exception):
    """No complete assignment exists; details says why (lists of ids, plain data)."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


def _norm_text(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def _domain(email: str | None) -> str:
    email = (email or "").strip().casefold()
    return email.rsplit("@", 1)[1].strip(".") if "@" in email else ""


def _same_domain(a: str, b: str) -> bool:
    if not a or not b or a in PUBLIC_EMAIL_DOMAINS or b in PUBLIC_EMAIL_DOMAINS:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


def conflicts(juror: Juror, application: Candidate) -> list[str]:
    """The automatic conflict reasons between a juror and an application ([] when none)."""
    reasons = []
    country = _norm_text(juror.country)
    if country and country == _norm_text(application.country):
        reasons.append("same country")
    organisation = _norm_text(juror.organisation)
    if organisation and organisation == _norm_text(application.organisation):
        reasons.append("same organisation")
    if _same_domain(_domain(juror.email), _domain(application.contact_email)):
        reasons.append("same email domain")
    return reasons


def _lowest_cap(total: int, hard_caps: Sequence[int], floors: Sequence[int]) -> int:
    """The smallest L with Σ max(floor_j, min(cap_j, L)) ≥ total (floors: existing loads)."""
    lo = 0
    hi = max([*hard_caps, *floors, 0])
    if sum(max(f, c) for f, c in zip(floors, hard_caps)) < total:
        return hi
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(max(f, min(c, mid)) for f, c in zip(floors, hard_caps)) >= total:
            hi = mid
        else:
            lo = mid + 1
    return lo


def assign(applications: Sequence[Candidate], jurors: Sequence[Juror], k: int, *,
           declared: Iterable[tuple[str, str]] = (),
           existing: Mapping[str, Sequence[str]] | None = None) -> Assignment:
    """Give every application exactly k non-conflicted jurors, loads balanced (see module doc).

    declared: (juror_id, application_id) conflicts the jurors declared.
    existing: application id → juror ids already assigned (kept, counted in the loads; they
    must not be conflicted: a conflicted pair is reported as Infeasible, never kept silently).
    Raises Infeasible (nothing partial is returned) and ValueError for malformed input.
    """
    apps, people = list(applications), list(jurors)
    app_index, juror_index = _indexes(apps, people, k)
    state = _initial_state(apps, people, _declared_pairs(declared, app_index, juror_index))
    problems = _keep_existing(state, existing or {}, apps, people, app_index, juror_index)
    problems.update(_shortfalls(state, apps, people, k))
    if problems:
        raise Infeasible(_describe(problems, k), problems)
    level = _lowest_level(state, len(apps), k)  # step 1
    _fill(state, apps, people, k, level)  # step 2
    _balance(state)  # step 3
    state.improve_expertise()  # step 4: expertise at the same loads
    return _result(state, apps, people)


def _indexes(apps: list[Candidate], people: list[Juror], k: int) -> tuple[dict[str, int], dict[str, int]]:
    """Positions by id, after checking the input (ValueError when malformed)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    app_index = {a.id: i for i, a in enumerate(apps)}
    juror_index = {j.id: i for i, j in enumerate(people)}
    if len(app_index) != len(apps) or len(juror_index) != len(people):
        raise ValueError("application and juror ids must be unique")
    for j in people:
        if j.max_load is not None and j.max_load < 0:
            raise ValueError(f"juror {j.id}: max_load must not be negative")
    return app_index, juror_index


def _declared_pairs(declared, app_index: dict[str, int], juror_index: dict[str, int]) -> set[tuple[int, int]]:
    """(application, juror) positions of the declared conflicts among these people."""
    pairs = set()
    for juror_id, app_id in declared:
        if juror_id in juror_index and app_id in app_index:
            pairs.add((app_index[app_id], juror_index[juror_id]))
    return pairs


def _initial_state(apps: list[Candidate], people: list[Juror], declared_pairs: set[tuple[int, int]]) -> State:
    """Who may review what (no conflict), who is an expert of what, each juror's hard cap."""
    n, m = len(apps), len(people)
    # Precomputed normalised keys: 120,000 pairs are compared, not 120,000 times normalised.
    j_keys = [(_norm_text(p.country), _norm_text(p.organisation), _domain(p.email)) for p in people]
    j_expertise = [frozenset(_norm_text(e) for e in p.expertise) for p in people]
    allowed = [[True] * m for _ in range(n)]
    expert = [[False] * m for _ in range(n)]
    for a, app in enumerate(apps):
        country, organisation, domain = (_norm_text(app.country), _norm_text(app.organisation),
                                         _domain(app.contact_email))
        category = _norm_text(app.category)
        row, erow = allowed[a], expert[a]
        for j, (jc, jo, jd) in enumerate(j_keys):
            if ((jc and jc == country) or (jo and jo == organisation) or _same_domain(jd, domain)
                    or (a, j) in declared_pairs):
                row[j] = False
            erow[j] = category in j_expertise[j]

    hard_cap = [min(p.max_load if p.max_load is not None else n, sum(allowed[a][j] for a in range(n)))
                for j, p in enumerate(people)]
    categories = sorted({_norm_text(app.category) for app in apps})
    cat_index = {c: i for i, c in enumerate(categories)}
    app_cat = [cat_index[_norm_text(app.category)] for app in apps]
    juror_cats = [sorted(cat_index[c] for c in j_expertise[j] if c in cat_index) for j in range(m)]
    return State(n, m, allowed, expert, hard_cap, app_cat, juror_cats, len(categories))


def _keep_existing(state: State, existing: Mapping[str, Sequence[str]], apps: list[Candidate],
                   people: list[Juror], app_index: dict[str, int], juror_index: dict[str, int]) -> dict:
    """Existing pairs: kept as given, checked. Returns the problems found (conflicted pairs)."""
    problems: dict[str, list] = {}
    for app_id, juror_ids in existing.items():
        if app_id not in app_index:
            raise ValueError(f"existing: unknown application {app_id}")
        a = app_index[app_id]
        for juror_id in juror_ids:
            if juror_id not in juror_index:
                raise ValueError(f"existing: unknown juror {juror_id}")
            j = juror_index[juror_id]
            if state.on[a][j]:
                continue
            if not state.allowed[a][j]:
                reasons = conflicts(people[j], apps[a]) or ["declared"]
                problems.setdefault("conflicted_existing", []).append(
                    {"application": app_id, "juror": juror_id, "reasons": reasons})
            state.add(a, j)
            state.fixed[a][j] = True
    return problems


def _shortfalls(state: State, apps: list[Candidate], people: list[Juror], k: int) -> dict:
    """Why no complete assignment can exist, before trying: too many kept, too few jurors."""
    n, m, hard_cap = len(apps), len(people), state.hard_cap
    problems: dict = {}
    over_k = [apps[a].id for a in range(n) if len(state.of_app[a]) > k]
    if over_k:
        problems["more_than_k_existing"] = over_k
    existing_over = [people[j].id for j in range(m)
                     if people[j].max_load is not None and state.load[j] > people[j].max_load]
    if existing_over:
        problems["existing_over_max_load"] = existing_over
    too_few = []
    for a in range(n):
        candidates = sum(1 for j in range(m) if (state.allowed[a][j] and hard_cap[j] > 0) or state.fixed[a][j])
        if candidates < k:
            too_few.append({"application": apps[a].id, "available_jurors": candidates})
    if too_few:
        problems["too_few_jurors"] = too_few
    total = n * k
    capacity = sum(max(state.load[j], hard_cap[j]) for j in range(m))
    if capacity < total:
        problems["capacity"] = {"needed": total, "available": capacity}
    return problems


def _lowest_level(state: State, n: int, k: int) -> int:
    """Step 1: the lowest cap that could work."""
    return max(1, _lowest_cap(n * k, state.hard_cap, state.load)) if n else 0


def _fill(state: State, apps: list[Candidate], people: list[Juror], k: int, level: int) -> None:
    """Step 2: greedy, most constrained applications first; then augmenting paths for the ones
    left short, raising the cap one at a time (a Hall violation once it cannot rise)."""
    n, m, allowed, expert = len(apps), len(people), state.allowed, state.expert
    top = max(state.hard_cap + state.load + [0])
    order = sorted(range(n), key=lambda a: (sum(allowed[a]), a))
    for a in order:
        missing = k - len(state.of_app[a])
        if missing <= 0:
            continue
        on_a, expert_a, allowed_a = state.on[a], expert[a], allowed[a]
        candidates = [(state.load[j] - (EXPERT_SLACK if expert_a[j] else 0), j) for j in range(m)
                      if allowed_a[j] and not on_a[j] and state.load[j] < state.cap(j, level)]
        for _, j in heapq.nsmallest(missing, candidates):
            state.add(a, j)

    short = [a for a in order if len(state.of_app[a]) < k]
    while short:
        still = []
        last_reach: tuple[set[int], set[int]] = (set(), set())
        for a in short:
            while len(state.of_app[a]) < k:
                found, apps_reached, jurors_reached = state.augment_app(a, level)
                if not found:
                    still.append(a)
                    last_reach = (apps_reached, jurors_reached)
                    break
        short = still
        if short:
            if level >= top:
                raise _hall_violation(short, last_reach, apps, people, state, k)
            level += 1


def _balance(state: State) -> None:
    """Step 3: move work from the heaviest jurors to lighter ones while a move helps."""
    hard_cap = state.hard_cap
    stuck: set[int] = set()
    while True:
        lighter = [j for j in range(state.m) if j not in stuck and state.load[j] < hard_cap[j]]
        if not lighter:
            break
        heaviest = max(state.load)
        u = min(lighter, key=lambda j: (state.load[j], j))
        if state.load[u] + 2 > heaviest:
            break
        if not state.lift(u):
            stuck.add(u)


def _result(state: State, apps: list[Candidate], people: list[Juror]) -> Assignment:
    pairs = {}
    for a, app in enumerate(apps):
        fixed = [j for j in state.of_app[a] if state.fixed[a][j]]
        new = sorted(j for j in state.of_app[a] if not state.fixed[a][j])
        pairs[app.id] = [people[j].id for j in fixed + new]
    loads = {p.id: state.load[j] for j, p in enumerate(people)}
    experts = sum(1 for a in range(len(apps)) for j in state.of_app[a] if state.expert[a][j])
    return Assignment(pairs=pairs, loads=loads, load_cap=max(state.load, default=0), expert_pairs=experts)


def _describe(problems: dict, k: int) -> str:
    parts = []
    if "conflicted_existing" in problems:
        parts.append("existing pairs are conflicted: " + ", ".join(
            f"{p['juror']} on {p['application']} ({', '.join(p['reasons'])})"
            for p in problems["conflicted_existing"][:5]))
    if "more_than_k_existing" in problems:
        parts.append(f"applications already have more than k={k} jurors: "
                     + ", ".join(problems["more_than_k_existing"][:5]))
    if "existing_over_max_load" in problems:
        parts.append("existing pairs exceed max_load of jurors: " + ", ".join(problems["existing_over_max_load"][:5]))
    if "too_few_jurors" in problems:
        items = problems["too_few_jurors"]
        parts.append(f"{len(items)} application(s) have fewer than k={k} non-conflicted jurors: " + ", ".join(
            f"{p['application']} ({p['available_jurors']})" for p in items[:5]) + (" …" if len(items) > 5 else ""))
    if "capacity" in problems:
        c = problems["capacity"]
        parts.append(f"max loads too small: {c['needed']} reviews needed, jurors can take {c['available']}")
    if "overloaded_group" in problems:
        g = problems["overloaded_group"]
        parts.append(f"applications {', '.join(g['applications'][:5])}{' …' if len(g['applications']) > 5 else ''} "
                     f"need {g['needed']} more reviews but their only non-conflicted jurors "
                     f"({', '.join(g['jurors'][:8])}{' …' if len(g['jurors']) > 8 else ''}) are at their max loads")
    return "; ".join(parts)


def _hall_violation(short, reach, apps, people, state: State, k: int) -> Infeasible:
    """Name a group of applications whose possible jurors cannot take them all (Hall)."""
    apps_reached, jurors_reached = reach
    group = sorted(apps_reached | set(short))
    needed = sum(k - len(state.of_app[a]) for a in short)
    details = {"overloaded_group": {
        "applications": [apps[a].id for a in group],
        "jurors": [people[j].id for j in sorted(jurors_reached)],
        "needed": needed,
        "short": [apps[a].id for a in short],
    }}
    return Infeasible(_describe(details, k), details)
