"""The budget of one render of a stored template (see sandbox.py): its limits, the Budget each
render gets, and the measures of values, widths and format strings checked against them."""
from __future__ import annotations

import re
import string
import time
from contextlib import contextmanager
from contextvars import ContextVar

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

RENDER_SECONDS = 2.0       # one render: the subject and text, or the HTML, of one email
MAX_OUTPUT = 500_000       # characters written in one render, buffered ones included
MAX_VALUE = 200_000        # characters (or items, nested ones counted) of one value
MAX_MADE = 5_000_000       # characters (or items) of all the values one render makes
MAX_LOOP_STEPS = 100_000   # steps of all loops of one render together
MAX_RANGE = 10_000         # items of one range()
MAX_WIDTH = 1_000          # a padding or a precision
MAX_TABSIZE = 16
MAX_BATCH = 1_000          # |batch and |slice
MAX_INT_BITS = 10_000      # about 3000 digits
MAX_REPEAT = 10_000        # characters or items of a text or list repeated with *
MAX_EXPONENT = 64


class TooCostly(SecurityError):
    """The template would take more time or memory than one email may."""


class Budget:
    __slots__ = ("seconds", "deadline", "steps", "written", "made")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.steps = 0
        self.written = 0
        self.made = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooCostly(f"it takes longer than {self.seconds:g} s to render")

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_LOOP_STEPS:
            raise TooCostly(f"its loops run more than {MAX_LOOP_STEPS} steps")
        if not self.steps % 64:
            self.tick()

    def write(self, n: int) -> None:
        self.written += n
        if self.written > MAX_OUTPUT:
            raise TooCostly(f"it writes more than {MAX_OUTPUT} characters of output")
        self.tick()

    def make(self, n: int) -> None:
        # each value is bounded; this bounds them together (values a |map makes one by one, say)
        self.made += n
        if self.made > MAX_MADE:
            raise TooCostly(f"it makes values of more than {MAX_MADE} characters in all")


_budget: ContextVar[Budget | None] = ContextVar("prize_template_budget", default=None)


@contextmanager
def budget(seconds: float | None = None):
    """Render stored templates inside this: each gets RENDER_SECONDS (read when it starts)."""
    token = _budget.set(Budget(RENDER_SECONDS if seconds is None else seconds))
    try:
        yield
    finally:
        _budget.reset(token)


def _spend() -> Budget:
    found = _budget.get()
    if found is None:
        # also how Jinja's constant folding at compile time is kept from running anything costly
        raise TooCostly("a stored template runs only inside a render budget")
    found.tick()
    return found


# --- measuring ----------------------------------------------------------------------------------

def _measure(value, spent: Budget) -> None:
    """Refuse a value larger than MAX_VALUE, nested containers counted through (a list holding
    the same big list twice counts it twice, as printing it would), or an integer too long."""
    if isinstance(value, str):
        if len(value) > MAX_VALUE:
            raise TooCostly(f"a value of {len(value)} characters (at most {MAX_VALUE})")
        spent.make(len(value))
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise TooCostly(f"a number of more than {MAX_INT_BITS * 3 // 10} digits")
        return
    if not isinstance(value, (list, tuple, set, frozenset, dict, Namespace, bytes)):
        return
    total, pending = 0, [value]
    while pending:  # a cycle (a namespace holding itself) only adds up, so this ends
        item = pending.pop()
        total += len(item) if isinstance(item, (str, bytes)) else 1
        if isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, Namespace):
            pending.append(dict(item._Namespace__attrs))  # its only storage
        elif isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > MAX_INT_BITS:
            raise TooCostly(f"a number of more than {MAX_INT_BITS * 3 // 10} digits")
        if total > MAX_VALUE:
            raise TooCostly(f"a value of more than {MAX_VALUE} characters or items")
    spent.make(total)


def _text_length(value) -> int:
    return len(value) if isinstance(value, str) else len(str(value))


def _joined_length(what: str, parts, separator_length: int = 0) -> int:
    """The length of the parts joined, stopping as soon as it passes MAX_VALUE."""
    total = 0
    for i, part in enumerate(parts):
        total += _text_length(part) + (separator_length if i else 0)
        if total > MAX_VALUE:
            raise TooCostly(f"{what}: the result would pass {MAX_VALUE} characters")
    return total


def _width(what: str, value, limit: int = MAX_WIDTH, noun: str = "width") -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > limit:
        shown = str(value) if value.bit_length() < 64 else "a number that long"
        raise TooCostly(f"{what}: a {noun} of {shown} is above {limit}")


def _digits(what: str, digits: str) -> None:
    """A width written in a format; compared as text first (int() refuses 4300 digits and more)."""
    if len(digits.lstrip("0")) > len(str(MAX_WIDTH)) or int(digits) > MAX_WIDTH:
        shown = digits if len(digits) <= 12 else digits[:12] + "…"
        raise TooCostly(f"{what}: a width of {shown} is above {MAX_WIDTH}")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)", re.DOTALL)
_STRFTIME = re.compile(r"%[-_0^#:]*(\d+)")


def _printf(fmt: str) -> None:
    for width, precision, _ in _PRINTF.findall(fmt):
        for n in (width, precision):
            if n == "*":
                raise TooCostly(f"{fmt[:60]!r}: a width taken from the arguments (*) is not allowed")
            if n:
                _digits(repr(fmt[:60]), n)


def _format_spec(fmt: str) -> None:
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # the call fails by itself
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TooCostly(f"{fmt[:60]!r}: a width taken from the arguments ({{…}}) is not allowed")
        for n in re.findall(r"\d+", spec):
            _digits(repr(fmt[:60]), n)

