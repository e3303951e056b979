"""The assignment under construction (assignment.assign's state, by index: applications 0..n-1,
jurors 0..m-1): adding pairs, augmenting paths (step 2), lifting a light juror (step 3) and the
load-preserving expertise improvements (step 4). Plain data, no I/O."""
from __future__ import annotations

from collections import deque


class State:
    """The assignment under construction, by index: apps 0..n-1, jurors 0..m-1."""

    def __init__(self, n: int, m: int, allowed: list[list[bool]], expert: list[list[bool]],
                 hard_cap: list[int], app_cat: list[int], juror_cats: list[list[int]], n_cats: int):
        self.n, self.m = n, m
        self.allowed, self.expert, self.hard_cap = allowed, expert, hard_cap
        self.app_cat, self.juror_cats = app_cat, juror_cats
        # Indexes for step 4, kept only while it runs (see index_for_expertise).
        self.held_nonexpert: list[set[int]] | None = None
        self.held_by_cat: list[list[set[int]]] | None = None
        self.n_cats = n_cats
        self.on = [[False] * m for _ in range(n)]       # on[a][j]: j reviews a
        self.fixed = [[False] * m for _ in range(n)]    # given in `existing`: never moved
        self.of_app: list[list[int]] = [[] for _ in range(n)]
        self.of_juror: list[list[int]] = [[] for _ in range(m)]
        self.load = [0] * m

    def add(self, a: int, j: int) -> None:
        self.on[a][j] = True
        self.of_app[a].append(j)
        self.of_juror[j].append(a)
        self.load[j] += 1
        if self.held_by_cat is not None:
            self._index(a, j, True)

    def remove(self, a: int, j: int) -> None:
        self.on[a][j] = False
        self.of_app[a].remove(j)
        self.of_juror[j].remove(a)
        self.load[j] -= 1
        if self.held_by_cat is not None:
            self._index(a, j, False)

    def _index(self, a: int, j: int, present: bool) -> None:
        if self.fixed[a][j]:
            return
        groups = [self.held_by_cat[j][self.app_cat[a]]]
        if not self.expert[a][j]:
            groups.append(self.held_nonexpert[j])
        for group in groups:
            if present:
                group.add(a)
            else:
                group.discard(a)

    def cap(self, j: int, level: int) -> int:
        return min(self.hard_cap[j], level)

    # -- step 2: augmenting paths for an application still short of jurors ---------------
    def augment_app(self, a0: int, level: int) -> tuple[bool, set[int], set[int]]:
        """One more juror for application a0, shifting others along a path if needed.

        Returns (found, apps reached, jurors reached); the reached sets explain a failure.
        """
        parent_j: dict[int, int] = {}      # juror → the application that reached it
        parent_a: dict[int, int] = {a0: -1}  # application → the juror it would be moved from
        queue = deque([a0])
        while queue:
            a = queue.popleft()
            on_a, allowed_a = self.on[a], self.allowed[a]
            for j in range(self.m):
                if j in parent_j or on_a[j] or not allowed_a[j]:
                    continue
                parent_j[j] = a
                if self.load[j] < self.cap(j, level):
                    self._apply_app_path(j, parent_j, parent_a)
                    return True, set(parent_a), set(parent_j)
                for b in self.of_juror[j]:
                    if b not in parent_a and not self.fixed[b][j]:
                        parent_a[b] = j
                        queue.append(b)
        return False, set(parent_a), set(parent_j)

    def _apply_app_path(self, j: int, parent_j: dict[int, int], parent_a: dict[int, int]) -> None:
        # j takes application a; a gives up the juror it was reached through, who takes the
        # previous application on the path, and so on back to a0 (which gains one juror).
        while True:
            a = parent_j[j]
            self.add(a, j)
            previous = parent_a[a]
            if previous < 0:
                return
            self.remove(a, previous)
            j = previous

    # -- step 3: move load from heavy to light jurors --------------------------------------
    def lift(self, u: int) -> bool:
        """Give juror u one more application, taken (along a path) from a juror ≥ 2 heavier."""
        need = self.load[u] + 2
        parent: dict[int, tuple[int, int]] = {u: (-1, -1)}  # juror y → (juror x, app a): x takes a from y
        queue = deque([u])
        while queue:
            x = queue.popleft()
            for a in range(self.n):
                if self.on[a][x] or not self.allowed[a][x]:
                    continue
                for y in self.of_app[a]:
                    if y in parent or self.fixed[a][y]:
                        continue
                    parent[y] = (x, a)
                    if self.load[y] >= need:
                        while y != u:
                            x, a = parent[y]
                            self.remove(a, y)
                            self.add(a, x)
                            y = x
                        return True
                    queue.append(y)
        return False

    # -- step 4: more expert pairs at the same loads ---------------------------------------
    def improve_expertise(self, rounds: int = 3) -> None:
        n, m = self.n, self.m
        self.held_nonexpert = [set() for _ in range(m)]
        self.held_by_cat = [[set() for _ in range(self.n_cats)] for _ in range(m)]
        for a in range(n):
            for j in self.of_app[a]:
                self._index(a, j, True)
        for _ in range(rounds):
            changed = False
            for a in range(n):
                expert_a = self.expert[a]
                for j in list(self.of_app[a]):
                    if expert_a[j] or self.fixed[a][j]:
                        continue
                    if self._improve_pair(a, j, expert_a, m):
                        changed = True
            if not changed:
                return

    def _improve_pair(self, a: int, j: int, expert_a: list[bool], m: int) -> bool:
        on_a, allowed_a = self.on[a], self.allowed[a]
        for e in range(m):
            if not expert_a[e] or on_a[e] or not allowed_a[e]:
                continue
            # A plain move keeps the balance when the receiver is strictly lighter.
            if self.load[e] < self.load[j] and self.load[e] < self.hard_cap[e]:
                self.remove(a, j)
                self.add(a, e)
                return True
            # A swap: e hands one of its applications b to j, and takes a from j. The gain
            # 1 + expert(b, j) − expert(b, e) is positive when e is no expert on b or j is one:
            # only those b are looked at.
            pools = [self.held_nonexpert[e]] + [self.held_by_cat[e][c] for c in self.juror_cats[j]]
            for b in (b for pool in pools for b in pool):
                if self.on[b][j] or not self.allowed[b][j]:
                    continue
                if 1 + self.expert[b][j] - self.expert[b][e] > 0:
                    self.remove(a, j)
                    self.remove(b, e)
                    self.add(a, e)
                    self.add(b, j)
                    return True
        return False
