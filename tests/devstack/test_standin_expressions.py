"""Grafana's server-side expressions in the stand-in: math with label joins, reduce, threshold and
its recovery threshold. Pure logic, no servers."""

import math

import pytest

from devstack.grafana_standin.expressions import (
    ExpressionError,
    Number,
    Series,
    binary_op,
    evaluate_math,
    label_key,
    parse_math,
    reduce_values,
    threshold,
)


def calc(text, **values):
    return evaluate_math(parse_math(text), values)


def num(value, **labels):
    return Number(labels, value)


def by_labels(values):
    return {tuple(sorted(v.labels.items())): v.value for v in values}


@pytest.mark.parametrize("text,expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("2 ** 3", 8), ("-2 + 5", 3), ("7 % 4", 3),
    ("abs(-4)", 4), ("3 > 2 && 1 < 2", 1), ("0 || 0", 0), ("!0", 1), ("2 >= 2", 1),
    ("round(2.5)", 3), ("round(-2.5)", -3), ("floor(-1.5)", -2), ("ceil(1.2)", 2),
    ("10 / 4 - 1", 1.5), ("1 == 1", 1), ("1 != 1", 0),
])
def test_math_on_constants(text, expected):
    [result] = calc(text)
    assert result.value == expected


def test_division_by_zero_gives_go_floats_not_an_error():
    assert math.isnan(calc("0 / 0")[0].value)
    assert calc("1 / 0")[0].value == math.inf
    assert calc("-1 / 0")[0].value == -math.inf
    assert math.isnan(binary_op("%", 1, 0))


def test_nan_propagates_through_math_even_comparisons():
    assert math.isnan(calc("$A + 1", A=[num(float("nan"))])[0].value)
    assert math.isnan(calc("$A > 3", A=[num(float("nan"))])[0].value)
    assert calc("$A || 1", A=[num(float("nan"))])[0].value == 1, "|| short-circuits first"
    assert calc("is_nan($A)", A=[num(float("nan"))])[0].value == 1
    assert calc("is_null($A)", A=[num(None)])[0].value == 1
    assert calc("$A + 1", A=[num(None)])[0].value is None


def test_numbers_join_by_equal_labels():
    a = [num(10, device="x"), num(20, device="y")]
    b = [num(1, device="x"), num(2, device="y"), num(3, device="z")]
    assert by_labels(calc("$A - $B", A=a, B=b)) == {
        (("device", "x"),): 9, (("device", "y"),): 18}


def test_a_label_subset_joins_and_keeps_the_larger_set():
    a = [num(10, device="x", measurement="pv")]
    b = [num(4, device="x")]
    [result] = calc("$A - $B", A=a, B=b)
    assert result.labels == {"device": "x", "measurement": "pv"} and result.value == 6


def test_different_values_of_one_label_do_not_join():
    assert calc("$A - $B", A=[num(1, device="x"), num(2, device="y")],
                B=[num(1, device="z"), num(1, device="w")]) == []


def test_one_value_on_each_side_joins_whatever_the_labels():
    [result] = calc("$A - $B", A=[num(5, device="x")], B=[num(1, device="y")])
    assert result.value == 4 and result.labels == {}


def test_a_constant_joins_every_value():
    assert by_labels(calc("$A * 2", A=[num(1, device="x"), num(2, device="y")])) == {
        (("device", "x"),): 2, (("device", "y"),): 4}


def test_series_with_a_number_and_series_with_series():
    pv = [Series({"device": "x"}, [(1000, 48.0), (2000, 53.0)])]
    sp = [num(50, device="x")]
    [deviation] = calc("abs($SP - $PV)", SP=sp, PV=pv)
    assert deviation.points == [(1000, 2.0), (2000, 3.0)]
    other = [Series({"device": "x"}, [(2000, 1.0), (3000, 1.0)])]
    [joined] = calc("$A + $B", A=pv, B=other)
    assert joined.points == [(2000, 54.0)], "points that do not share a time are dropped"


def test_no_data_on_one_side_gives_no_data():
    assert calc("$A - $B", A=[num(1, device="x")], B=[]) == []


@pytest.mark.parametrize("text,problem", [
    ("$A +", "expected more"), ("median($A)", "function 'median'"), ("$A $B", "unexpected"),
    ("2 # 3", "cannot read"), ("(1 + 2", "expected )"),
])
def test_math_refuses_what_it_cannot_read(text, problem):
    with pytest.raises(ExpressionError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_math(text)


def test_math_names_an_undefined_variable():
    with pytest.raises(ExpressionError, match=r"\$B is not defined"):
        calc("$A + ${B}", A=[num(1)])


def series(*values, **labels):
    return Series(labels, [(i * 1000, v) for i, v in enumerate(values)])


@pytest.mark.parametrize("values,reducer,mode,expected", [
    ((1, 2, 3), "mean", "", 2), ((1, 2, 3), "sum", "", 6), ((4, 1, 3), "min", "", 1),
    ((4, 1, 3), "max", "", 4), ((4, 1, 3), "last", "", 3), ((4, 1), "count", "", 2),
    ((), "mean", "", "nan"), ((), "count", "", 0), ((), "last", "", "nan"),
    ((1, None, 3), "mean", "", "nan"), ((1, float("nan")), "max", "", "nan"),
    ((1, None, 3), "mean", "dropNN", 2), ((1, math.inf, 3), "max", "dropNN", 3),
    ((), "mean", "dropNN", None), ((1, None), "sum", "replaceNN", 1),
], ids=["mean", "sum", "min", "max", "last", "count", "empty mean", "empty count",
        "empty last", "strict null", "strict nan", "dropNN null", "dropNN inf",
        "dropNN empty", "replaceNN"])
def test_reduce_follows_grafanas_modes(values, reducer, mode, expected):
    [number] = reduce_values([series(*values, device="x")], reducer, mode, replace_with=0)
    assert number.labels == {"device": "x"}
    if expected == "nan":
        assert math.isnan(number.value)
    else:
        assert number.value == expected


@pytest.mark.parametrize("value,evaluator,params,expected", [
    (76, "gt", (75,), 1), (75, "gt", (75,), 0), (75, "gte", (75,), 1), (1, "lt", (2,), 1),
    (2, "lte", (2,), 1), (3, "eq", (3,), 1), (3, "ne", (3,), 0),
    (5, "within_range", (1, 10), 1), (10, "within_range", (1, 10), 0),
    (10, "within_range_included", (1, 10), 1), (5, "outside_range", (1, 10), 0),
    (98, "outside_range", (2, 98), 0), (98, "outside_range_included", (2, 98), 1),
    (2, "outside_range_included", (2, 98), 1), (float("nan"), "gt", (75,), 0),
    (float("nan"), "outside_range", (-3, 3), 0), (math.inf, "gt", (75,), 1),
    (None, "gt", (1,), None),
], ids=str)
def test_threshold(value, evaluator, params, expected):
    [result] = threshold([num(value, device="x")], evaluator, params)
    assert result.value == expected and result.labels == {"device": "x"}


def test_the_recovery_threshold_applies_to_loaded_dimensions_only():
    values = [num(72, device="was-firing"), num(72, device="was-normal"),
              num(69, device="recovered")]
    loaded = {label_key({"device": "was-firing"}), label_key({"device": "recovered"})}
    result = threshold(values, "gt", (75,), unload=("lt", (70,)), loaded=loaded)
    assert by_labels(result) == {(("device", "was-firing"),): 1, (("device", "was-normal"),): 0,
                                 (("device", "recovered"),): 0}
