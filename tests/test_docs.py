"""The README's layer reference is generated from the registry; these keep the two in step."""

from pathlib import Path

from paramcount.docs import reference
from paramcount.layers import REGISTRY

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_holds_the_generated_layer_reference():
    assert reference() in README


def test_every_layer_type_and_field_is_documented():
    for kind in REGISTRY.values():
        assert f"| `{kind.name}` |" in README
        for field in kind.fields:
            assert f"`{field.name}`" in README
