"""Composition: blocks, arithmetic, sequence, residual, parallel, repeat, shared copies and ties.

Every figure here is derived by hand in a comment, so the suite catches a wrong count with torch
absent; tests/test_compose_property.py checks random composed specs against torch.
"""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from paramcount import SpecError, analyze, load_text

ROOT = Path(__file__).resolve().parent.parent


def report(text):
    return analyze(load_text(textwrap.dedent(text), "spec.yaml"))


def errors(text):
    with pytest.raises(SpecError) as e:
        report(text)
    return [str(p) for p in e.value.problems]


def leaves(r):
    """(path, output shape, params of one copy, occurrences, copies counted) of every leaf."""
    return [(leaf.path, list(leaf.output_shape), leaf.as_dict(times, copies)["params"], times, copies)
            for leaf, times, copies in r.leaves()]


BASIC = """\
    input: [4, 8, 8]
    blocks:
      basic:
        args: {filters: required, stride: 1}
        layers:
          - type: residual
            body:
              - {type: conv2d, name: conv1, filters: $filters, kernel_size: 3, stride: $stride, padding: 1, bias: false}
              - {type: batchnorm, name: bn1}
              - {type: relu}
              - {type: conv2d, name: conv2, filters: $filters, kernel_size: 3, padding: 1, bias: false}
              - {type: batchnorm, name: bn2}
            shortcut:
              name: downsample
              layers:
                - {type: conv2d, filters: $filters, kernel_size: 1, stride: $stride, bias: false}
                - {type: batchnorm}
          - {type: relu}
    layers:
      - {type: basic, name: layer1, filters: 8, stride: 2}
"""


def test_a_resnet_basic_block_with_a_projection_shortcut():
    r = report(BASIC)
    # conv1 8·4·3·3 = 288; bn1 8+8 learned + 16 running stats = 32; conv2 8·8·9 = 576; bn2 32;
    # downsample.0 8·4·1·1 = 32; downsample.1 32. Total 288+32+576+32+32+32 = 992, of which
    # 48 running statistics in three BatchNorms (16 each) are non-trainable.
    assert r.totals.params == 992 and r.totals.non_trainable == 48 and r.totals.trainable == 944
    assert [p for p, *_ in leaves(r)] == ["layer1.conv1", "layer1.bn1", "layer1.relu_1", "layer1.conv2", "layer1.bn2",
                                          "layer1.downsample.0", "layer1.downsample.1", "layer1.relu_2"]
    assert r.layers[0].output_shape == (8, 4, 4)
    block = r.layers[0]
    assert block.type == "basic" and block.counts.params == 992
    residual = block.children[0]
    assert residual.type == "residual" and residual.children[-1].name == "downsample"
    assert residual.children[-1].counts.params == 64


def test_repeat_names_copies_and_multiplies_counts():
    r = report("""\
        input: [16]
        blocks:
          mlp:
            args: {hidden: required, k: 2}
            layers:
              - {type: dense, units: "${hidden * k}"}
              - {type: dense, units: $in_features}
        layers:
          - {type: mlp, hidden: 4, repeat: 3, name: h}
    """)
    # one copy: dense 16→8 = 136, dense 8→16 = 144: 280; three copies 840.
    assert r.totals.params == 840
    assert leaves(r) == [("h.0.dense_1", [8], 136, 3, 3), ("h.0.dense_2", [16], 144, 3, 3)]
    assert r.layers[0].repeat == 3 and r.layers[0].counts.params == 840


def test_a_repeat_whose_first_copy_changes_the_shape_is_split_in_runs():
    r = report("""\
        input: [4]
        layers:
          - {type: dense, units: 2, repeat: 3}
    """)
    # copy 0: 4→2 = 10; copies 1 and 2: 2→2 = 6 each. 10 + 12 = 22.
    assert r.totals.params == 22
    assert leaves(r) == [("dense_1.0", [2], 10, 1, 1), ("dense_1.1", [2], 6, 2, 2)]


def test_shared_copies_count_one_set_of_weights():
    r = report("""\
        input: [8]
        layers:
          - {type: dense, units: 8, repeat: 12, shared: true, name: albert}
    """)
    # 8·8 + 8 = 72, once, whatever the repeat.
    assert r.totals.params == 72
    assert leaves(r) == [("albert", [8], 72, 12, 1)]


def test_shared_copies_must_keep_the_shape():
    assert errors("""\
        input: [8]
        layers:
          - {type: dense, units: 4, repeat: 2, shared: true}
    """) == ["spec.yaml:3:48: shared copies of 'dense_1' must keep the shape: the first takes [8] and gives [4]"]


def test_a_billion_repeats_answer_at_once():
    start = time.perf_counter()
    r = report("""\
        input: [8]
        layers:
          - {type: dense, units: 8, repeat: 1000000000}
    """)
    assert r.totals.params == 72 * 10**9
    assert time.perf_counter() - start < 5  # a hang guard, not a timing: it is one analysis


def test_a_repeat_that_keeps_changing_the_shape_is_bounded():
    text = "input: [4, 100000000]\nlayers:\n  - {type: conv1d, filters: 4, kernel_size: 3, repeat: 1000000000}\n"
    with pytest.raises(SpecError) as e:
        analyze(load_text(text, "spec.yaml"))
    assert str(e.value) == ("spec.yaml:3:5: the spec expands to more than 10,000 layer analyses (every use of a block "
                            "counts; a repeat counts once only while its copies keep the shape)")


def test_tie_counts_the_weights_once_transposed():
    r = report("""\
        input: [10]
        layers:
          - {type: embedding, name: wte, num_embeddings: 50, embedding_dim: 6}
          - {type: layernorm}
          - {type: dense, name: lm_head, units: 50, bias: false, tie: wte}
    """)
    # wte 50·6 = 300; layernorm 6+6 = 12; lm_head's kernel [6, 50] is wte's table transposed: 0.
    assert r.totals.params == 312
    head = r.layers[2]
    assert head.tied_to == "wte" and head.counts.params == 0 and head.tensors[0].shape == (6, 50)


def test_a_tie_keeps_its_own_bias():
    r = report("""\
        input: [6]
        layers:
          - {type: dense, name: a, units: 6}
          - {type: dense, units: 6, tie: a}
    """)
    # a: 36 + 6 = 42; the tied layer keeps its 6 biases.
    assert r.totals.params == 48 and r.totals.biases == 12


def test_tie_errors_point_at_the_reference():
    assert errors("""\
        input: [6]
        layers:
          - {type: dense, name: a, units: 4}
          - {type: dense, units: 3, tie: b}
    """) == ["spec.yaml:4:34: tie: no earlier layer 'b'"]
    assert errors("""\
        input: [6]
        layers:
          - {type: dense, name: a, units: 4}
          - {type: dense, units: 3, tie: a}
    """) == ["spec.yaml:4:34: dense layer 'dense_1' cannot use the weights of 'a': its weights are [4, 3], "
             "those are [6, 4] (equal, or 2-D transposed)"]


def test_parallel_concat_add_and_broadcast():
    r = report("""\
        input: [1, 7, 5]
        layers:
          - type: parallel
            name: convs
            branches:
              - [{type: conv2d, filters: 2, kernel_size: [4, 5]}, {type: globalmaxpool}]
              - [{type: conv2d, filters: 2, kernel_size: [3, 5]}, {type: globalmaxpool}]
              - [{type: conv2d, filters: 2, kernel_size: [2, 5]}, {type: globalmaxpool}]
          - {type: dense, units: 2}
    """)
    # Zhang & Wallace's figure: 2·(20+1) = 42, 2·(15+1) = 32, 2·(10+1) = 22; concat to [6]; dense 6·2+2 = 14.
    assert [b.counts.params for b in r.layers[0].children] == [42, 32, 22]
    assert r.layers[0].output_shape == (6,) and r.totals.params == 110
    se = report("""\
        input: [8, 4, 4]
        layers:
          - type: parallel
            merge: multiply
            branches:
              - [{type: identity}]
              - [{type: globalavgpool}, {type: dense, units: 2}, {type: dense, units: 8}, {type: sigmoid}, {type: reshape, shape: [8, 1, 1]}]
    """)
    # squeeze-and-excitation: 8·2+2 = 18, 2·8+8 = 24; the [8, 1, 1] gate broadcasts over [8, 4, 4].
    assert se.totals.params == 42 and se.layers[0].output_shape == (8, 4, 4)


def test_merge_errors_name_both_shapes():
    assert errors("""\
        input: [8]
        layers:
          - type: parallel
            merge: add
            branches: [[{type: dense, units: 3}], [{type: dense, units: 4}]]
    """) == ["spec.yaml:4:12: parallel 'parallel_1' cannot add [3] and [4]: shapes broadcast as in NumPy "
             "(aligned on the right; each axis equal or 1)"]


def test_errors_inside_blocks_point_where_written_and_name_the_block_path():
    text = """\
        input: [4, 8, 8]
        blocks:
          c:
            args: {f: required}
            layers:
              - {type: conv2d, filters: $f, kernel_size: 3, padding: 1}
        layers:
          - {type: sequence, name: stage, layers: [{type: c, f: 4}, {type: c, f: -2}]}
    """
    assert errors(text) == ["spec.yaml:6:33: in stage.1 (block 'c'): filters must be a positive integer, got -2"]


def test_a_residual_whose_shapes_disagree():
    assert errors("""\
        input: [4, 8, 8]
        layers:
          - {type: residual, name: r, body: [{type: conv2d, filters: 5, kernel_size: 1}]}
    """) == ["spec.yaml:3:5: residual 'r': the body gives [5, 8, 8] but the input (identity shortcut) gives "
             "[4, 8, 8]; they must be equal to be added"]


def test_parse_errors_are_all_reported_together():
    assert errors("""\
        input: [4, 8, 8]
        blocks:
          a:
            args: {n: required}
            layers:
              - {type: b, m: $n}
          b:
            args: {m: 1}
            layers:
              - {type: a, n: $m}
              - {type: conv2d, filters: "${m * }", kernel_size: 3}
              - {type: conv2d, filters: $q, kernel_size: 3}
        layers:
          - {type: a, n: 3, bogus: 1}
          - {type: a}
          - {type: resdiual}
    """) == [
        "spec.yaml:10:16: block 'a' uses itself (a → b → a)",
        "spec.yaml:11:33: '${m * }': an expression ends too soon",
        "spec.yaml:12:33: '$q' names no argument 'q' (known here: in_channels, in_features, m)",
        "spec.yaml:14:21: 'bogus' is not an argument of block 'a' (arguments: n)",
        "spec.yaml:15:5: block 'a' needs argument 'n'",
        "spec.yaml:16:12: unknown layer type 'resdiual'; did you mean 'residual'?",
    ]


@pytest.mark.parametrize("expr, message", [
    ("${n // 0}", "division by zero"),
    ("${" + "9" * 210 + "}", "an expression may hold at most 200 characters"),
    ("${(((n)}", "a '(' is not closed"),
    ("${n ** 2}", "unexpected '*' in an expression"),
    ("${__import__}", "names no argument '__import__'"),
])
def test_arithmetic_is_integers_only_and_bounded(expr, message):
    text = f"""\
        input: [4]
        blocks:
          b:
            args: {{n: 4}}
            layers: [{{type: dense, units: "{expr}"}}]
        layers: [{{type: b}}]
    """
    assert any(message in line for line in errors(text))


def test_arithmetic_cannot_grow_past_the_digit_limit():
    big = "9" * 300
    text = f"input: [4]\nblocks:\n  b:\n    args: {{n: {big}}}\n    layers: [{{type: dense, units: '${{n * n}}'}}]\nlayers: [{{type: b}}]\n"
    assert errors(text) == ["spec.yaml:5:35: in b_1 (block 'b'): units '${n * n}': the result has more than 300 digits"]


def test_arithmetic_reads_the_input_channels():
    r = report("""\
        input: [6, 4, 4]
        blocks:
          inverted:
            args: {t: 6}
            layers:
              - {type: conv2d, filters: "${in_channels * t}", kernel_size: 1, bias: false}
              - {type: conv2d, filters: "${in_channels * t}", groups: "${in_channels * t}", kernel_size: 3, padding: 1, bias: false}
              - {type: conv2d, filters: $in_channels, kernel_size: 1, bias: false}
        layers: [{type: inverted}]
    """)
    # expand 6→36: 216; depthwise 36·1·9 = 324; project 36→6: 216. 756.
    assert r.totals.params == 756


def test_embedding_takes_token_ids_only():
    assert errors("""\
        input: [16]
        layers:
          - {type: embedding, num_embeddings: 100, embedding_dim: 8}
          - {type: embedding, num_embeddings: 100, embedding_dim: 8}
    """) == ["spec.yaml:4:5: embedding layer 'embedding_2' takes token ids, but its input [16, 8] holds floats "
             "from the layer before it (ids come from the spec's input, through shape-only layers)"]


def test_recursion_through_three_blocks_and_deep_nesting_are_refused(tmp_path):
    deep = "input: [4]\nlayers:\n" + "".join("  " * i + "  - type: sequence\n" + "  " * i + "    layers:\n"
                                              for i in range(80)) + "  " * 80 + "  - {type: relu}\n"
    assert "layers nest more than 64 deep" in errors(deep)[0]


def test_the_cli_prints_composed_specs(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(textwrap.dedent(BASIC))
    out = subprocess.run([sys.executable, "-m", "paramcount", str(spec), "--json"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert '"params": 992' in out.stdout


def test_the_benchmark_specs_count_as_derived_by_hand():
    from paramcount import load_file

    llama = analyze(load_file(str(ROOT / "benchmarks" / "llama2-70b.yaml")))
    # embed 32000·8192 = 262,144,000; per layer: q and o 8192² each = 134,217,728, k and v 8192·1024 each
    # = 16,777,216, gate/up/down 3·8192·28672 = 704,643,072, two RMSNorms 16,384: 855,654,400; ×80 =
    # 68,452,352,000; final norm 8,192; lm_head 262,144,000. Total 68,976,648,192 (Hugging Face's figure).
    assert llama.totals.params == 68_976_648_192
    million = analyze(load_file(str(ROOT / "benchmarks" / "repeat-million.yaml")))
    # layernorm 1,024; 512→2048 1,050,624; 2048→512 1,049,088: 2,100,736 a block, a million times.
    assert million.totals.params == 2_100_736 * 10**6
    assert sum(1 for _ in million.leaves()) == 3  # one copy analysed and shown, with its multiplier


def _readme_spec(marker):
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if marker in b)


def test_the_readme_examples_count_what_the_readme_says():
    r = analyze(load_text(_readme_spec("name: resnet-stages"), "README.md"))
    # layer1: 2 × (2 · 64·64·9 + 2 · 128) = 147,968 trainable, 2 × 2 × 128 = 512 running statistics;
    # layer2: 73,728 + 147,456 + 8,192 + 3 · 256 = 230,144 and 2 · 147,456 + 2 · 256 = 295,424:
    # 525,568, with 5 × 256 = 1,280 running statistics.
    assert [(n.path, n.counts.trainable, n.counts.non_trainable) for n in r.layers] == [
        ("layer1", 147_968, 512), ("layer2", 525_568, 1_280)]
    lstm = analyze(load_text(_readme_spec("name: lstm-classifier"), "README.md"))
    # 2,560,000 + 395,264 + 526,336 + 1,285, as the README derives them.
    assert lstm.totals.params == 3_482_885


def test_the_readme_json_of_a_composed_spec_is_what_paramcount_prints(tmp_path):
    import json
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Composed specs.**"):]
    spec, shown = re.findall(r"```(?:yaml|json)\n(.*?)```", section, re.S)[:2]
    (tmp_path / "tied.yaml").write_text(spec)
    out = subprocess.run([sys.executable, "-m", "paramcount", "tied.yaml", "--json"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert json.loads(out.stdout) == json.loads(shown)
    doc = json.loads(shown)
    # wte 100·8 = 800; h: 2 × ((8·32 + 32) + (32·8 + 8)) = 2 × 552 = 1,104; head tied to wte: 0.
    assert doc["totals"]["params"] == 1_904 == sum(leaf["params"] * leaf["copies"] for leaf in doc["layers"])
    # outputs per sample: wte 16·8 = 128; h 2 × (16·32 + 16·8) = 1,280; head 16·100 = 1,600: 3,008
    assert doc["totals"]["activations"] == 3_008 == sum(leaf["activations"] * leaf["repeat"] for leaf in doc["layers"])
    assert doc["tree"][1]["activations"] == 1_280


def test_nested_repeats_cannot_make_an_unprintable_count():
    """Fifteen 300-digit repeats inside each other made a 4,500-digit count: Python's ValueError."""
    text = "input: [4]\nlayers:\n" + "".join("  " * i + f"  - type: sequence\n" + "  " * i + f"    repeat: 1{'0' * 299}\n"
                                          + "  " * i + "    layers:\n" for i in range(15)) + "  " * 15 + "  - {type: dense, units: 4}\n"
    (line,) = errors(text)
    assert line.endswith("repeats inside repeats make more than 4,000-digit copies of a layer; the limit keeps "
                         "every count printable")


def test_copies_that_change_the_shape_but_not_the_counts_share_a_row():
    r = report("""\
        input: [4, 8]
        layers:
          - {type: class_token, repeat: 9000}
    """)
    # one [1, 8] token a copy: 8 × 9,000 = 72,000; the shape grows by one row a copy.
    assert r.totals.params == 72_000 and r.layers[0].output_shape == (9_004, 8)
    assert len(list(r.leaves())) == 1


def test_messages_list_a_few_names_and_shapes():
    args = ", ".join(f"a{i}: 1" for i in range(30))
    (line,) = errors(f"""\
        input: [4]
        blocks:
          b:
            args: {{{args}}}
            layers: [{{type: relu}}]
        layers: [{{type: b, y: 2}}]
    """)
    assert line.endswith("(arguments: a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, and 20 more)")
    assert "write 010 without its leading zero" in errors("""\
        input: [4]
        blocks:
          b:
            layers: [{type: dense, units: "${010}"}]
        layers: [{type: b}]
    """)[0]


def test_ids_pass_through_a_concat_and_a_residual_of_shape_only_layers():
    r = report("""\
        input: [6]
        layers:
          - {type: parallel, branches: [[{type: dropout}], [{type: dropout}]]}
          - {type: residual, body: [{type: dropout}]}
          - {type: embedding, num_embeddings: 10, embedding_dim: 3}
    """)
    assert r.totals.params == 30 and r.layers[-1].output_shape == (12, 3)


def test_active_parameters_of_a_mixture_of_experts():
    r = report("""\
        input: [5, 8]
        layers:
          - {type: moe, num_experts: 4, top_k: 2, hidden: 16, repeat: 2}
          - {type: dense, units: 3}
    """)
    # one moe: router 8·4 = 32; 4 experts of 3 matrices 8·16 = 128: 1,536; total 1,568, active 32 + 2 · 384 = 800.
    # two copies: 3,136 in all, 1,600 active; the dense 8·3 + 3 = 27 is always active.
    assert r.totals.params == 3_163 and r.active_params == 1_627
    assert r.to_dict()["active_params"] == 1_627
    assert report("input: [4]\nlayers: [{type: dense, units: 2}]\n").active_params is None


def test_the_readme_hugging_face_example_is_what_paramcount_prints(tmp_path):
    import re
    import shutil

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Hugging Face `config.json`"):]
    shown = re.findall(r"```\n(.*?)```", section, re.S)[0]
    shutil.copy(ROOT / "tests" / "hf_configs" / "mistral-7b.json", tmp_path / "config.json")
    out = subprocess.run([sys.executable, "-m", "paramcount", "config.json", "--depth", "1"], capture_output=True,
                         text=True, cwd=tmp_path, env={**__import__("os").environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
    assert "Total params: 7,241,732,096" in shown  # Mistral-7B, as transformers counts its config


def test_the_readme_explanation_is_the_golden_one():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    golden = (ROOT / "tests" / "golden" / "lenet5_explain.txt").read_text(encoding="utf-8")
    assert "```\n" + golden.rstrip("\n") + "\n```" in text  # tests/test_explain.py checks the golden file


def test_the_readme_compute_lines_are_what_paramcount_prints():
    out = subprocess.run([sys.executable, "-m", "paramcount", "resnet50"], capture_output=True, text=True, cwd=ROOT,
                         env={**__import__("os").environ, "COLUMNS": "80"})
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## Compute, connections"):].split("```")[1].strip("\n")
    assert block in out.stdout and "4,089,184,256" in block  # torchvision's 4.09 G for ResNet-50


def test_the_readme_memory_lines_are_what_paramcount_prints():
    out = subprocess.run([sys.executable, "-m", "paramcount", "llama2-7b", "--dtype", "fp16"], capture_output=True,
                         text=True, cwd=ROOT)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("`paramcount llama2-7b --dtype fp16`:"):].split("```")[1].strip("\n")
    assert block in out.stdout
    # 6,738,415,616 × 2 bytes = 13,476,831,232: 12.6 GiB, as the README derives it.
    assert "Parameter memory (fp16): 12.6 GiB" in block


def test_the_readme_keras_example_is_what_paramcount_prints(tmp_path):
    import os
    import re

    from conftest import require

    keras = require("keras")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Keras models"):]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        scope = {}
        exec(code, scope)  # the README's own snippet builds and saves the model
        counted = scope["model"].count_params()
    finally:
        os.chdir(cwd)
    out = subprocess.run([sys.executable, "-m", "paramcount", "classifier.keras"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
    # 20,000·128 = 2,560,000; Keras's LSTM 4·256·(128 + 256) + 4·256 = 394,240; 256·5 + 5 = 1,285.
    assert counted == 2_955_525 and f"Total params: {counted:,}" in shown and keras


def test_the_readme_onnx_example_is_what_paramcount_prints(tmp_path):
    import os
    import re
    import warnings

    from conftest import require

    require("onnx")
    require("torch")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### ONNX files"):]
    code, shown = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the legacy exporter says it is legacy
            exec(code, {})
    finally:
        os.chdir(cwd)
    out = subprocess.run([sys.executable, "-m", "paramcount", "mlp.onnx"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    assert out.stdout == shown
    assert "Total params: 154" in shown  # 16·8 + 8 + 8·2 + 2, as the snippet's comment derives
    # The bilinear form: its snippet runs after the MLP's (torch and nn in scope), its output as pasted
    # and the warning on stderr as the README quotes it.
    later = section[section.index("A bilinear form"):]
    snippet, table, warning = re.findall(r"```(?:python)?\n(.*?)```", later, re.S)[:3]
    os.chdir(tmp_path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec("import torch\nfrom torch import nn\n" + snippet, {})
    finally:
        os.chdir(cwd)
    out = subprocess.run([sys.executable, "-m", "paramcount", "bilinear.onnx"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0 and out.stdout == table and out.stderr == warning
    assert "Total params: 768" in table and "MACs: not known" in table  # 3 · 16 · 16, never a MACs of 0
