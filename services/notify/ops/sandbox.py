"""The sandbox the secretariat's stored templates run in: Jinja's immutable sandbox, plus a budget.

Jinja's sandbox keeps a template away from Python's internals, not from the CPU or the memory:
``'%030000000d' % 1``, ``|center(30000000)``, a string doubled in a namespace or a loop nested in
a loop are all plain Jinja. A stored template is rendered for every email of its edition, by the
worker and, on save and preview, by a web thread, so each render gets a :class:`Budget`:

* every value an expression makes (an operator's, a filter's, a call's result, a literal list,
  a ``~`` join) is measured, nested containers counted through, and refused beyond
  :data:`MAX_VALUE` characters or items; an integer beyond :data:`MAX_INT_BITS`;
* what would be expensive to make at all is refused before it is made: a padding or precision
  above :data:`MAX_WIDTH` (``%`` and ``|format``, ``str.format``, ``center``/``ljust``/``rjust``/
  ``zfill``, ``strftime``), ``expandtabs`` above :data:`MAX_TABSIZE`, a ``replace``, ``join``
  or ``indent`` whose result would pass :data:`MAX_VALUE`, ``|batch``/``|slice`` above
  :data:`MAX_BATCH`, a ``range()`` above :data:`MAX_RANGE`; ``translate`` and ``lipsum`` are gone;
* all loops together take at most :data:`MAX_LOOP_STEPS` steps, all output (also what macros and
  ``{% set %}`` blocks collect) at most :data:`MAX_OUTPUT` characters, and the whole render at
  most :data:`RENDER_SECONDS`: checked at every loop step, output, operator, filter, call and
  attribute, so the clock is read long before any single operation (each bounded above) ends.

Loops, outputs, ``~`` and literals have no hook in Jinja's sandbox, so the parsed template is
rewritten (:class:`_Instrument`) to pass them through filters with names no template can write.
"""
from __future__ import annotations

import functools
import inspect
from datetime import date, datetime
from datetime import time as time_of_day

from jinja2 import nodes, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from .sandbox_budget import (  # noqa: F401 (RENDER_SECONDS, TooCostly, budget: this module's API)
    RENDER_SECONDS, MAX_OUTPUT, MAX_VALUE, MAX_MADE, MAX_LOOP_STEPS, MAX_RANGE, MAX_WIDTH, MAX_TABSIZE,
    MAX_BATCH, MAX_INT_BITS, MAX_REPEAT, MAX_EXPONENT, TooCostly, Budget, budget, _spend, _measure,
    _text_length, _joined_length, _width, _digits, _printf, _format_spec, _STRFTIME)


# --- str, bytes and int methods called from a template ----------------------------------------------

def _arg(args, kwargs, index: int, name: str, default=None):
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _replaced_length(s, old, new, count) -> int:
    if not isinstance(old, type(s)) or not isinstance(new, type(s)):
        return len(s)  # the call fails by itself
    found = len(s) + 1 if not old else s.count(old)
    if isinstance(count, int) and 0 <= count < found:
        found = count
    return len(s) + found * (len(new) - len(old))


def _check_method(obj, args, kwargs):
    """Refuse before it runs a call of a str, bytes or int method that would make too much;
    returns the arguments to call with (an iterable to join is read once, here)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, (str, bytes)):
        if name in ("center", "ljust", "rjust", "zfill"):
            _width(f".{name}()", _arg(args, kwargs, 0, "width"))
        elif name == "expandtabs":
            _width(".expandtabs()", _arg(args, kwargs, 0, "tabsize", 8), MAX_TABSIZE, "tab size")
        elif name == "replace":
            if _replaced_length(owner, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"),
                                _arg(args, kwargs, 2, "count", -1)) > MAX_VALUE:
                raise TooCostly(f".replace(): the result would pass {MAX_VALUE} characters")
        elif name == "join" and args:
            parts = list(_counted_steps(_spend(), args[0]))
            _joined_length(".join()", parts, len(owner))
            return (parts, *args[1:]), kwargs
        elif name in ("translate", "maketrans"):
            raise SecurityError(f".{name}() is not allowed in a stored template")
    elif isinstance(owner, int) and name == "to_bytes":
        _width(".to_bytes()", _arg(args, kwargs, 0, "length", 1), MAX_VALUE, "length")
    elif isinstance(owner, (date, datetime, time_of_day)) and name == "strftime":
        fmt = _arg(args, kwargs, 0, "format", "")
        for n in _STRFTIME.findall(fmt if isinstance(fmt, str) else ""):
            _digits(".strftime()", n)
    return args, kwargs


# --- filters ------------------------------------------------------------------------------------

def _check_indent(a):
    s, width = a.get("s", ""), a.get("width", 4)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if isinstance(s, str) and len(s) + (s.count("\n") + 1) * max(pad, 0) > MAX_VALUE:
        raise TooCostly(f"|indent({width!r}): the result would pass {MAX_VALUE} characters")


def _check_replace(a):
    s = a.get("s")
    s = s if isinstance(s, str) else str(s)
    old, new = a.get("old"), a.get("new")
    if _replaced_length(s, str(old), str(new), a.get("count")) > MAX_VALUE:
        raise TooCostly(f"|replace: the result would pass {MAX_VALUE} characters")


def _check_join(a):
    value = a.get("value")
    parts = list(_counted_steps(_spend(), value)) if value is not None else []
    d = a.get("d", "")
    _joined_length("|join", parts if a.get("attribute") is None else [""] * len(parts), len(str(d)))
    a["value"] = parts


def _check_wordwrap(a):
    s, width = a.get("s", ""), a.get("width", 79)
    wrap = a.get("wrapstring") or "\n"
    if isinstance(s, str) and isinstance(width, int):
        if len(s) + (len(s) // max(width, 1) + 1) * len(wrap) > MAX_VALUE:
            raise TooCostly(f"|wordwrap: the result would pass {MAX_VALUE} characters")


def _check_sum(a):
    start = a.get("start", 0)
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        raise TooCostly("|sum adds numbers only (start must be a number)")


def _check_urlize(a):
    for name in ("target", "rel"):
        if isinstance(a.get(name), str) and len(a[name]) > 200:
            raise TooCostly(f"|urlize: a {name} of more than 200 characters")


_FILTER_CHECKS = {
    "center": lambda a: _width("|center", a.get("width", 80)),
    "format": lambda a: _printf(a["value"]) if isinstance(a.get("value"), str) else None,
    "indent": _check_indent,
    "replace": _check_replace,
    "join": _check_join,
    "wordwrap": _check_wordwrap,
    "batch": lambda a: _width("|batch", a.get("linecount"), MAX_BATCH, "size"),
    "slice": lambda a: _width("|slice", a.get("slices"), MAX_BATCH, "count"),
    "tojson": lambda a: _width("|tojson", a.get("indent"), MAX_TABSIZE, "indent"),
    "sum": _check_sum,
    "urlize": _check_urlize,
}


def _guard_filter(name: str, func):
    check = _FILTER_CHECKS.get(name)
    signature = inspect.signature(func) if check else None
    kinds = {p.kind: n for n, p in signature.parameters.items()} if signature else {}
    var_positional = kinds.get(inspect.Parameter.VAR_POSITIONAL)
    var_keyword = kinds.get(inspect.Parameter.VAR_KEYWORD)

    @functools.wraps(func)  # keeps jinja_pass_arg: the filter gets its context as before
    def guarded(*args, **kwargs):
        spent = _spend()
        if check is not None:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)  # in the signature's order, all before any *args
            positional = arguments.pop(var_positional, ()) if var_positional else ()
            extra = arguments.pop(var_keyword, {}) if var_keyword else {}
            check(arguments)  # may replace an argument (an iterable read once, into a list)
            args, kwargs = (*arguments.values(), *positional), dict(extra)
        result = func(*args, **kwargs)
        _measure(result, spent)
        return result

    return guarded


# --- what the rewritten template calls ------------------------------------------------------------

def _counted_steps(spent: Budget, iterable):
    for item in iterable:
        spent.step()
        yield item


@pass_eval_context  # never folded at compile time: it must run at each render
def _loop(eval_ctx, iterable):
    return _counted_steps(_spend(), iterable)


@pass_eval_context
def _output(eval_ctx, value):
    _spend().write(_text_length(value))
    return value


@pass_eval_context
def _concat(eval_ctx, parts):
    _spend().make(_joined_length("~", parts))
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


@pass_eval_context
def _literal(eval_ctx, value):
    _measure(value, _spend())
    return value


# Names with a space: the lexer cannot read them, so no template can call these itself.
_LOOP, _OUTPUT, _CONCAT, _LITERAL = "prize loop", "prize output", "prize concat", "prize literal"


def _wrap(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Send every loop's iterable, every output, every ``~`` and every literal container through
    the budget's filters."""

    def visit_Output(self, node):
        self.generic_visit(node)
        # the template's own text is counted too (it repeats in loops), and stays unescaped
        node.nodes = [nodes.MarkSafeIfAutoescape(_wrap(child, _OUTPUT), lineno=child.lineno)
                      if isinstance(child, nodes.TemplateData) else _wrap(child, _OUTPUT)
                      for child in node.nodes]
        return node

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _wrap(node.iter, _LOOP)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return _wrap(nodes.List(node.nodes, lineno=node.lineno), _CONCAT)

    def visit_List(self, node):
        self.generic_visit(node)
        return _wrap(node, _LITERAL)

    def visit_Dict(self, node):
        self.generic_visit(node)
        return _wrap(node, _LITERAL)

    def visit_Tuple(self, node):
        self.generic_visit(node)
        return _wrap(node, _LITERAL) if node.ctx == "load" else node


def _range(*args):
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise TooCostly(f"range() of {len(found)} items (at most {MAX_RANGE})")
    return found


class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox without list or dict changes in place (a list extended by itself doubles
    without any operator), with every operator, filter, call and attribute on the budget."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self, **options):
        super().__init__(**options)
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.filters.update({_LOOP: _loop, _OUTPUT: _output, _CONCAT: _concat, _LITERAL: _literal})
        self.globals["range"] = _range
        self.globals.pop("lipsum", None)

    def _parse(self, source, name, filename):
        # Jinja's one parsing step (parse() and compile() both call it): the rewrite goes here
        tree = _Instrument().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def call_binop(self, context, operator, left, right):
        spent = _spend()
        if operator == "**" and isinstance(right, (int, float)) and not isinstance(right, bool):
            if abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed in a stored template")
            if isinstance(left, int) and right > 0 and left.bit_length() * right > MAX_INT_BITS:
                raise TooCostly(f"a number of more than {MAX_INT_BITS * 3 // 10} digits")
        elif operator == "*":
            for a, b in ((left, right), (right, left)):
                if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > MAX_REPEAT:
                    raise SecurityError(f"repeating text beyond {MAX_REPEAT} characters is not allowed "
                                        "in a stored template")
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TooCostly(f"a number of more than {MAX_INT_BITS * 3 // 10} digits")
        elif operator == "%" and isinstance(left, (str, bytes)):
            _printf(left if isinstance(left, str) else left.decode("latin-1"))
        elif operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            if len(left) + len(right) > MAX_VALUE:
                raise TooCostly(f"a value of {len(left) + len(right)} characters or items (at most {MAX_VALUE})")
        result = super().call_binop(context, operator, left, right)
        _measure(result, spent)
        return result

    def call(self, context, obj, /, *args, **kwargs):  # positional-only: a call may pass any keyword
        spent = _spend()
        args, kwargs = _check_method(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        _measure(result, spent)
        return result

    def getattr(self, obj, attribute):
        _spend()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        _spend()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _format_spec(value.__self__)
        return wrapped
