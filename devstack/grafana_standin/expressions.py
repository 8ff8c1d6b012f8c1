"""Grafana's server-side expressions as alert rules use them: math, reduce and threshold.

Follows Grafana's `pkg/expr` (mathexp): every step yields a list of values, each a `Series`
(labels, points) or a `Number` (labels, value); a constant is a Number without labels. An empty
list is "no data". Binary operations join the values of both sides by labels as Grafana does:
equal label sets match, a value without labels matches everything, and a label set matches one
that contains it (the result takes the larger set); a lone value on each side matches regardless.
Series with series are joined on equal timestamps; points that do not share a time are dropped.

Arithmetic follows Go's floats: `x / 0` is +-Inf, `0 / 0` is NaN, any NaN operand gives NaN, and
every comparison with NaN is false. A threshold therefore never fires on NaN (a flat signal's
z-score is 0/0), but +Inf is above every threshold: guard a division whose divisor can be zero
(the anomaly rules add a floor to the deviation).
"""

import math
import re
from dataclasses import dataclass, field

REDUCERS = ("sum", "mean", "min", "max", "count", "last")
REDUCE_MODES = ("", "dropNN", "replaceNN")
PREDICATES = {
    "gt": (1, lambda v, p: v > p[0]),
    "lt": (1, lambda v, p: v < p[0]),
    "eq": (1, lambda v, p: v == p[0]),
    "ne": (1, lambda v, p: v != p[0]),
    "gte": (1, lambda v, p: v >= p[0]),
    "lte": (1, lambda v, p: v <= p[0]),
    "within_range": (2, lambda v, p: p[0] < v < p[1]),
    "outside_range": (2, lambda v, p: v < p[0] or v > p[1]),
    "within_range_included": (2, lambda v, p: p[0] <= v <= p[1]),
    "outside_range_included": (2, lambda v, p: v <= p[0] or v >= p[1]),
}
NAN = float("nan")


class ExpressionError(ValueError):
    """The expression cannot be evaluated (Grafana reports it as an execution error)."""


@dataclass
class Series:
    labels: dict
    points: list = field(default_factory=list)  # [(time ms, float or None)]


@dataclass
class Number:
    labels: dict
    value: object = None  # float or None


def label_key(labels):
    return frozenset((labels or {}).items())


# ---- math ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""\s*(?:
    (?P<var>\$\{[^}]+\}|\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op>\*\*|==|!=|>=|<=|&&|\|\||[-+*/%<>!(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
)""", re.VERBOSE)
_BINARY_LEVELS = [("||",), ("&&",), ("==", "!=", ">", "<", ">=", "<="), ("+", "-"),
                  ("*", "/", "%"), ("**",)]


def _round_half_away(x):
    return math.copysign(math.floor(abs(x) + 0.5), x)


FUNCTIONS = {
    "abs": abs,
    "log": lambda x: math.log(x) if x > 0 else (-math.inf if x == 0 else NAN),
    "ceil": lambda x: x if math.isinf(x) else float(math.ceil(x)),
    "floor": lambda x: x if math.isinf(x) else float(math.floor(x)),
    "round": lambda x: x if math.isinf(x) else _round_half_away(x),
    "is_nan": lambda x: float(math.isnan(x)),
    "is_inf": lambda x: float(math.isinf(x)),
    "is_number": lambda x: float(math.isfinite(x)),
    "is_null": lambda x: 0.0,
}


def parse_math(text):
    """Parse a math expression into a tree; raises ExpressionError naming the problem."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"math: cannot read {text[position:]!r}")
        position = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "var":
            value = value[2:-1] if value.startswith("${") else value[1:]
        tokens.append((kind, value))
    parser = _Parser(tokens, text)
    tree = parser.expression(0)
    if parser.position != len(tokens):
        raise ExpressionError(f"math: unexpected {tokens[parser.position][1]!r} in {text!r}")
    return tree


class _Parser:
    def __init__(self, tokens, text):
        self.tokens, self.position, self.text = tokens, 0, text

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self, wanted=None):
        kind, value = self.peek()
        if kind is None or (wanted is not None and value != wanted):
            raise ExpressionError(f"math: expected {wanted or 'more'} in {self.text!r}")
        self.position += 1
        return kind, value

    def expression(self, level):
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.expression(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _BINARY_LEVELS[level]:
            _, op = self.take()
            left = ("binary", op, left, self.expression(level + 1))
        return left

    def unary(self):
        kind, value = self.peek()
        if kind == "op" and value in ("-", "!"):
            self.take()
            return ("unary", value, self.unary())
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == "num":
            return ("number", float(value))
        if kind == "var":
            return ("var", value)
        if kind == "op" and value == "(":
            inner = self.expression(0)
            self.take(")")
            return inner
        if kind == "name":
            if value not in FUNCTIONS:
                raise ExpressionError(f"math: function {value!r} is not implemented "
                                      f"(implemented: {sorted(FUNCTIONS)})")
            self.take("(")
            argument = self.expression(0)
            self.take(")")
            return ("call", value, argument)
        raise ExpressionError(f"math: unexpected {value!r} in {self.text!r}")


def variables(tree):
    """The refIds a math tree reads."""
    if tree[0] == "var":
        return {tree[1]}
    return set().union(*(variables(node) for node in tree[2:] if isinstance(node, tuple)))


def evaluate_math(tree, values):
    """Evaluate a parsed math tree; `values` maps refId -> list of Series/Number."""
    kind = tree[0]
    if kind == "number":
        return [Number({}, tree[1])]
    if kind == "var":
        if tree[1] not in values:
            raise ExpressionError(f"math: ${tree[1]} is not defined")
        return values[tree[1]]
    if kind == "unary":
        return [_map(v, v.labels, lambda x, op=tree[1]: unary_op(op, x))
                for v in evaluate_math(tree[2], values)]
    if kind == "call":
        function = FUNCTIONS[tree[1]]
        if tree[1] == "is_null":
            return [_map(v, v.labels, function, on_null=1.0)
                    for v in evaluate_math(tree[2], values)]
        return [_map(v, v.labels, function) for v in evaluate_math(tree[2], values)]
    op, left, right = tree[1], evaluate_math(tree[2], values), evaluate_math(tree[3], values)
    return [_binary(op, labels, a, b) for labels, a, b in union(left, right)]


def union(left, right):
    """Pairs (labels, a, b) of values whose labels are compatible, as Grafana joins them."""
    pairs = []
    if not left or not right:
        return pairs
    for a in left:
        for b in right:
            la, lb = a.labels or {}, b.labels or {}
            if la == lb or not la or not lb:
                labels = la or lb
            elif len(la) == len(lb):
                continue
            elif la.items() >= lb.items():
                labels = la
            elif lb.items() >= la.items():
                labels = lb
            else:
                continue
            pairs.append((dict(labels), a, b))
    if not pairs and len(left) == 1 and len(right) == 1:
        pairs.append(({}, left[0], right[0]))
    return pairs


def _map(value, labels, function, on_null=None):
    def apply(x):
        return on_null if x is None else function(x)
    if isinstance(value, Series):
        return Series(dict(labels), [(t, apply(x)) for t, x in value.points])
    return Number(dict(labels), apply(value.value))


def _binary(op, labels, a, b):
    def apply(x, y):
        return None if x is None or y is None else binary_op(op, x, y)
    if isinstance(a, Series) and isinstance(b, Series):
        right = dict(b.points)
        return Series(labels, [(t, apply(x, right[t])) for t, x in a.points if t in right])
    if isinstance(a, Series):
        return Series(labels, [(t, apply(x, b.value)) for t, x in a.points])
    if isinstance(b, Series):
        return Series(labels, [(t, apply(a.value, y)) for t, y in b.points])
    return Number(labels, apply(a.value, b.value))


def unary_op(op, x):
    if math.isnan(x):
        return NAN
    if op == "-":
        return -x
    return 1.0 if x == 0 else 0.0


def binary_op(op, a, b):
    """One binary operation with Go's float semantics (Grafana's mathexp)."""
    if op == "||" and a != 0:
        return 1.0
    if op == "&&" and a == 0:
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return NAN
    if op in ("==", "!=", ">", "<", ">=", "<=", "||", "&&"):
        return float({"==": a == b, "!=": a != b, ">": a > b, "<": a < b, ">=": a >= b,
                      "<=": a <= b, "||": a != 0 or b != 0, "&&": a != 0 and b != 0}[op])
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        if b == 0:
            return NAN if a == 0 else math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if op == "%":
        return math.fmod(a, b) if b != 0 and not math.isinf(a) else NAN
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:
        return NAN


# ---- reduce ----------------------------------------------------------------------------------

def reduce_values(values, reducer, mode="", replace_with=None):
    """Grafana's reduce expression: each series becomes a number with the same labels.

    Strict mode (the default) gives NaN when any point is null or NaN; `dropNN` drops null, NaN
    and Inf points first; `replaceNN` replaces them with `replace_with`.
    """
    reduced = []
    for value in values:
        if isinstance(value, Number):
            number = value.value
        else:
            points = [x for _, x in value.points]
            if mode == "dropNN":
                points = [x for x in points if x is not None and math.isfinite(x)]
            elif mode == "replaceNN":
                points = [x if x is not None and math.isfinite(x) else replace_with
                          for x in points]
            number = _reduce(points, reducer)
        if mode == "dropNN" and number is not None and math.isnan(number):
            number = None
        elif mode == "replaceNN" and (number is None or math.isnan(number)):
            number = replace_with
        reduced.append(Number(dict(value.labels), number))
    return reduced


def _reduce(points, reducer):
    if reducer == "count":
        return float(len(points))
    if reducer == "last":
        return points[-1] if points else NAN
    if any(x is None or math.isnan(x) for x in points):
        return NAN
    if reducer == "sum":
        return float(sum(points))
    if reducer == "mean":
        return sum(points) / len(points) if points else NAN
    if not points:
        return NAN
    return float(min(points) if reducer == "min" else max(points))


# ---- threshold -------------------------------------------------------------------------------

def threshold(values, evaluator, params, unload=None, loaded=frozenset()):
    """Grafana's threshold expression: 1 where the predicate holds, 0 where not.

    With a recovery threshold (`unload`, Grafana's unloadEvaluator), a value whose labels are in
    `loaded` (the dimensions that met the condition at the previous evaluation) stays 1 until
    the unload predicate holds.
    """
    result = []
    for value in values:
        if unload is not None and label_key(value.labels) in loaded:
            kind, limits, invert = unload[0], unload[1], True
        else:
            kind, limits, invert = evaluator, params, False
        predicate = PREDICATES[kind][1]

        def apply(x, predicate=predicate, limits=limits, invert=invert):
            if x is None:
                return None
            return 1.0 if predicate(x, limits) != invert else 0.0
        result.append(_map(value, value.labels, apply))
    return result
