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


def _block_after(marker):
    """The text of the first fenced block after `marker` in the README."""
    rest = README[README.index(marker):]
    start = rest.index("```\n") + 4
    return rest[start:rest.index("```", start)]


def test_the_pasted_table_is_what_paramcount_prints(cli_run):
    result = cli_run("lenet5")  # COLUMNS=100, as the README's command
    assert result.exit_code == 0
    assert result.stdout == _block_after("`COLUMNS=100 paramcount lenet5`:")


def test_the_pasted_errors_are_what_paramcount_prints(cli_run, tmp_path, monkeypatch):
    session = _block_after("in file order; shape errors stop at the first").splitlines()
    spec = session[1:session.index("$ paramcount mynet.yaml")]
    errors = session[session.index("$ paramcount mynet.yaml") + 1:session.index("$ paramcount lenet5 --max-params 60k >/dev/null")]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mynet.yaml").write_text("\n".join(spec) + "\n")
    result = cli_run("mynet.yaml")
    assert (result.exit_code, result.stderr.splitlines()) == (2, errors)
    budget = cli_run("lenet5", "--max-params", "60k")
    assert (budget.exit_code, budget.stderr) == (1, session[-1] + "\n")


def test_the_reference_says_where_pytorch_and_keras_differ():
    ref = reference()
    section = ref[ref.index("#### Where PyTorch and Keras count differently"):]
    for words in ("`convention: torch`", "`convention: keras`", "395,264", "394,240", "`reset_after: false`",
                  "`proj_size`", "`separable_conv2d`", "one bias, on the pointwise part", "running mean"):
        assert words in section, words
    for kind in ("rnn", "lstm", "gru"):
        assert "convention" in REGISTRY[kind].doc and "convention" in REGISTRY[kind].field_by_name


def test_every_option_is_in_the_readme_command_line_table():
    from paramcount.cli import cli

    section = README[README.index("## Command line"):README.index("Subcommands (the first argument")]
    for param in cli.params:
        for opt in param.opts:
            if opt.startswith("--") and opt not in ("--help",):
                assert f"`{opt}" in section or f"{opt} " in section, opt


def test_the_readme_html_screenshot_is_there():
    from pathlib import Path

    image = Path(__file__).parent.parent / "docs" / "resnet50-html.png"
    assert "](docs/resnet50-html.png)" in README
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
