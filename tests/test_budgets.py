"""Budgets (issue 8): max_params, max_trainable, max_params_unshared and max_layer_params, from the
spec's `budget:` and from options (`analyze(..., limits=...)`); the stricter counts, every budget
exceeded is reported with where it was written; sizes as people type them."""

import textwrap

import pytest

from paramcount import SpecError, analyze, load_preset, load_text, parse_size
from paramcount.analyze import BUDGET_KEYS, Budget

# Every total differs: a frozen layer (trainable < params), BatchNorm's buffers, and a conv2d, whose
# count without weight sharing (a kernel per output position) differs from its own.
BODY = """\
    layers:
      - {type: conv2d, name: conv, filters: 4, kernel_size: 3}
      - {type: batchnorm, name: bn}
      - {type: flatten}
      - {type: dense, name: fc, units: 10, trainable: false}
      - {type: dense, name: out, units: 2}
"""
PLAIN = "input: [3, 8, 8]\n" + textwrap.dedent(BODY)


def spec_with(budget_lines):
    """The spec with a block-style budget, one key a line from line 3 on."""
    lines = "".join(f"  {k}: {v}\n" for k, v in budget_lines.items())
    return load_text("input: [3, 8, 8]\nbudget:\n" + lines + textwrap.dedent(BODY), "spec.yaml")


def values():
    report = analyze(load_text(PLAIN))
    t = report.totals
    return {"max_params": t.params, "max_trainable": t.trainable, "max_params_unshared": t.params_unshared,
            "max_layer_params": report.largest_layer()[0]}


def test_the_fixture_tells_the_budgets_apart():
    v = values()
    assert len(set(v.values())) == 4
    assert analyze(load_text(PLAIN)).largest_layer() == (v["max_layer_params"], "fc")


@pytest.mark.parametrize("key", BUDGET_KEYS)
@pytest.mark.parametrize("offset, within", [(1, True), (0, True), (-1, False)])
@pytest.mark.parametrize("origin", ["spec", "option"])
def test_each_budget_under_at_and_over(key, offset, within, origin):
    value = values()[key]
    limit = value + offset
    if origin == "spec":
        report = analyze(spec_with({key: limit}))
    else:
        report = analyze(load_text(PLAIN, "spec.yaml"), limits={key: limit})
    [budget] = report.budgets
    assert isinstance(budget, Budget)
    assert (budget.key, budget.limit, budget.value, budget.within) == (key, limit, value, within)
    assert budget.layer == ("fc" if key == "max_layer_params" else None)
    assert (budget.mark is not None) == (origin == "spec")
    if origin == "spec":
        assert (budget.mark.line + 1, budget.mark.column + 1) == (3, 3 + len(key) + 2)
    assert report.within is within
    doc = report.to_dict()["budget"]
    assert doc[key] == limit and doc["within"] is within
    assert all(doc[k] is None for k in BUDGET_KEYS if k != key)
    # max_params keeps its old attributes
    assert report.max_params == (limit if key == "max_params" else None)
    assert (report.budget_mark is not None) == (key == "max_params" and origin == "spec")


def test_every_exceeded_budget_is_reported_each_at_its_line():
    v = values()
    report = analyze(spec_with({k: v[k] - 1 for k in BUDGET_KEYS}))
    assert [(b.key, b.within, b.mark.line + 1) for b in report.budgets] == [
        ("max_params", False, 3), ("max_trainable", False, 4), ("max_params_unshared", False, 5),
        ("max_layer_params", False, 6)]
    assert report.within is False
    assert report.budget_mark.line + 1 == 3


def test_budgets_keep_the_key_order_whatever_the_spec_order():
    v = values()
    report = analyze(spec_with({"max_layer_params": v["max_layer_params"], "max_params": v["max_params"] - 1}))
    assert [(b.key, b.within, b.mark.line + 1) for b in report.budgets] == [
        ("max_params", False, 4), ("max_layer_params", True, 3)]
    assert report.within is False


def test_one_over_among_several_within():
    v = values()
    report = analyze(load_text(PLAIN), limits={"max_params": v["max_params"], "max_trainable": v["max_trainable"] - 1})
    assert [b.within for b in report.budgets] == [True, False] and report.within is False


@pytest.mark.parametrize("mine, theirs, limit, from_spec", [
    (100, 50, 50, False), (50, 100, 50, True), (70, 70, 70, True)])
@pytest.mark.parametrize("key", BUDGET_KEYS)
def test_the_stricter_of_spec_and_option_counts(key, mine, theirs, limit, from_spec):
    report = analyze(spec_with({key: mine}), limits={key: theirs})
    [budget] = report.budgets
    assert budget.limit == limit and (budget.mark is not None) == from_spec


def test_max_params_argument_and_limits_together():
    report = analyze(spec_with({"max_params": 10_000}), 9_000, limits={"max_params": 8_000})
    assert report.max_params == 8_000 and report.budget_mark is None
    report = analyze(spec_with({"max_params": 7_000}), 9_000, limits={"max_params": 8_000})
    assert report.max_params == 7_000 and report.budget_mark is not None


def test_unknown_limit_keys_are_refused():
    with pytest.raises(ValueError, match="max_layers"):
        analyze(load_text(PLAIN), limits={"max_layers": 3})


def test_json_budget_keys_in_order():
    report = analyze(load_text(PLAIN))
    assert report.budgets == [] and report.within is True
    assert report.to_dict()["budget"] == {"max_params": None, "max_trainable": None, "max_params_unshared": None,
                                          "max_layer_params": None, "within": True}
    report = analyze(spec_with({"max_layer_params": 1, "max_trainable": "1M"}))
    doc = report.to_dict()["budget"]
    assert list(doc) == [*BUDGET_KEYS, "within"]
    assert doc == {"max_params": None, "max_trainable": 1_000_000, "max_params_unshared": None,
                   "max_layer_params": 1, "within": False}


def test_flow_style_marks_point_at_each_value():
    spec = load_text("input: [4]\nbudget: {max_params: 10, max_layer_params: 5}\nlayers:\n"
                     "  - {type: dense, units: 3, name: x}\n", "spec.yaml")
    report = analyze(spec)
    assert [(b.key, b.mark.line + 1, b.mark.column + 1, b.value, b.within, b.layer) for b in report.budgets] == [
        ("max_params", 2, 22, 15, False, None), ("max_layer_params", 2, 44, 15, False, "x")]


# -- max_layer_params: one copy of the largest leaf -------------------------------------------------

BLOCKS = """\
input: [16]
blocks:
  mlp:
    args: {units: required}
    layers:
      - {type: dense, name: up, units: $units}
      - {type: dense, name: down, units: 16}
layers:
  - {type: dense, name: stem, units: 16}
  - {type: mlp, name: h, units: 64, repeat: 3}
  - {type: dense, name: head, units: 4}
"""


def test_max_layer_params_names_the_largest_layer_inside_a_repeated_block():
    report = analyze(load_text(BLOCKS), limits={"max_layer_params": 1000})
    [budget] = report.budgets
    # up: 16*64+64 = 1088 (one copy; three copies hold 3,264); down: 64*16+16 = 1040
    assert (budget.value, budget.layer, budget.within) == (1088, "h.0.up", False)
    assert report.totals.params == 16 * 16 + 16 + 3 * (1088 + 1040) + 16 * 4 + 4


@pytest.mark.parametrize("shared", [False, True])
def test_max_layer_params_counts_one_copy_of_a_repeated_leaf(shared):
    text = f"input: [8]\nlayers:\n  - {{type: dense, name: d, units: 8, repeat: 4, shared: {str(shared).lower()}}}\n"
    report = analyze(load_text(text), limits={"max_layer_params": 72})
    [budget] = report.budgets
    assert (budget.value, budget.layer, budget.within) == (72, "d", True)
    assert report.totals.params == (72 if shared else 4 * 72)


def test_max_layer_params_with_a_repeat_whose_shape_changes():
    text = "input: [4]\nlayers:\n  - {type: dense, name: d, units: 6, repeat: 3}\n"  # 4->6, then 6->6 twice
    [budget] = analyze(load_text(text), limits={"max_layer_params": 42}).budgets
    assert (budget.value, budget.layer, budget.within) == (42, "d.1", True)


def test_max_layer_params_first_of_equals():
    text = "input: [4]\nlayers:\n  - {type: dense, name: a, units: 4}\n  - {type: dense, name: b, units: 4}\n"
    assert analyze(load_text(text), limits={"max_layer_params": 20}).budgets[0].layer == "a"


def test_max_layer_params_on_a_preset_matches_the_largest_leaf():
    report = analyze(load_preset("lenet5"), limits={"max_layer_params": 48_000})
    [budget] = report.budgets
    largest = max(report.to_dict()["layers"], key=lambda d: d["params"])
    assert (budget.value, budget.layer) == (largest["params"], largest["name"]) == (48_120, "C5")
    assert budget.within is False


# -- the spec's budget mapping ----------------------------------------------------------------------


def errors_of(text):
    with pytest.raises(SpecError) as e:
        load_text(text, "spec.yaml")
    return [str(p) for p in e.value.problems]


def test_misspelt_budget_keys_are_named():
    assert errors_of("input: [4]\nbudget: {max_layer: 3, trainable: 5}\nlayers: [{type: relu}]\n") == [
        "spec.yaml:2:10: 'max_layer' is not a field of budget; did you mean 'max_layer_params'?",
        "spec.yaml:2:24: 'trainable' is not a field of budget; did you mean 'max_trainable'?"]


def test_every_bad_budget_value_is_reported():
    assert errors_of("input: [4]\nbudget:\n  max_trainable: lots\n  max_layer_params: 0\nlayers: [{type: relu}]\n") == [
        "spec.yaml:3:18: max_trainable 'lots' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000",
        "spec.yaml:4:21: max_layer_params must be a positive whole number like 61706, 60k or 1.5M, got 0"]


def test_an_empty_budget_still_needs_a_limit():
    assert errors_of("input: [3]\nbudget: {}\nlayers: [{type: relu}]\n") == [
        "spec.yaml:2:9: budget is missing 'max_params'"]


def test_a_budget_without_max_params():
    spec = load_text("input: [4]\nbudget: {max_trainable: 100}\nlayers: [{type: dense, units: 3}]\n")
    assert spec.max_params is None and spec.budget_mark is None
    report = analyze(spec)
    assert report.max_params is None and report.budget_mark is None and report.within is True


@pytest.mark.parametrize("written, limit", [
    ("133M", 133_000_000), ("1.5M", 1_500_000), ("60k", 60_000), ("7B", 7 * 10**9), ("1e8", 10**8),
    ("1.5e9", 1_500_000_000), ("1.5e+9", 1_500_000_000), ("1E3", 1000), ("100_000_000", 10**8),
    ('"100_000_000"', 10**8), ('"1.5e9"', 1_500_000_000), ("2.5e1", 25), ("61706", 61_706), ("0x10", 16)])
def test_sizes_in_the_spec(written, limit):
    spec = load_text(f"input: [4]\nbudget: {{max_params: {written}}}\nlayers: [{{type: relu}}]\n")
    assert spec.budgets["max_params"][0] == limit == spec.max_params


@pytest.mark.parametrize("written, message", [
    ("1.5", "must be a positive whole number like 61706, 60k or 1.5M, got 1.5 (a float)"),
    ("1.5e-1", "'1.5e-1' is not a whole number of parameters"),
    ("1.25e+1", "'1.25e+1' is not a whole number of parameters"),
    ("1e400", "'1e400' has more than 300 digits"),
    ('"1__0"', "'1__0' is not a size like 61706, 60k, 1.5M, 7B, 1e8 or 100_000_000"),  # unquoted, YAML's int 10
])
def test_sizes_refused_in_the_spec(written, message):
    assert errors_of(f"input: [4]\nbudget: {{max_params: {written}}}\nlayers: [{{type: relu}}]\n") == [
        f"spec.yaml:2:22: max_params {message}"]


ACCEPTED = [
    ("133M", 133_000_000), ("1.5M", 1_500_000), ("60k", 60_000), ("60K", 60_000), ("7B", 7 * 10**9),
    ("7G", 7 * 10**9), ("2T", 2 * 10**12), ("1e8", 10**8), ("1E8", 10**8), ("1.5e9", 1_500_000_000),
    ("1.5e+9", 1_500_000_000), ("150e-1", 15), ("100_000_000", 10**8), ("1_000.5k", 1_000_500),
    ("0.5k", 500), ("007", 7), ("1e0", 1), ("9" * 300, int("9" * 300)), ("1e299", 10**299)]
STRICT = [
    "", "abc", "-5", "+5", "1.5m", "1_", "_1", "1__0", "1_.5", "1._5", "1.", ".5", "1e", "1e+", "1e3k", "1k3",
    "1 000", " 5k", "5k ", "5\n", "٥", "１", "1e٣", "1,000", "1.5.5", "e8", "1ee8", "0x10", "1kk", "inf", "nan"]


@pytest.mark.parametrize("text, value", ACCEPTED)
def test_parse_size_accepts_what_people_type(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text, why", [
    ("1.5e-1", "is not a whole number of parameters"), ("15e-1", "is not a whole number of parameters"),
    ("1.2345k", "is not a whole number of parameters"), ("1.5", "is not a whole number of parameters"),
    ("1e-999", "is not a whole number of parameters"),
    ("0", "must be more than zero"), ("0k", "must be more than zero"), ("0e5", "must be more than zero"),
    ("0.0", "must be more than zero"),
    ("1e300", "has more than 300 digits"), ("1e999999999", "has more than 300 digits"),
    ("9" * 301, "has more than 300 digits"), ("1e" + "0" * 300 + "1", "has more than 300 digits"),
    ("9" * 290 + "T", "has more than 300 digits"),
])
def test_parse_size_refuses_with_a_reason(text, why):
    with pytest.raises(ValueError, match=why):
        parse_size(text)


@pytest.mark.parametrize("text", STRICT)
def test_parse_size_stays_strict(text):
    with pytest.raises(ValueError, match=r"is not a size like 61706, 60k, 1\.5M, 7B, 1e8 or 100_000_000"):
        parse_size(text)


def test_the_schema_takes_the_sizes_parse_size_reads():
    """The spec schema's size pattern is parse_size's own: what it reads matches, what it never reads does not."""
    import jsonschema

    from paramcount.schema import spec_schema

    validator = jsonschema.Draft202012Validator(spec_schema())

    def valid(budget):
        return validator.is_valid({"input": [4], "layers": [{"type": "relu"}], "budget": budget})

    for key in BUDGET_KEYS:
        assert valid({key: "1e8"}) and valid({key: "100_000_000"}) and valid({key: 1_500_000_000})
        assert not valid({key: "1__0"}) and not valid({key: "1.5m"}) and not valid({key: 0})
    assert not valid({}) and not valid({"max_layer": 3})
    for text, _ in ACCEPTED:
        assert valid({"max_params": text}), text
    for text in STRICT:
        assert not valid({"max_params": text}), text
