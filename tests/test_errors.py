"""Bad input: every problem is one line `PATH:LINE:COL: message` on stderr, exit 2, nothing on
stdout, never a traceback. The messages and positions are pinned exactly.

Each spec is written to `spec.yaml` in a temporary directory that is also the working
directory, so every line starts `spec.yaml:`. Columns are 1-based; in the specs below a
comment-free line shows where a column points.

"""

from __future__ import annotations

import os
import re
import textwrap

import pytest
import yaml

import paramcount
from conftest import run_cli as run

LINE = re.compile(r"^(?:<stdin>|[^\n]+?):\d+:\d+: \S.*$")
LIBYAML = yaml.__with_libyaml__ and hasattr(yaml, "CSafeLoader")


def bad(result):
    """The stderr lines of a run that must fail with exit 2, one well-shaped line per problem."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    found = result.stderr.splitlines()
    assert found, "no error reported"
    for line in found:
        assert LINE.match(line), f"not PATH:LINE:COL: message: {line!r}"
    return found


@pytest.fixture
def errors(tmp_path, monkeypatch):
    """errors(spec) -> the stderr lines for `paramcount spec.yaml`; spec is text (dedented) or bytes."""
    monkeypatch.chdir(tmp_path)

    def check(spec, name="spec.yaml"):
        data = spec if isinstance(spec, bytes) else textwrap.dedent(spec).encode("utf-8")
        (tmp_path / name).write_bytes(data)
        return bad(run(name))

    return check


# -- YAML and the document's shape --------------------------------------------------------


def test_invalid_yaml_unclosed_flow_list(errors):
    message = ("did not find expected ',' or ']'" if LIBYAML else "expected ',' or ']', but got ':'")
    message += " while parsing a flow sequence started at 1:8"
    assert errors("""\
        input: [1, 2
        layers: []
    """) == [f"spec.yaml:2:7: {message}"]


def test_invalid_yaml_bad_indentation(errors):
    message = ("did not find expected '-' indicator" if LIBYAML
               else "expected <block end>, but found '<block mapping start>'")
    message += " while parsing a block collection started at 3:3"
    assert errors("""\
        input: [1, 32, 32]
        layers:
          - type: dense
           units: 3
    """) == [f"spec.yaml:4:4: {message}"]


def test_invalid_yaml_mapping_in_a_value(errors):
    message = "mapping values are not allowed in this context" if LIBYAML else "mapping values are not allowed here"
    assert errors("input: a: b\n") == [f"spec.yaml:1:9: {message}"]


def test_invalid_yaml_unclosed_quote(errors):
    assert errors('input: [4]\nname: "LeNet\nlayers:\n  - {type: dense, units: 3}\n') == [
        "spec.yaml:5:1: found unexpected end of stream while scanning a quoted scalar started at 2:7"]


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing but a comment\n"])
def test_empty_file(errors, text):
    assert errors(text) == ["spec.yaml:1:1: empty spec; expected a mapping with 'input' and 'layers'"]


def test_empty_document(errors):
    assert errors("---\n") == ["spec.yaml:1:1: empty spec; expected a mapping with 'input' and 'layers'"]


# What the document holds is never quoted: it may be any file a symlink points at (issue 6, item 14).
@pytest.mark.parametrize("text, got", [("hello\n", "text"), ("42\n", "an integer"), ("- 1\n- 2\n", "a list")])
def test_top_level_not_a_mapping(errors, text, got):
    assert errors(text) == [f"spec.yaml:1:1: a spec must be a mapping, got {got}"]


def test_top_level_list_of_layers(errors):
    assert errors("""\
        - type: dense
          units: 3
    """) == ["spec.yaml:1:1: a spec must be a mapping, got a list"]


def test_missing_input(errors):
    assert errors("""\
        layers:
          - {type: dense, units: 3}
    """) == ["spec.yaml:1:1: the spec is missing 'input'"]


def test_missing_layers(errors):
    assert errors("""\
        name: x
        input: [4]
    """) == ["spec.yaml:1:1: the spec is missing 'layers'"]


def test_missing_input_and_layers(errors):
    assert errors("name: x\n") == ["spec.yaml:1:1: the spec is missing 'input'",
                                   "spec.yaml:1:1: the spec is missing 'layers'"]


def test_empty_layers(errors):
    assert errors("""\
        input: [4]
        layers: []
    """) == ["spec.yaml:2:9: layers must list at least one layer"]


def test_layers_not_a_list(errors):
    assert errors("""\
        input: [4]
        layers: {type: dense, units: 3}
    """) == ["spec.yaml:2:9: layers must be a list, got a mapping"]


def test_unknown_top_level_key_with_did_you_mean(errors):
    assert errors("""\
        input: [4]
        layres:
          - {type: dense, units: 3}
    """) == ["spec.yaml:1:1: the spec is missing 'layers'",
             "spec.yaml:2:1: 'layres' is not a field of a spec; did you mean 'layers'?"]


def test_unknown_top_level_key_foreign_name(errors):
    assert errors("""\
        input_shape: [4]
        layers:
          - {type: dense, units: 3}
    """) == ["spec.yaml:1:1: 'input_shape' is not a field of a spec; did you mean 'input'?",
             "spec.yaml:1:1: the spec is missing 'input'"]


@pytest.mark.parametrize("value, got", [
    ("[3, 0, 32]", "0"),
    ("[3, -1, 32]", "-1"),
    ("[3, 32.5, 32]", "32.5 (a float)"),
    ("[3, true, 32]", "true (a boolean)"),
])
def test_bad_item_in_input_points_at_the_item(errors, value, got):
    assert errors(f"""\
        input: {value}
        layers:
          - {{type: flatten}}
    """) == [f"spec.yaml:1:12: input must be a list of positive integers, one per axis, without the batch axis, got {got}"]


@pytest.mark.parametrize("value, got", [("32", "32"), ("[]", "[]"), ("~", "nothing (null)")])
def test_input_not_a_list(errors, value, got):
    assert errors(f"""\
        input: {value}
        layers:
          - {{type: flatten}}
    """) == [f"spec.yaml:1:8: input must be a list of positive integers, one per axis, without the batch axis, got {got}"]


# -- layer types ---------------------------------------------------------------------------


@pytest.mark.parametrize("written, suggestion", [
    ("Linear", "dense"),
    ("Conv2d", "conv2d"),
    ("conv_2d", "conv2d"),
    ("BatchNorm2d", "batchnorm"),
    ("BatchNormalization", "batchnorm"),
    ("MaxPooling2D", "maxpool2d"),
    ("LeakyReLU", "leaky_relu"),
    ("densee", "dense"),
])
def test_unknown_layer_type_with_did_you_mean(errors, written, suggestion):
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - type: {written}
    """) == [f"spec.yaml:3:11: unknown layer type '{written}'; did you mean '{suggestion}'?"]


def test_unknown_layer_type_without_a_close_match(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: frobnicate}
    """) == ["spec.yaml:3:12: unknown layer type 'frobnicate'"]


def test_layer_type_not_text(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: 5}
    """) == ["spec.yaml:3:12: unknown layer type 5"]


def test_layer_without_type_and_layer_not_a_mapping(errors):
    assert errors("""\
        input: [4]
        layers:
          - {units: 3}
          - 7
    """) == ["spec.yaml:3:5: layer 1 is missing 'type'",
             "spec.yaml:4:5: layer 2 must be a mapping, got 7"]


# -- fields --------------------------------------------------------------------------------


@pytest.mark.parametrize("layer, key, column, message", [
    ("{type: conv2d, filters: 8, kernel_size: 3, use_bias: false}", "use_bias", 48, "did you mean 'bias'?"),
    ("{type: conv2d, filters: 8, kernel_size: 3, strides: 2}", "strides", 48, "did you mean 'stride'?"),
    ("{type: conv2d, filters: 8, kernel_size: 3, dilation_rate: 2}", "dilation_rate", 48, "did you mean 'dilation'?"),
    ("{type: dense, units: 8, use_bias: false}", "use_bias", 29, "did you mean 'bias'?"),
    ("{type: dense, units: 8, out_features: 8}", "out_features", 29, "did you mean 'units'?"),
    ("{type: maxpool2d, kernel_size: 2, strides: 2}", "strides", 39, "did you mean 'stride'?"),
    ("{type: dropout, p: 0.2}", "p", 21, "did you mean 'rate'?"),
    ("{type: dense, units: 8, unit: 8}", "unit", 29, "did you mean 'units'?"),
])
def test_unknown_field_with_did_you_mean(errors, layer, key, column, message):
    kind = layer.split(",")[0].split(": ")[1]
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - {layer}
    """) == [f"spec.yaml:3:{column}: '{key}' is not a field of {kind}; {message}"]


def test_foreign_name_for_a_required_field(errors):
    """out_channels instead of filters: the missing field and the foreign key, each on its line."""
    assert errors("""\
        input: [3, 32, 32]
        layers:
          - {type: conv2d, out_channels: 8, kernel_size: 3}
          - {type: maxpool2d, pool_size: 2}
    """) == ["spec.yaml:3:5: conv2d layer 1 is missing 'filters'",
             "spec.yaml:3:20: 'out_channels' is not a field of conv2d; did you mean 'filters'?",
             "spec.yaml:4:5: maxpool2d layer 2 is missing 'kernel_size'",
             "spec.yaml:4:23: 'pool_size' is not a field of maxpool2d; did you mean 'kernel_size'?"]


@pytest.mark.parametrize("layer, key, kind, column", [
    ("{type: conv2d, in_channels: 3, filters: 8, kernel_size: 3}", "in_channels", "conv2d", 20),
    ("{type: dense, in_features: 3, units: 8}", "in_features", "dense", 19),
    ("{type: batchnorm, num_features: 3}", "num_features", "batchnorm", 23),
])
def test_inferred_fields(errors, layer, key, kind, column):
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - {layer}
    """) == [f"spec.yaml:3:{column}: '{key}' is not a field of {kind}; paramcount reads it off the input shape"]


def test_unknown_field_without_a_close_match(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 3, kernel_initializer: glorot}
    """) == ["spec.yaml:3:29: 'kernel_initializer' is not a field of dense"]


@pytest.mark.parametrize("value, got", [
    ("true", "true (a boolean)"),
    ("2.5", "2.5 (a float)"),
    ("1.0", "1.0 (a float)"),
    ("0", "0"),
    ("-4", "-4"),
    ("'8'", "'8'"),
    ("~", "nothing (null)"),
    ("[8]", "[8]"),
])
def test_bad_int_field(errors, value, got):
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - {{type: conv2d, filters: {value}, kernel_size: 3}}
    """) == [f"spec.yaml:3:29: filters must be a positive integer, got {got}"]


@pytest.mark.parametrize("value, got", [("0", "0"), ("true", "true (a boolean)"), ("1.5", "1.5 (a float)")])
def test_bad_per_axis_int(errors, value, got):
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - {{type: conv2d, filters: 8, kernel_size: {value}}}
    """) == [f"spec.yaml:3:45: kernel_size must be a positive integer or a list of 2, got {got}"]


def test_wrong_length_per_axis_list_points_at_the_list(errors):
    assert errors("""\
        input: [3, 32, 32]
        layers:
          - {type: conv2d, filters: 8, kernel_size: [3, 3, 3]}
          - {type: conv1d, filters: 8, kernel_size: [3, 3]}
    """) == ["spec.yaml:3:45: kernel_size must list 2 values, one per spatial axis, got 3",
             "spec.yaml:4:45: kernel_size must list 1 value, one per spatial axis, got 2"]


@pytest.mark.parametrize("field, value, column", [
    ("kernel_size", "[3, 0]", 49),
    ("stride", "[1, true]", 60),
    ("padding", "[1, -1]", 61),
])
def test_bad_item_in_per_axis_list_points_at_the_item(errors, field, value, column):
    extra = "" if field == "kernel_size" else "kernel_size: 3, "
    found = errors(f"""\
        input: [3, 32, 32]
        layers:
          - {{type: conv2d, filters: 8, {extra}{field}: {value}}}
    """)
    assert len(found) == 1
    assert found[0].startswith(f"spec.yaml:3:{column}: {field} must hold only ")


def test_bad_item_in_per_axis_list_message(errors):
    assert errors("""\
        input: [3, 32, 32]
        layers:
          - {type: conv2d, filters: 8, kernel_size: [3, 0]}
          - {type: conv2d, filters: 8, kernel_size: 3, padding: [1, -1]}
    """) == ["spec.yaml:3:49: kernel_size must hold only positive integers, got 0",
             "spec.yaml:4:61: padding must hold only non-negative integers, got -1"]


def test_padding_middle(errors):
    assert errors("""\
        input: [3, 32, 32]
        layers:
          - {type: conv2d, filters: 8, kernel_size: 3, padding: middle}
    """) == ["spec.yaml:3:57: padding must be a non-negative integer or a list of 2, 'valid' or 'same', got 'middle'"]


@pytest.mark.parametrize("value, got", [("'yes'", "'yes'"), ("1", "1")])
def test_bad_boolean(errors, value, got):
    assert errors(f"""\
        input: [3, 32, 32]
        layers:
          - {{type: conv2d, filters: 8, kernel_size: 3, bias: {value}}}
    """) == [f"spec.yaml:3:54: bias must be true or false, got {got}"]


def test_bad_activation_and_rate(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 8, activation: rleu}
          - {type: dropout, rate: 1.5}
    """) == ["spec.yaml:3:41: activation must be one of relu, tanh, sigmoid, softmax, gelu, silu, leaky_relu, "
             "elu, identity, got 'rleu'; did you mean 'relu'?",
             "spec.yaml:4:27: rate must be a number from 0 up to (not including) 1, got 1.5 (a float)"]


def test_bad_budget(errors):
    assert errors("""\
        input: [4]
        budget: {max_params: 1.2345k, max: 3}
        layers:
          - {type: dense, units: 3}
    """) == ["spec.yaml:2:22: max_params '1.2345k' is not a whole number of parameters",
             "spec.yaml:2:31: 'max' is not a field of budget; did you mean 'max_params'?"]


@pytest.mark.parametrize("value, got", [("0", "0"), ("1.5", "1.5 (a float)"), ("-3", "-3")])
def test_bad_budget_number(errors, value, got):
    assert errors(f"""\
        input: [4]
        budget: {{max_params: {value}}}
        layers:
          - {{type: dense, units: 3}}
    """) == [f"spec.yaml:2:22: max_params must be a positive whole number like 61706, 60k or 1.5M, got {got}"]


def test_budget_not_a_mapping(errors):
    assert errors("""\
        input: [4]
        budget: 5k
        layers:
          - {type: dense, units: 3}
    """) == ["spec.yaml:2:9: budget must be a mapping, got '5k'"]


# -- duplicates ----------------------------------------------------------------------------


def test_duplicate_key_in_a_layer(errors):
    assert errors("""\
        input: [4]
        layers:
          - type: dense
            units: 3
            units: 4
    """) == ["spec.yaml:5:5: duplicate key 'units' (first at line 4)"]


def test_duplicate_top_level_key(errors):
    assert errors("""\
        input: [4]
        input: [5]
        layers:
          - {type: dense, units: 3}
    """) == ["spec.yaml:2:1: duplicate key 'input' (first at line 1)"]


def test_duplicate_layer_names(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 3, name: fc}
          - {type: relu}
          - {type: dense, units: 3, name: fc}
    """) == ["spec.yaml:5:35: layer name 'fc' is already used (line 3)"]


def test_name_clashing_with_a_default_name(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 3}
          - {type: dense, units: 3, name: dense_1}
    """) == ["spec.yaml:4:35: layer name 'dense_1' is already used (line 3)"]


# -- unsafe tags ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["value", "document", "layer", "name"])
def test_unsafe_tags_are_refused_and_nothing_runs(errors, tmp_path, where):
    marker = tmp_path / "pwned"
    call = f'!!python/object/apply:os.mkdir ["{marker}"]'
    spec, position = {
        "value": (f"input: [4]\nlayers:\n  - {{type: dense, units: {call}}}\n", "3:26"),
        "document": (f"{call}\n", "1:1"),
        "layer": (f'input: [4]\nlayers:\n  - !!python/object/apply:os.mkdir\n    args: ["{marker}"]\n', "3:5"),
        "name": ("input: [4]\nname: !!python/name:os.mkdir\nlayers:\n  - {type: dense, units: 3}\n", "2:7"),
    }[where]
    tag = call.split(" ")[0] if where != "name" else "!!python/name:os.mkdir"
    assert errors(spec) == [f"spec.yaml:{position}: tag {tag} is not allowed: a spec holds only plain YAML values"]
    assert not marker.exists()


def test_local_tag_refused(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: !custom 5}
    """) == ["spec.yaml:3:26: tag !custom is not allowed: a spec holds only plain YAML values"]


# -- all schema errors together ------------------------------------------------------------


def test_all_schema_errors_of_a_file_in_file_order(errors):
    assert errors("""\
        input: [3, 32, 32]
        bogus: 1
        layers:
          - {type: conv2d, filters: 0, kernel_size: 3}
          - {type: Linear, units: 3}
          - {type: dense, units: 3, use_bias: true}
          - {type: dense, units: 3, name: fc}
          - {type: dense, units: 3, name: fc}
        nmae: x
    """) == ["spec.yaml:2:1: 'bogus' is not a field of a spec",
             "spec.yaml:4:29: filters must be a positive integer, got 0",
             "spec.yaml:5:12: unknown layer type 'Linear'; did you mean 'dense'?",
             "spec.yaml:6:29: 'use_bias' is not a field of dense; did you mean 'bias'?",
             "spec.yaml:8:35: layer name 'fc' is already used (line 7)",
             "spec.yaml:9:1: 'nmae' is not a field of a spec; did you mean 'name'?"]


def test_schema_errors_in_block_style(errors):
    assert errors("""\
        input: [3, 32, 32]
        layers:
          - type: conv2d
            kernel_size: 3
            stride: 0
          - type: dense
            units: -1
    """) == ["spec.yaml:3:5: conv2d layer 1 is missing 'filters'",
             "spec.yaml:5:13: stride must be a positive integer or a list of 2, got 0",
             "spec.yaml:7:12: units must be a positive integer, got -1"]


def test_duplicate_key_does_not_hide_other_errors(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 0}
          - type: dense
            units: 3
            units: 4
          - {type: dense, unit: 3}
    """) == ["spec.yaml:3:26: units must be a positive integer, got 0",
             "spec.yaml:6:5: duplicate key 'units' (first at line 5)",
             "spec.yaml:7:5: dense layer 3 is missing 'units'",
             "spec.yaml:7:19: 'unit' is not a field of dense; did you mean 'units'?"]


def test_refused_tag_does_not_hide_other_errors(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 0}
          - {type: dense, units: !custom 5}
          - !custom {type: dense, units: 3}
    """) == ["spec.yaml:3:26: units must be a positive integer, got 0",
             "spec.yaml:4:26: tag !custom is not allowed: a spec holds only plain YAML values",
             "spec.yaml:5:5: tag !custom is not allowed: a spec holds only plain YAML values"]


# -- shape errors: the first one only, at the field that causes it -------------------------


def test_kernel_larger_than_the_padded_input(errors):
    assert errors("""\
        input: [3, 8, 8]
        layers:
          - {type: conv2d, filters: 4, kernel_size: 3}
          - {type: conv2d, filters: 4, kernel_size: 7}
          - {type: conv2d, filters: 4, kernel_size: 9}
    """) == ["spec.yaml:4:45: conv2d layer 'conv2d_2' on input [4, 6, 6]: kernel 7 is larger than the padded input (6)"]


def test_dilated_kernel_larger_than_the_input(errors):
    assert errors("""\
        input: [3, 8, 8]
        layers:
          - type: conv2d
            filters: 4
            kernel_size: 3
            dilation: 4
    """) == ["spec.yaml:5:18: conv2d layer 'conv2d_1' on input [3, 8, 8]: dilated kernel 9 is larger than the padded input (8)"]


def test_pool_kernel_larger_than_the_input(errors):
    assert errors("""\
        input: [3, 4, 4]
        layers:
          - {type: maxpool2d, kernel_size: 5, name: pool}
    """) == ["spec.yaml:3:36: maxpool2d layer 'pool' on input [3, 4, 4]: kernel 5 is larger than the padded input (4)"]


def test_groups_not_dividing_channels(errors):
    assert errors("""\
        input: [3, 8, 8]
        layers:
          - {type: conv2d, filters: 4, kernel_size: 3, groups: 2}
    """) == ["spec.yaml:3:56: conv2d layer 'conv2d_1' on input [3, 8, 8]: groups=2 does not divide the 3 input channels"]


def test_groups_not_dividing_filters(errors):
    assert errors("""\
        input: [4, 8, 8]
        layers:
          - {type: conv2d, filters: 6, kernel_size: 3, groups: 4}
    """) == ["spec.yaml:3:56: groups=4 does not divide filters=6"]  # a config-only check: found with the schema's


def test_pool_padding_more_than_half_the_kernel(errors):
    assert errors("""\
        input: [4, 8, 8]
        layers:
          - {type: maxpool2d, kernel_size: 3, padding: 2}
    """) == ["spec.yaml:3:48: maxpool2d layer 'maxpool2d_1' on input [4, 8, 8]: padding 2 is more than half the kernel 3"]


def test_wrong_input_rank_for_conv2d(errors):
    assert errors("""\
        input: [32, 32]
        layers:
          - {type: dense, units: 3}
          - {type: conv2d, filters: 6, kernel_size: 3}
    """) == ["spec.yaml:4:5: conv2d layer 'conv2d_1' on input [32, 3]: needs an input [C, H, W]"]


def test_wrong_input_rank_for_maxpool1d(errors):
    assert errors("""\
        input: [100]
        layers:
          - {type: maxpool1d, kernel_size: 2}
    """) == ["spec.yaml:3:5: maxpool1d layer 'maxpool1d_1' on input [100]: needs an input [C, L]"]


def test_shape_errors_stop_at_the_first(errors):
    assert errors("""\
        input: [3, 8, 8]
        layers:
          - {type: conv2d, filters: 4, kernel_size: 9}
          - {type: conv2d, filters: 4, kernel_size: 3, groups: 2}
    """) == ["spec.yaml:3:45: conv2d layer 'conv2d_1' on input [3, 8, 8]: kernel 9 is larger than the padded input (8)"]


def test_config_only_checks_come_before_any_shape_error(errors):
    assert errors("""\
        input: [3, 8, 8]
        layers:
          - {type: conv2d, filters: 4, kernel_size: 9}
          - {type: conv2d, filters: 4, kernel_size: 3, groups: 3}
    """) == ["spec.yaml:4:56: groups=3 does not divide filters=4"]


# -- where the spec comes from -------------------------------------------------------------


@pytest.mark.parametrize("written, suggestion", [("lenet", "lenet5"), ("alexnt", "alexnet"), ("LeNet5", "lenet5")])
def test_unknown_preset_with_did_you_mean(tmp_path, monkeypatch, written, suggestion):
    monkeypatch.chdir(tmp_path)
    presets = ", ".join(paramcount.preset_names())
    assert bad(run(written)) == [f"{written}:1:1: no such file, nor a preset; did you mean '{suggestion}'? "
                                 f"(presets: {presets})"]


def test_unknown_preset_without_a_close_match(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    presets = ", ".join(paramcount.preset_names())
    assert bad(run("squeezenet")) == [f"squeezenet:1:1: no such file, nor a preset (presets: {presets})"]


@pytest.mark.parametrize("path", ["missing.yaml", os.path.join("sub", "missing.yaml"), "missing.yml"])
def test_missing_file(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    assert bad(run(path)) == [f"{path}:1:1: cannot read: No such file or directory"]


def test_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nets").mkdir()
    assert bad(run("nets")) == ["nets:1:1: is a directory, not a spec file"]


def test_non_utf8_byte_position(errors):
    assert errors(b'input: [4]\nlayers:\n  - {type: dense, units: 3, name: "caf\xe9"}\n') == [
        "spec.yaml:3:39: not UTF-8: byte 0xe9"]


def test_non_utf8_on_the_first_byte(errors):
    assert errors(b"\xff\xfei\x00n\x00") == ["spec.yaml:1:1: not UTF-8: byte 0xff"]


def test_non_utf8_column_counts_characters(errors):
    assert errors('input: [4]\nlayers:\n  - {type: dense, units: 3, name: "éé'.encode() + b'\xff"}\n') == [
        "spec.yaml:3:38: not UTF-8: byte 0xff"]


def test_multibyte_characters_count_as_one_column(errors):
    assert errors("""\
        input: [4]
        layers:
          - {type: dense, units: 3, name: "éé", bogus: 1}
    """) == ["spec.yaml:3:41: 'bogus' is not a field of dense"]


def test_control_character(errors):
    assert errors(b'input: [4]\nlayers:\n  - {type: dense, units: 3, name: "a\x01b"}\n') == [
        "spec.yaml:3:37: character U+0001 is not allowed in YAML"]


def test_bom_is_accepted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbfinput: [4]\nlayers:\n  - {type: dense, units: 3}\n")
    result = run("--json", "bom.yaml")
    assert result.exit_code == 0, result.stderr
    assert '"params": 15' in result.stdout


def test_bom_does_not_shift_columns(errors):
    assert errors(b"\xef\xbb\xbfinput: 5\nlayers:\n  - {type: dense, units: 3}\n") == [
        "spec.yaml:1:8: input must be a list of positive integers, one per axis, without the batch axis, got 5"]


def test_crlf_line_endings(errors):
    assert errors(b"input: [4]\r\nlayers:\r\n  - {type: dense, unitz: 3}\r\n") == [
        "spec.yaml:3:5: dense layer 1 is missing 'units'",
        "spec.yaml:3:19: 'unitz' is not a field of dense; did you mean 'units'?"]


def test_errors_from_stdin():
    assert bad(run("-", input="input: [4]\nlayers:\n  - {type: dense, units: 0}\n")) == [
        "<stdin>:3:26: units must be a positive integer, got 0"]
