"""JSON Schemas of the spec format and of the --json output (paramcount/schema.py), checked with the
`jsonschema` package: every spec paramcount accepts validates, the usual mistakes do not, every --json
result validates, and the spec schema follows the layer registry without being edited.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from conftest import run_cli
from paramcount import SpecError, analyze, layers, load_file, load_text
from paramcount.schema import _accepts, _words, dumps, output_schema, spec_schema

ROOT = Path(__file__).resolve().parent.parent
PRESETS = sorted((ROOT / "architectures").glob("*.yaml"))
FIXTURES = sorted(p for p in (ROOT / "tests" / "fixtures").rglob("*") if p.suffix in (".yaml", ".yml"))

COMPOSED = """\
    name: composed
    input: [3, 32, 32]
    blocks:
      basic:
        args: {filters: required, stride: 1}
        x-note: anchors and notes
        layers:
          - type: residual
            body:
              - {type: conv2d, name: conv1, filters: $filters, kernel_size: 3, stride: $stride, padding: 1, bias: false}
              - {type: batchnorm, name: bn1}
              - {type: relu}
              - {type: conv2d, name: conv2, filters: "${filters * 1}", kernel_size: ["${1 + 2}", 3], padding: 1}
            shortcut:
              - {type: conv2d, filters: $filters, kernel_size: 1, stride: $stride, bias: false}
      head:
        args: {units: 10}
        layers:
          - {type: globalavgpool}
          - {type: dense, name: fc, units: $units}
    budget: {max_params: 1.5M}
    layers:
      - {type: conv2d, name: stem, filters: 16, kernel_size: 3, padding: same}
      - {type: sequence, name: layer1, layers: [{type: basic, filters: 16}, {type: basic, filters: 16}]}
      - {type: basic, name: layer2, filters: 32, stride: 2, repeat: 2}
      - type: parallel
        merge: add
        branches:
          - [{type: identity}]
          - {name: side, layers: [{type: relu}]}
      - {type: head, name: head, units: 32}
      - {type: dense, name: tied, units: 32, tie: head.fc, bias: true}
      - {type: dense, name: shared_fc, units: 32, repeat: 3, shared: true}
"""


@pytest.fixture(scope="module")
def spec_validator():
    return Draft202012Validator(spec_schema())


@pytest.fixture(scope="module")
def output_validator():
    return Draft202012Validator(output_schema())


def problems(validator, document):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_both_schemas_are_valid_draft_2020_12_and_dump_as_json():
    for schema in (spec_schema(), output_schema()):
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        text = dumps(schema)
        assert json.loads(text) == schema and text.startswith('{\n  "$schema"')


@pytest.mark.parametrize("path", PRESETS + FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_paramcount_accepts_validates(spec_validator, path):
    try:
        load_file(str(path))
    except SpecError:
        pytest.skip("paramcount refuses it")
    assert problems(spec_validator, yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_there_are_presets_and_fixtures_to_validate():
    assert len(PRESETS) >= 10 and len(FIXTURES) >= 10


def test_a_composed_spec_with_blocks_repeat_tie_and_expressions_validates(spec_validator):
    text = textwrap.dedent(COMPOSED)
    assert analyze(load_text(text)).totals.params > 0  # paramcount accepts it
    assert problems(spec_validator, yaml.safe_load(text)) == []


FLAT = {"input": [1, 28, 28], "layers": [{"type": "conv2d", "filters": 6, "kernel_size": 5}]}


def flat(**changes):
    spec = json.loads(json.dumps(FLAT))
    spec["layers"][0].update(changes)
    return spec


MISTAKES = [
    (flat(filter=6), "layers/0: Additional properties are not allowed ('filter' was unexpected)"),
    (flat(type="conv2dd"), "layers/0/type: 'conv2dd' is not one of"),
    (flat(filters="6"), "layers/0/filters: '6' is not valid"),
    (flat(filters=6.5), "layers/0/filters: 6.5 is not valid under any of the given schemas"),
    (flat(kernel_size=[5, 5, 5]), "layers/0/kernel_size: [5, 5, 5] is not valid"),
    (flat(padding="sme"), "layers/0/padding: 'sme' is not valid"),
    (flat(bias="yes"), "layers/0/bias: 'yes' is not valid"),
    ({**FLAT, "layer": []}, ": 'layer' does not match any of the regexes: '^x-'"),
    ({**FLAT, "budget": {"max_params": "lots"}}, "budget: {'max_params': 'lots'} is not valid"),
    ({"input": [1, 28, 28], "layers": [{"type": "sequence", "layers": [{"type": "dense", "unit": 3}]}]},
     "layers/0/layers/0: 'units' is a required property"),
]


@pytest.mark.parametrize("spec, where", MISTAKES)
def test_mistakes_are_rejected_where_they_stand(spec_validator, spec, where):
    with pytest.raises(SpecError):  # paramcount refuses each as well
        load_text(json.dumps(spec))
    found = problems(spec_validator, spec)
    assert any(p.startswith(where) for p in found), found


def test_editors_reading_it_as_draft_07_see_the_same():
    """The YAML language server validates as draft-07; the schema keeps to keywords both drafts read alike."""
    Draft7Validator.check_schema(spec_schema())
    validator = Draft7Validator(spec_schema())
    for path in PRESETS:
        assert problems(validator, yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path
    assert problems(validator, yaml.safe_load(textwrap.dedent(COMPOSED))) == []
    for spec, where in MISTAKES:
        assert any(p.startswith(where) for p in problems(validator, spec)), where


def test_inside_blocks_a_misspelt_field_is_still_rejected_and_block_uses_take_arguments(spec_validator):
    spec = yaml.safe_load(textwrap.dedent(COMPOSED))
    assert problems(spec_validator, spec) == []
    spec["blocks"]["head"]["layers"][1]["unit"] = 3
    spec["layers"][4]["tie"] = "stem"  # a block use takes no tie
    spec["layers"][2]["stride"] = {"a": 1}  # an argument is a value or a list, never a mapping
    found = problems(spec_validator, spec)
    assert any(p.startswith("blocks/head/layers/1: Additional properties") for p in found), found
    assert any(p.startswith("layers/4: False schema does not allow 'stem'") for p in found), found
    assert any(p.startswith("layers/2/stride") for p in found), found


def test_field_docs_and_defaults_become_descriptions():
    conv = spec_schema()["$defs"]["type.conv2d"]
    assert conv["required"] == ["type", "filters", "kernel_size"] and conv["additionalProperties"] is False
    groups = conv["properties"]["groups"]
    assert groups["description"] == "must divide input channels and filters (default: 1)" and groups["default"] == 1
    assert conv["properties"]["filters"]["description"] == "output channels (required)"
    padding = conv["properties"]["padding"]["anyOf"]
    assert {"enum": ["same", "valid"]} in padding and {"$ref": "#/$defs/expression"} in padding


def test_value_types_come_from_probing_the_checks():
    props = spec_schema()["$defs"]
    assert props["type.dense"]["properties"]["units"]["anyOf"][0] == {"type": "integer", "minimum": 1}
    assert props["type.dropout"]["properties"]["rate"]["anyOf"][0] == {"type": "number", "minimum": 0}
    assert props["type.select"]["properties"]["axis"]["anyOf"][0] == {"type": "integer"}
    assert props["type.lstm"]["properties"]["convention"]["anyOf"][0] == {"enum": ["torch", "keras"]}
    assert props["type.dense"]["properties"]["bias"]["anyOf"][0] == {"type": "boolean"}


SAMPLES = [-1, 0, 1, 2, 3, 0.5, 1.5, True, False, "any", [], [1], [0, 0], [1, 2], [2, 1, 0], [-1, 4], [1] * 3,
           [2] * 4, [1] * 8, [1] * 9, [[0, 1], [2]], [[0]], {}, {"a": 1}]


def test_whatever_a_field_check_accepts_its_schema_accepts():
    """Never a false alarm in an editor: every sample a check takes validates against the field's schema."""
    schema = spec_schema()
    for name, kind in layers.REGISTRY.items():
        for f in kind.fields:
            sub = dict(schema["$defs"][f"type.{name}"]["properties"][f.name], **{"$defs": schema["$defs"]})
            validator = Draft202012Validator(sub)
            for sample in SAMPLES + _words(f.check) + ([None] if f.default is None else []):
                if _accepts(f.check, sample):
                    assert validator.is_valid(sample), (name, f.name, sample)


def test_a_new_layer_type_appears_without_editing_the_schema(monkeypatch, spec_validator):
    class Fake(layers.LayerType):
        name = "fake_layer"
        doc = "a layer only this test knows"
        fields = (layers.Field("widgets", layers.positive_int, doc="how many widgets"),
                  layers.Field("mode", layers.choice(("fast", "slow")), "fast", "how to run"))

    monkeypatch.setitem(layers.REGISTRY, "fake_layer", Fake())
    schema = spec_schema()
    fake = schema["$defs"]["type.fake_layer"]
    assert fake["description"] == "a layer only this test knows"
    assert fake["properties"]["widgets"]["description"] == "how many widgets (required)"
    assert fake["properties"]["mode"]["anyOf"][0] == {"enum": ["fast", "slow"]}
    validator = Draft202012Validator(schema)
    assert problems(validator, {"input": [4], "layers": [{"type": "fake_layer", "widgets": 3, "mode": "slow"}]}) == []
    assert problems(validator, {"input": [4], "layers": [{"type": "fake_layer", "widgets": 3, "mode": "fats"}]})
    assert problems(validator, {"input": [4], "layers": [{"type": "fake_layer"}]})
    assert "fake_layer" in schema["properties"]["blocks"]["propertyNames"]["not"]["enum"]  # not a block's name
    assert problems(spec_validator, {"input": [4], "layers": [{"type": "fake_layer", "widgets": 3}]})  # before


def json_of(*args):
    result = run_cli("--json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("preset", [p.stem for p in PRESETS])
def test_every_presets_json_validates_against_the_output_schema(output_validator, preset):
    assert problems(output_validator, json_of(preset)) == []


def test_several_specs_give_an_array_that_validates(output_validator, tmp_path):
    composed = tmp_path / "composed.yaml"
    composed.write_text(textwrap.dedent(COMPOSED))
    document = json_of("lenet5", "gpt2", str(composed), "--max-params", "1k")
    assert isinstance(document, list) and len(document) == 3
    assert problems(output_validator, document) == []
    assert problems(output_validator, document[0]) == []


def test_the_output_schema_rejects_drift_and_documents_failures(output_validator):
    report = json_of("lenet5")
    report["layers"][0]["extra"] = 1
    assert problems(output_validator, report)
    del report["layers"][0]["extra"], report["totals"]["params"]
    assert problems(output_validator, report)
    failure = {"source": "bad.yaml", "problems": [{"line": 3, "column": 5, "message": "unknown layer type 'x'"}]}
    assert problems(output_validator, [json_of("lenet5"), failure]) == []
    assert problems(output_validator, [{"source": "bad.yaml"}])
