"""`--explain`: each layer's count as a formula with the numbers filled in (issue 9).

The golden file holds the explanations only (from "Where the numbers come from:" on), so the table
above them may gain columns without touching it. Regenerate with PARAMCOUNT_UPDATE_GOLDEN=1 and
check every figure by hand, as below.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import run_cli

from paramcount import explain
from paramcount.analyze import analyze
from paramcount.layers import REGISTRY
from paramcount.sources import load, preset_names
from paramcount.spec import load_text

GOLDEN = Path(__file__).resolve().parent / "golden" / "lenet5_explain.txt"
UPDATE = os.environ.get("PARAMCOUNT_UPDATE_GOLDEN") == "1"

# One layer of every type the presets leave out, in both recurrent conventions, stacked and
# bidirectional, grouped, transposed and locally connected convolutions.
ALL_TYPES = """
name: all
input: [8, 16]
layers:
  - {type: lstm, name: lstm_torch, hidden_size: 4}
  - {type: lstm, name: lstm_keras, hidden_size: 4, convention: keras}
  - {type: lstm, name: lstm_deep, hidden_size: 4, num_layers: 6, bidirectional: true}
  - {type: lstm, name: lstm_proj, hidden_size: 6, proj_size: 3}
  - {type: gru, name: gru_k, hidden_size: 4, convention: keras}
  - {type: gru, name: gru_k1, hidden_size: 4, convention: keras, reset_after: false, bidirectional: true, num_layers: 2}
  - {type: rnn, name: rnn, hidden_size: 4, bias: false}
  - {type: moe, name: moe, num_experts: 4, top_k: 2, hidden: 5}
  - {type: class_token}
  - {type: permute, dims: [1, 0]}
  - {type: reshape, shape: [4, 3, 3]}
  - {type: groupnorm, num_groups: 2}
  - {type: instancenorm, affine: true, track_running_stats: true}
  - {type: upsample, scale_factor: 2}
  - {type: conv2d_transpose, filters: 4, kernel_size: 3, groups: 2}
  - {type: separable_conv2d, filters: 6, kernel_size: 3, depth_multiplier: 2}
  - {type: conv2d, name: local, filters: 4, kernel_size: 3, weight_sharing: false}
  - {type: conv2d, name: grouped, filters: 4, kernel_size: 1, groups: 2, bias: false}
  - {type: depthwise_conv2d, kernel_size: 3}
  - {type: reshape, shape: [4, 4]}
  - {type: conv1d_transpose, filters: 2, kernel_size: 2}
  - {type: reshape, shape: [2, 1, 5, 1]}
  - {type: conv3d_transpose, filters: 2, kernel_size: 1}
  - {type: conv3d, filters: 2, kernel_size: 1}
  - {type: maxpool3d, kernel_size: 1}
  - {type: avgpool3d, kernel_size: 1}
  - {type: adaptiveavgpool3d, output_size: 1}
  - {type: adaptivemaxpool3d, output_size: 1}
  - {type: reshape, shape: [2, 1, 1]}
  - {type: adaptivemaxpool2d, output_size: 1}
  - {type: reshape, shape: [2, 1]}
  - {type: conv1d, filters: 3, kernel_size: 1}
  - {type: maxpool1d, kernel_size: 1}
  - {type: avgpool1d, kernel_size: 1}
  - {type: adaptiveavgpool1d, output_size: 1}
  - {type: adaptivemaxpool1d, output_size: 1}
  - {type: elu}
  - {type: gelu}
  - {type: identity}
  - {type: leaky_relu}
  - {type: sigmoid}
  - {type: silu}
  - {type: softmax}
"""


def explained(source, depth=None):
    report = analyze(load(source) if not source.startswith("\n") else load_text(source))
    lines = {}
    for _, line in explain.explanations(report, depth):
        label, text = line.split(": ", 1)
        lines.setdefault(label, text)  # the first of several alike (`residual`)
    return lines, report


def test_lenet5_golden():
    out = run_cli("lenet5", "--explain", COLUMNS="80")
    assert out.exit_code == 0
    text = out.stdout
    at = text.index("Where the numbers come from:")
    assert text[:at].startswith("LeNet-5") and "Total params: 61,706" in text[:at]  # after the table
    if UPDATE:
        GOLDEN.write_text(text[at:])
    # Checked by hand:
    #   C1: 6 × (1 × 5 × 5 + 1) = 6 × 26 = 156; 28 × 28 = 784 positions × 156 = 122,304
    #   C3: 16 × (6 × 25 + 1) = 16 × 151 = 2,416; 10 × 10 = 100 × 2,416 = 241,600
    #   C5: 120 × (16 × 25 + 1) = 120 × 401 = 48,120 (a 1 × 1 output: sharing saves nothing)
    #   F6: 84 × (120 + 1) = 10,164; OUTPUT: 10 × (84 + 1) = 850
    #   156 + 2,416 + 48,120 + 10,164 + 850 = 61,706, the table's total
    assert text[at:] == GOLDEN.read_text()
    assert all(len(line) <= 80 for line in text.splitlines()[text[:at].count("\n"):])


def test_wraps_to_the_terminal():
    out = run_cli("resnet18", "--explain", "--depth", "2", COLUMNS="50").stdout
    lines = out[out.index("Where the numbers"):].splitlines()
    assert all(len(line) <= 50 for line in lines)
    # a continuation line is indented further than the line it continues
    i = next(i for i, line in enumerate(lines) if line.startswith("  conv1:"))
    assert lines[i + 1].startswith("      ") and not lines[i + 1].startswith("       ")


def test_markdown_list_and_no_explain_for_json_or_csv():
    md = run_cli("lenet5", "--explain", "--format", "markdown").stdout
    assert "#### Where the numbers come from" in md
    assert "- `C1`: 6 filters × (1 channel × 5 × 5 weights + 1 bias) = 156; without sharing, " \
           "28 × 28 positions × 156 = 122,304" in md
    assert md.index("| **Total** |") < md.index("#### Where")
    # JSON and CSV hold figures, not prose: --explain there is a usage error (as --columns with JSON)
    for fmt in ("json", "csv"):
        result = run_cli("lenet5", "--explain", "--format", fmt)
        assert result.exit_code == 2 and result.stdout == "" and "--explain" in result.stderr


def test_resnet18_depth_1_blocks_sum_their_parts():
    out = run_cli("resnet18", "--explain", "--depth", "1", COLUMNS="200").stdout
    lines = out[out.index("Where the numbers"):].splitlines()
    # conv1: 64 × 3 × 7 × 7 = 9,408; 112 × 112 = 12,544 positions × 9,408 = 118,013,952
    assert "  conv1: 64 filters × 3 channels × 7 × 7 weights = 9,408; without sharing, " \
           "112 × 112 positions × 9,408 = 118,013,952" in lines
    # bn1: 64 × 2 = 128 trained, 64 × 2 = 128 running statistics
    assert "  bn1: 64 channels × (γ + β) = 128 trained + 64 channels × (running mean + running variance) " \
           "= 128 running statistics, not trained: 256" in lines
    # one basic block: 2 × 64 × 64 × 9 = 73,728 + 2 × 256 = 74,240; two of them 148,480
    assert "  layer1 (basic ×2): 2 × 74,240 = 148,480" in lines
    # layer2: a downsampling block (73,728 + 147,456 + 8,192 + 3 × 512 = 230,912) and a plain one
    assert "  layer2 (sequence): basic_down 230,912 + basic 295,936 = 526,848" in lines
    assert lines[-1] == "  Total: 9,408 + 256 + 148,480 + 526,848 + 2,102,272 + 8,398,848 + 513,000 = 11,699,112"
    deeper, _ = explained("resnet18", depth=3)
    assert deeper["residual"].startswith("conv1 36,864 + bn1 256 + conv2 36,864 + bn2 256 = 74,240")


def test_gpt2_tie():
    lines, _ = explained("gpt2", depth=1)
    # the output layer's kernel [768, 50257] is the token table [50257, 768], transposed: 0 here
    assert lines["lm_head"] == "its [768, 50257] kernel is wte's table, transposed: counted there"
    assert lines["wte"] == "50,257 tokens × 768 features = 38,597,376"
    assert lines["h (block ×12)"].startswith("12 × 7,087,872 = 85,054,464; one copy: ")


def test_tie_with_bias_keeps_the_bias():
    spec = """
name: tied
input: [5]
layers:
  - {type: embedding, name: emb, num_embeddings: 10, embedding_dim: 4}
  - {type: dense, name: head, units: 10, tie: emb}
"""
    lines, _ = explained(spec)
    assert lines["head"] == "its [4, 10] kernel is emb's table, transposed: counted there; its own 10 biases = 10"


def test_albert_shared_layer():
    lines, report = explained("albert-base", depth=2)
    # one layer: attention 2,363,904 + feed-forward 4,722,432 + norm 1,536 = 7,087,872, used 12 times
    assert lines["layer (layer ×12, shared)"] == (
        "its 12 copies share one set of weights, counted once: attention 2,363,904 + residual 4,722,432 "
        "+ full_layer_layer_norm 1,536 = 7,087,872")


def test_lstm_both_conventions():
    lines, _ = explained(ALL_TYPES)
    # PyTorch: 4 gates × 4 units × (16 inputs + 4 recurrent + 2 biases) = 16 × 22 = 352
    assert lines["lstm_torch"] == ("4 gates × 4 units × (16 inputs + 4 recurrent + 2 biases) = 352 "
                                   "(PyTorch: two bias vectors, b_ih and b_hh)")
    # Keras: 4 × 4 × (4 + 4 + 1) = 144 (its input is lstm_torch's output, 4 features)
    assert lines["lstm_keras"] == "4 gates × 4 units × (4 inputs + 4 recurrent + 1 bias) = 144 (Keras: one bias vector)"
    # 6 layers, both directions: layer 0 2 × 16 × 10 = 320; layers 1-5 take 8 inputs: 5 × 2 × 16 × 14 = 2,240
    assert lines["lstm_deep"] == (
        "layer 0: 2 directions × (4 gates × 4 units × (4 inputs + 4 recurrent + 2 biases)) = 320; "
        "layers 1-5: 5 layers × 2 directions × (4 gates × 4 units × (8 inputs + 4 recurrent + 2 biases)) = 2,240; "
        "in all, 320 + 2,240 = 2,560 (PyTorch: two bias vectors, b_ih and b_hh)")
    # projection: 4 × 6 × (8 + 3 + 2) = 312 + 3 × 6 = 330
    assert lines["lstm_proj"].startswith("4 gates × 6 units × (8 inputs + 3 recurrent + 2 biases) + 3 × 6 projection = 330")
    # Keras GRU with reset_after: two bias vectors: 3 × 4 × (3 + 4 + 2) = 108
    assert lines["gru_k"].startswith("3 gates × 4 units × (3 inputs + 4 recurrent + 2 biases) = 108")


def test_every_registered_type_has_an_explanation():
    missing = sorted(set(REGISTRY) - set(explain.EXPLAIN))
    assert not missing, f"no explanation for {missing}: add one to paramcount.explain.EXPLAIN"


def test_every_type_explains_its_own_count():
    """Run every registered type (the presets plus ALL_TYPES cover them all): no explanation fails,
    and each leaf's explanation names its own params figure."""
    seen = set()
    for source in preset_names() + [ALL_TYPES]:
        report = analyze(load(source) if source in preset_names() else load_text(source))
        owners = {}
        lines = list(explain.explanations(report))
        assert lines[-1][1].endswith(f"{report.totals.params:,}")
        for leaf, _, _ in report.leaves():
            seen.add(leaf.type)
            text = explain.explain_node(leaf, owners)
            one = explain._one_copy(leaf)
            if one and not leaf.tied_to:
                assert f"= {one:,}" in text or f": {one:,}" in text, (source[:20], leaf.path, text)
            elif not one and not leaf.tied_to:
                assert text.startswith("no parameters"), (leaf.path, text)
    assert set(REGISTRY) <= seen, sorted(set(REGISTRY) - seen)


def test_frozen_and_locally_connected():
    lines, _ = explained("lenet5-1998")
    # LeNet-1998's C3 table: 60 channel links × 25 + 16 biases = 1,516; × 100 positions = 151,600
    assert lines["C3"] == ("16 filters see 60 input channels in all (a connection table): 60 × 5 × 5 weights "
                           "+ 16 biases = 1,516; without sharing, 10 × 10 positions × 1,516 = 151,600")
    assert lines["OUTPUT"] == "10 units × a centre of 84 inputs, no bias = 840 (frozen: not trainable)"
    lines, _ = explained(ALL_TYPES)
    # input [6, 6, 6], 3 × 3 kernel: 4 × 4 positions × 4 filters × (6 × 9 + 1) = 16 × 220 = 3,520
    assert lines["local"] == "locally connected (no sharing): 4 × 4 positions × 4 filters × (54 weights + 1 bias) = 3,520"
    assert lines["grouped"].startswith("4 filters × 2 channels (of 4, in 2 groups) × 1 × 1 weights = 8")


def test_an_ascii_terminal_gets_ascii():
    import io

    report = analyze(load("resnet18"))
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    explain.write_text(stream, report, depth=1, width=80)
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "  bn1: 64 channels x (gamma + beta) = 128 trained" in text
