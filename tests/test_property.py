"""Property-based tests: random valid specs against the torch oracle, random broken ones against
the error contract.

Each property runs PARAMCOUNT_EXAMPLES examples (300 by default, as in CI). CI's runs are
derandomized, so they are reproducible; set PARAMCOUNT_EXAMPLES=5000 (or more) for a longer,
randomly seeded search on your machine.
"""

import json
import os
import re
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from paramcount import SpecError, analyze, load_text
from paramcount.layers import ANY_LAYER_FIELD, REGISTRY

EXAMPLES = int(os.environ.get("PARAMCOUNT_EXAMPLES", "300"))
PROFILE = settings(
    max_examples=EXAMPLES,
    derandomize="PARAMCOUNT_EXAMPLES" not in os.environ,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
OUTCOMES = Counter()  # of the random valid-looking specs: counted by both, refused by both
ERROR_LINE = re.compile(r"^[^\n]+:\d+:\d+: \S[^\n]*$")

pytestmark = [pytest.mark.filterwarnings("ignore:Failed to initialize NumPy"),
              pytest.mark.filterwarnings("ignore:Using padding='same'")]


# -- random valid-looking specs -------------------------------------------------------------
# The generator does not track shapes, so some specs are invalid (a kernel larger than its
# input, groups that do not divide): then torch must refuse them too.

small = st.integers(1, 4)


def per_axis(nd, values):
    return st.one_of(values, st.lists(values, min_size=nd, max_size=nd))


def conv(nd):
    return st.fixed_dictionaries(
        {"type": st.just(f"conv{nd}d"), "filters": st.sampled_from([1, 2, 4, 6]), "kernel_size": per_axis(nd, small)},
        optional={
            "stride": per_axis(nd, st.integers(1, 3)),
            "padding": st.one_of(per_axis(nd, st.integers(0, 2)), st.sampled_from(["valid", "same"])),
            "dilation": per_axis(nd, st.integers(1, 2)),
            "groups": st.sampled_from([1, 2]),
            "bias": st.booleans(),
            "weight_sharing": st.booleans(),
            "activation": st.sampled_from(["relu", "tanh", "gelu"]),
            "trainable": st.booleans(),
        },
    )


def pool(nd):
    return st.fixed_dictionaries(
        {"type": st.sampled_from([f"maxpool{nd}d", f"avgpool{nd}d"]), "kernel_size": per_axis(nd, small)},
        optional={
            "stride": per_axis(nd, st.integers(1, 3)),
            "padding": st.one_of(per_axis(nd, st.integers(0, 2)), st.sampled_from(["valid", "same"])),
            "ceil_mode": st.booleans(),
        },
    )


def conv_transpose(nd):
    return st.fixed_dictionaries(
        {"type": st.just(f"conv{nd}d_transpose"), "filters": st.sampled_from([1, 2, 4]), "kernel_size": per_axis(nd, small)},
        optional={
            "stride": per_axis(nd, st.integers(1, 3)),
            "padding": per_axis(nd, st.integers(0, 2)),
            "output_padding": per_axis(nd, st.integers(0, 2)),
            "dilation": per_axis(nd, st.integers(1, 2)),
            "groups": st.sampled_from([1, 2]),
            "bias": st.booleans(),
        },
    )


def depthwise():
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["depthwise_conv2d", "separable_conv2d"]), "kernel_size": per_axis(2, small)},
        optional={
            "filters": st.sampled_from([1, 3]),  # required by separable, unknown to depthwise
            "depth_multiplier": st.integers(1, 2),
            "stride": per_axis(2, st.integers(1, 2)),
            "padding": st.one_of(per_axis(2, st.integers(0, 1)), st.sampled_from(["valid", "same"])),
            "dilation": per_axis(2, st.integers(1, 2)),
            "bias": st.booleans(),
        },
    ).map(lambda d: {**d, "type": "separable_conv2d" if "filters" in d else "depthwise_conv2d"})


@st.composite
def connected_conv(draw):
    """conv2d with a connection table over (usually) the first 3 channels."""
    filters = draw(st.integers(1, 3))
    table = draw(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
                          min_size=filters, max_size=filters))
    return {"type": "conv2d", "filters": filters, "kernel_size": draw(small.filter(lambda k: k < 4)),
            "connections": table, **draw(st.fixed_dictionaries({}, optional={
                "padding": st.sampled_from([1, "same"]), "weight_sharing": st.booleans(), "bias": st.booleans()}))}


def norms(nd):
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("groupnorm"), "num_groups": st.sampled_from([1, 2, 3])},
                              optional={"affine": st.booleans()}),
        st.fixed_dictionaries({"type": st.just("instancenorm")},
                              optional={"affine": st.booleans(), "track_running_stats": st.booleans()}),
    )


@st.composite
def shape_only(draw, rank):
    kind = draw(st.sampled_from(["upsample", "reshape", "permute", "relu6"]))
    if kind == "upsample":
        key = draw(st.sampled_from(["size", "scale_factor"]))
        return {"type": "upsample", key: draw(per_axis(rank - 1, st.integers(1, 3)))}
    if kind == "reshape":
        return {"type": "reshape", "shape": draw(st.sampled_from([[-1], [2, -1], [-1, 2], [1, -1, 1]]))}
    if kind == "permute":
        return {"type": "permute", "dims": draw(st.permutations(range(rank)))}
    return {"type": kind}


def spatial_layer(nd):
    extra = [depthwise(), connected_conv(), st.fixed_dictionaries({"type": st.just("subsample2d")},
                                                                  optional={"kernel_size": per_axis(2, st.integers(1, 3))})]
    return st.one_of(
        conv(nd), conv(nd), pool(nd), conv_transpose(nd), norms(nd), shape_only(nd + 1),
        *(extra if nd == 2 else []),
        st.fixed_dictionaries({"type": st.sampled_from([f"adaptiveavgpool{nd}d", f"adaptivemaxpool{nd}d"]),
                               "output_size": per_axis(nd, small)}),
        st.fixed_dictionaries({"type": st.just("batchnorm")}, optional={"affine": st.booleans(), "trainable": st.booleans()}),
        st.fixed_dictionaries({"type": st.sampled_from(["relu", "dropout", "lrn", "identity", "leaky_relu"])}),
    )


flat_layer = st.one_of(
    st.fixed_dictionaries({"type": st.just("dense"), "units": st.integers(1, 12)},
                          optional={"bias": st.booleans(), "activation": st.sampled_from(["relu", "softmax"]),
                                    "trainable": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("batchnorm")}, optional={"affine": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("layernorm")}, optional={"affine": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("rmsnorm")}, optional={"affine": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("rbf"), "units": st.integers(1, 5)}, optional={"trainable": st.booleans()}),
    st.fixed_dictionaries({"type": st.sampled_from(["dropout", "tanh", "sigmoid", "silu", "elu", "relu6"])}),
)


@st.composite
def specs(draw):
    nd = draw(st.integers(1, 3))
    spatial = draw(st.lists(st.integers(1, 12 if nd < 3 else 7), min_size=nd, max_size=nd))
    layers = draw(st.lists(spatial_layer(nd), min_size=1, max_size=5))
    if draw(st.booleans()):
        layers.append({"type": draw(st.sampled_from(["flatten", "globalavgpool", "globalmaxpool"]))})
        layers += draw(st.lists(flat_layer, max_size=3))
    return {"input": [draw(st.sampled_from([1, 2, 3, 4]))] + spatial, "layers": layers}


def recurrent():
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["rnn", "lstm", "gru"]), "hidden_size": st.integers(1, 6)},
        optional={"num_layers": st.integers(1, 2), "bidirectional": st.booleans(), "bias": st.booleans(),
                  "return_sequences": st.sampled_from([True, True, False]), "trainable": st.booleans()},
    ).flatmap(lambda d: st.fixed_dictionaries(
        {k: st.just(v) for k, v in d.items()},
        optional={"proj_size": st.integers(0, 4)} if d["type"] == "lstm" else
        {"reset_after": st.sampled_from([True, True, False])} if d["type"] == "gru" else {}))


attention = st.fixed_dictionaries(
    {"type": st.just("attention"), "num_heads": st.integers(1, 4)},
    optional={"num_kv_heads": st.integers(1, 4), "head_dim": st.integers(1, 5), "qkv_bias": st.booleans(),
              "out_bias": st.booleans(), "kv_dim": st.integers(1, 6)},
)

sequence_layer = st.one_of(
    recurrent(), recurrent(), attention, attention,
    st.fixed_dictionaries({"type": st.sampled_from(["rmsnorm", "layernorm"])}, optional={"affine": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("dense"), "units": st.integers(1, 8)}, optional={"bias": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("positional_embedding"), "num_positions": st.integers(1, 9)}),
    st.fixed_dictionaries({"type": st.sampled_from(["class_token", "relu6", "gelu", "dropout"])}),
    st.fixed_dictionaries({"type": st.just("select")}, optional={"axis": st.integers(-2, 1), "index": st.integers(-3, 3)}),
    st.just({"type": "permute", "dims": [1, 0]}),
    st.fixed_dictionaries({"type": st.just("groupnorm"), "num_groups": st.integers(1, 3)}),
    st.fixed_dictionaries({"type": st.just("instancenorm")}, optional={"affine": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("rbf"), "units": st.integers(1, 4)}),
    st.fixed_dictionaries({"type": st.just("embedding"), "num_embeddings": st.integers(1, 9),
                           "embedding_dim": st.integers(1, 6)}),  # fed floats: refused by both
)


@st.composite
def sequence_specs(draw):
    """[T, D] sequences, or token ids [T] into an embedding, through issue 7's sequence layers."""
    steps = draw(st.integers(1, 6))
    layers = draw(st.lists(sequence_layer, min_size=1, max_size=4))
    if draw(st.booleans()):
        embed = {"type": "embedding", "num_embeddings": draw(st.integers(1, 20)), "embedding_dim": draw(st.integers(1, 8))}
        return {"input": [steps], "layers": [embed] + layers}
    return {"input": [steps, draw(st.integers(1, 12))], "layers": layers}


@settings(PROFILE, max_examples=2 * EXAMPLES)  # about two in three are valid
@given(st.one_of(specs(), sequence_specs()))
def test_random_specs_agree_with_torch(torch_oracle, spec):
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        got = analyze(load_text(text, path="random.yaml")).to_dict()
    except SpecError as e:
        event("refused by both")
        OUTCOMES["refused"] += 1
        # paramcount refuses: torch must refuse it too, by the oracle's own refusal (which wraps
        # torch's RuntimeError and ValueError); any other exception is a bug in the oracle.
        with pytest.raises(torch_oracle.OracleSpecError):
            torch_oracle.oracle(spec)
        assert all(ERROR_LINE.match(str(p)) for p in e.problems)
        return
    event("counted by both")
    OUTCOMES["counted"] += 1
    want = torch_oracle.oracle(spec)
    assert [layer["output_shape"] for layer in got["layers"]] == [layer.output_shape for layer in want.layers], text
    assert [(layer["trainable"], layer["non_trainable"]) for layer in got["layers"]] == [
        (layer.trainable, layer.non_trainable) for layer in want.layers], text
    assert (got["totals"]["trainable"], got["totals"]["non_trainable"]) == (want.trainable, want.non_trainable), text
    assert got["totals"]["params_unshared"] == want.params_unshared, text
    assert (got["totals"]["weights"], got["totals"]["biases"]) == (want.weights, want.biases), text


@pytest.mark.parametrize("name", ["sequence-types", "image-types"])
def test_the_specs_to_break_are_valid(name):
    """The mutations below start from valid specs."""
    got = analyze(load_text(yaml.safe_dump(PRESETS[name], sort_keys=False), path=name + ".yaml")).to_dict()
    assert got["totals"]["params"] > 0


def test_the_image_spec_to_break_agrees_with_torch(torch_oracle):
    spec = {k: v for k, v in PRESETS["image-types"].items() if k != "name"}
    got = analyze(load_text(yaml.safe_dump(spec, sort_keys=False), path="image-types.yaml")).to_dict()
    want = torch_oracle.oracle(spec)
    assert (got["totals"]["trainable"], got["totals"]["non_trainable"]) == (want.trainable, want.non_trainable)


def test_enough_valid_specs_were_compared():
    if not OUTCOMES:
        pytest.skip("runs after test_random_specs_agree_with_torch")
    assert OUTCOMES["counted"] >= EXAMPLES, OUTCOMES


# -- Keras's convention: random recurrent, depthwise and separable specs against Keras ------------

keras_recurrent = st.fixed_dictionaries(
    {"type": st.sampled_from(["rnn", "lstm", "gru"]), "hidden_size": st.integers(1, 5), "convention": st.just("keras")},
    optional={"num_layers": st.integers(1, 2), "bidirectional": st.booleans(), "bias": st.booleans(),
              "return_sequences": st.sampled_from([True, True, False]), "trainable": st.booleans()},
).flatmap(lambda d: st.fixed_dictionaries({k: st.just(v) for k, v in d.items()},
                                          optional={"reset_after": st.booleans()} if d["type"] == "gru" else {}))


@st.composite
def keras_specs(draw):
    if draw(st.booleans()):
        layers = draw(st.lists(keras_recurrent, min_size=1, max_size=3))
        return {"input": [draw(st.integers(1, 5)), draw(st.integers(1, 6))], "layers": layers}
    layers = draw(st.lists(depthwise(), min_size=1, max_size=3))
    if draw(st.booleans()):
        layers += [{"type": "flatten"}, {"type": "dense", "units": draw(st.integers(1, 4))}]
    return {"input": [draw(st.integers(1, 3))] + draw(st.lists(st.integers(1, 9), min_size=2, max_size=2)),
            "layers": layers}


KERAS_OUTCOMES = Counter()


@settings(PROFILE, max_examples=EXAMPLES)
@given(keras_specs())
def test_random_keras_specs_agree_with_keras(keras_oracle, spec):
    text = yaml.safe_dump(spec, sort_keys=False)
    try:
        got = analyze(load_text(text, path="random.yaml")).to_dict()
    except SpecError:
        KERAS_OUTCOMES["refused"] += 1
        with pytest.raises(keras_oracle.OracleSpecError):
            keras_oracle.oracle(spec)
        return
    KERAS_OUTCOMES["counted"] += 1
    want = keras_oracle.oracle(spec)
    assert [(layer["output_shape"], layer["trainable"], layer["non_trainable"], layer["weights"], layer["biases"])
            for layer in got["layers"]] == [
        (layer.output_shape, layer.trainable, layer.non_trainable, layer.weights, layer.biases)
        for layer in want.layers], text


def test_enough_keras_specs_were_compared():
    if not KERAS_OUTCOMES:
        pytest.skip("runs after test_random_keras_specs_agree_with_keras")
    assert KERAS_OUTCOMES["counted"] >= EXAMPLES // 3, KERAS_OUTCOMES


# -- broken specs: always exit 2 with one-line PATH:LINE:COL errors --------------------------

PRESETS = {name: yaml.safe_load(open(os.path.join(os.path.dirname(__file__), "..", "architectures", name + ".yaml")))
           for name in ("lenet5", "alexnet", "alexnet-torchvision")}
# Flat specs of issue 7's layer types, for the mutations below to break.
PRESETS["sequence-types"] = {"name": "sequence-types", "input": [16], "layers": [
    {"type": "embedding", "num_embeddings": 100, "embedding_dim": 8},
    {"type": "class_token"}, {"type": "positional_embedding", "num_positions": 17},
    {"type": "attention", "num_heads": 4, "num_kv_heads": 2}, {"type": "rmsnorm"},
    {"type": "lstm", "hidden_size": 8, "bidirectional": True, "num_layers": 2, "proj_size": 4},
    {"type": "gru", "hidden_size": 4, "convention": "keras", "reset_after": False},
    {"type": "rnn", "hidden_size": 6}, {"type": "permute", "dims": [1, 0]}, {"type": "groupnorm", "num_groups": 2},
    {"type": "select", "axis": 1, "index": 0}, {"type": "rbf", "units": 3}]}
PRESETS["image-types"] = {"name": "image-types", "input": [3, 16, 16], "layers": [
    {"type": "separable_conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "depth_multiplier": 2},
    {"type": "depthwise_conv2d", "kernel_size": 3, "stride": 2, "padding": 1}, {"type": "relu6"},
    {"type": "conv2d", "filters": 3, "kernel_size": 3, "connections": [[0, 1], [2, 3, 4], [5, 6, 7]]},
    {"type": "subsample2d"}, {"type": "instancenorm", "affine": True},
    {"type": "conv2d_transpose", "filters": 4, "kernel_size": 2, "stride": 2, "output_padding": 1, "groups": 1},
    {"type": "upsample", "scale_factor": 2}, {"type": "reshape", "shape": [4, 14, -1]},
    {"type": "groupnorm", "num_groups": 2, "affine": False}, {"type": "flatten"}, {"type": "dense", "units": 3}]}
REQUIRED = {"filters", "kernel_size", "units", "output_size", "type", "hidden_size", "num_heads", "num_groups",
            "num_positions", "shape", "dims", "num_embeddings", "embedding_dim"}
INT_FIELDS = {"filters", "kernel_size", "units", "stride", "groups", "size", "output_size", "padding", "dilation",
              "hidden_size", "num_layers", "num_heads", "num_kv_heads", "num_groups", "num_positions",
              "depth_multiplier", "output_padding", "num_embeddings", "embedding_dim", "proj_size"}
# Keys that are fields somewhere (a random "unknown" key must not be one), and the composition's.
KNOWN_KEYS = set(ANY_LAYER_FIELD) | {"name", "description", "input", "layers", "budget", "type", "repeat", "shared",
                                     "tie", "blocks", "body", "shortcut", "branches", "merge", "axis", "args"}
BAD_VALUES = st.sampled_from([0, -1, -7, True, False, 2.5, 1e300, "abc", "", None, [[1]], {"a": 1}, 10**300, [1, 2, 3, 4]])


def run(text_or_bytes):
    data = text_or_bytes.encode() if isinstance(text_or_bytes, str) else text_or_bytes
    result = run_cli("--format", "json", "-", input=data)
    assert "Traceback" not in result.output
    return result


def assert_clean_failure(result):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(ERROR_LINE.match(line) for line in lines), result.stderr
    assert all(line.startswith("<stdin>:") for line in lines)


@st.composite
def broken_specs(draw):
    spec = json.loads(json.dumps(PRESETS[draw(st.sampled_from(sorted(PRESETS)))]))
    layer = draw(st.sampled_from(spec["layers"]))
    kind = draw(st.sampled_from(["drop-top", "drop-field", "bad-value", "bad-input", "nesting",
                                 "unknown-key", "unknown-type", "layers-shape"]))
    if kind == "drop-top":
        del spec[draw(st.sampled_from(["input", "layers"]))]
    elif kind == "drop-field":
        present = sorted(REQUIRED & set(layer))
        del layer[draw(st.sampled_from(present))]
    elif kind == "bad-value":
        fields = sorted(INT_FIELDS & set(layer)) or ["units"]
        field = draw(st.sampled_from(fields))
        value = draw(BAD_VALUES.filter(lambda v: v != [1, 2, 3, 4]))
        if (field, value) in (("padding", 0), ("output_padding", 0), ("stride", None), ("num_kv_heads", None),
                              ("proj_size", 0)):  # valid there: 0 padding, default stride or heads
            value = -1
        layer[field] = value
        if "type" not in layer or layer["type"] in ("flatten", "dropout", "lrn"):
            layer["type"] = "dense"
    elif kind == "bad-input":
        spec["input"] = draw(st.one_of(BAD_VALUES, st.lists(BAD_VALUES, min_size=1, max_size=3)))
    elif kind == "nesting":
        index = spec["layers"].index(layer)
        spec["layers"][index] = draw(st.sampled_from([[layer], {"layer": layer}, "conv2d", 5]))
    elif kind == "unknown-key":
        key = draw(st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True).filter(lambda k: not k.startswith("x")))
        target = draw(st.sampled_from([spec, layer]))
        if key in target or key in KNOWN_KEYS:
            key = "zz_" + key
        target[key] = draw(st.integers(0, 3))
    elif kind == "unknown-type":
        layer["type"] = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
            lambda t: t not in REGISTRY and t not in ("sequence", "residual", "parallel")))
    else:
        spec["layers"] = draw(st.sampled_from([[], {}, "layers", 3, None]))
    return yaml.safe_dump(spec, sort_keys=False)


@PROFILE
@given(broken_specs())
def test_broken_specs_fail_cleanly(text):
    assert_clean_failure(run(text))


@PROFILE
@given(st.sampled_from(sorted(PRESETS)), st.data())
def test_garbage_bytes_fail_cleanly(name, data):
    """Bytes that can never be part of a spec (invalid UTF-8, control characters), anywhere."""
    text = yaml.safe_dump(PRESETS[name], sort_keys=False).encode()
    at = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.binary(min_size=1, max_size=8)) + data.draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\x07", b"\x1b"]))
    assert_clean_failure(run(text[:at] + junk + text[at:]))


@PROFILE
@given(st.sampled_from(sorted(PRESETS)), st.data())
def test_random_edits_never_crash(name, data):
    """Arbitrary edits may or may not leave a valid spec; either way: a result or clean errors."""
    text = yaml.safe_dump(PRESETS[name], sort_keys=False)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 6))
        text = text[:at] + data.draw(st.text(max_size=6)) + text[at + cut:]
    result = run(text)
    event(f"exit {result.exit_code}")
    if result.exit_code == 2:
        assert_clean_failure(result)
    else:
        assert result.exit_code in (0, 1), result.output
        assert json.loads(result.stdout)["schema_version"] == 1
