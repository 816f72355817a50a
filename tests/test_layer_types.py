"""Issue 7's layer types against the oracles: PyTorch (tests/torch_oracle.py) for every type and
Keras 3 (tests/keras_oracle.py) for what Keras counts its own way (recurrent biases, depthwise and
separable convolutions). Each case is a flat spec; paramcount must agree on every layer's output
shape, trainable and non-trainable counts, weights and biases, and (torch) the unshared count.
Specs that torch or Keras refuse, paramcount must refuse too, with a clean error.

torch and keras are optional on a user's machine: without them these tests skip, unless
PARAMCOUNT_REQUIRE_TORCH=1 (as .ci/run sets), in which case they fail.
"""

from __future__ import annotations

import pytest
import yaml

from paramcount import SpecError, analyze, load_text
from paramcount.layers import COMMON, REGISTRY, Field, Invalid

pytestmark = [pytest.mark.filterwarnings("ignore:Failed to initialize NumPy"),
              pytest.mark.filterwarnings("ignore:Using padding='same'"),
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def spec_of(input_shape, *layers):
    return {"input": list(input_shape), "layers": [dict(layer) for layer in layers]}


def ours(spec):
    return analyze(load_text(yaml.safe_dump(spec, sort_keys=False), path="spec.yaml")).to_dict()


def agree(spec, expected, unshared=True):
    got = ours(spec)
    problems = []
    assert len(got["layers"]) == len(expected.layers)
    for i, (layer, want) in enumerate(zip(got["layers"], expected.layers)):
        pairs = [("output_shape", list(layer["output_shape"]), want.output_shape),
                 ("trainable", layer["trainable"], want.trainable),
                 ("non_trainable", layer["non_trainable"], want.non_trainable),
                 ("weights", layer["weights"], want.weights), ("biases", layer["biases"], want.biases)]
        if unshared:
            pairs.append(("params_unshared", layer["params_unshared"],
                          want.params if want.params_unshared is None else want.params_unshared))
        problems += [f"layer {i} ({layer['type']}): {what}: paramcount {a!r}, oracle {b!r}"
                     for what, a, b in pairs if a != b]
    assert not problems, "\n".join(problems)
    return got


T = "type"
CASES = {
    # transposed convolutions
    "convT1d-strided": ([2, 5], {T: "conv1d_transpose", "filters": 4, "kernel_size": 3, "stride": 2, "padding": 1,
                                 "output_padding": 1}),
    "convT1d-groups-dilated": ([2, 5], {T: "conv1d_transpose", "filters": 4, "kernel_size": 3, "groups": 2,
                                        "dilation": 2, "bias": False}),
    "convT1d-output-padding-by-dilation": ([2, 5], {T: "conv1d_transpose", "filters": 1, "kernel_size": 3,
                                                    "dilation": 3, "output_padding": 2}),
    "convT2d-per-axis": ([4, 5, 6], {T: "conv2d_transpose", "filters": 6, "kernel_size": [3, 2], "stride": [2, 1],
                                     "padding": [1, 0], "output_padding": [1, 0], "groups": 2}),
    "convT3d": ([2, 3, 4, 5], {T: "conv3d_transpose", "filters": 3, "kernel_size": 2, "stride": 2}),
    # depthwise and separable
    "depthwise": ([3, 8, 8], {T: "depthwise_conv2d", "kernel_size": 3}),
    "depthwise-multiplier-same": ([3, 9, 7], {T: "depthwise_conv2d", "kernel_size": [3, 2], "depth_multiplier": 2,
                                              "stride": 2, "padding": "same", "bias": False}),
    "depthwise-dilated": ([4, 10, 10], {T: "depthwise_conv2d", "kernel_size": 3, "dilation": 2, "padding": 1,
                                        "stride": [1, 2]}),
    "separable": ([3, 8, 8], {T: "separable_conv2d", "filters": 5, "kernel_size": 3, "depth_multiplier": 2}),
    "separable-same-strided": ([3, 9, 9], {T: "separable_conv2d", "filters": 4, "kernel_size": 3, "stride": 2,
                                           "padding": "same", "bias": False}),
    "separable-valid-frozen": ([2, 6, 6], {T: "separable_conv2d", "filters": 4, "kernel_size": 3,
                                           "padding": "valid", "trainable": False}),
    # recurrent, torch convention
    "lstm-issue": ([10, 128], {T: "lstm", "hidden_size": 256}),
    "rnn-bidirectional-2": ([7, 4], {T: "rnn", "hidden_size": 5, "bidirectional": True, "num_layers": 2}),
    "gru-last-nobias": ([7, 4], {T: "gru", "hidden_size": 6, "return_sequences": False, "bias": False}),
    "lstm-proj-bidirectional": ([7, 4], {T: "lstm", "hidden_size": 8, "proj_size": 3, "num_layers": 2,
                                         "bidirectional": True}),
    "lstm-3-layers-last": ([7, 4], {T: "lstm", "hidden_size": 8, "num_layers": 3, "return_sequences": False}),
    "lstm-deep-stacked": ([4, 3], {T: "lstm", "hidden_size": 3, "num_layers": 6, "bidirectional": True,
                                   "proj_size": 2}),
    "rnn-deep-stacked": ([4, 3], {T: "rnn", "hidden_size": 2, "num_layers": 5, "bias": False}),
    "gru-bidirectional": ([3, 2], {T: "gru", "hidden_size": 4, "bidirectional": True, "num_layers": 2,
                                   "reset_after": True}),
    # attention
    "mha": ([5, 8], {T: "attention", "num_heads": 2}),
    "mha-no-bias": ([5, 8], {T: "attention", "num_heads": 2, "qkv_bias": False, "out_bias": False}),
    "mha-kv-dim": ([5, 12], {T: "attention", "num_heads": 3, "kv_dim": 7}),
    "gqa": ([5, 8], {T: "attention", "num_heads": 4, "num_kv_heads": 2, "qkv_bias": False, "out_bias": False}),
    "gqa-mqa-head-dim": ([5, 8], {T: "attention", "num_heads": 2, "num_kv_heads": 1, "head_dim": 3, "kv_dim": 5}),
    "attention-qkv-bias-only": ([5, 8], {T: "attention", "num_heads": 2, "out_bias": False}),
    "attention-head-dim-not-dividing": ([4, 10], {T: "attention", "num_heads": 3, "head_dim": 4}),
    # normalisations
    "rmsnorm": ([5, 8], {T: "rmsnorm"}),
    "rmsnorm-no-affine": ([5, 8], {T: "rmsnorm", "affine": False, "eps": 1e-6}),
    "rmsnorm-rank3": ([4, 3, 3], {T: "rmsnorm"}),
    "groupnorm": ([6, 4, 4], {T: "groupnorm", "num_groups": 3}),
    "groupnorm-no-affine": ([6, 4, 4], {T: "groupnorm", "num_groups": 6, "affine": False}),
    "groupnorm-seq": ([4, 5], {T: "groupnorm", "num_groups": 2}),
    "groupnorm-vector": ([4], {T: "groupnorm", "num_groups": 2}),
    "instancenorm-1d": ([3, 5], {T: "instancenorm"}),
    "instancenorm-2d-affine": ([3, 4, 4], {T: "instancenorm", "affine": True}),
    "instancenorm-3d-stats": ([3, 2, 3, 4], {T: "instancenorm", "affine": True, "track_running_stats": True}),
    "instancenorm-stats-frozen": ([3, 1, 2], {T: "instancenorm", "track_running_stats": True, "affine": True,
                                              "trainable": False}),
    # shape-only
    "upsample-scale": ([2, 3, 4], {T: "upsample", "scale_factor": 2}),
    "upsample-size-1d": ([2, 5], {T: "upsample", "size": 7}),
    "upsample-scale-3d": ([2, 3, 4, 5], {T: "upsample", "scale_factor": [1, 2, 3]}),
    "upsample-size-2d": ([2, 3, 4], {T: "upsample", "size": [5, 6]}),
    "reshape": ([2, 3, 4], {T: "reshape", "shape": [6, 4]}),
    "reshape-flat": ([2, 3, 4], {T: "reshape", "shape": [-1]}),
    "reshape-infer-middle": ([2, 3, 4], {T: "reshape", "shape": [4, -1, 2]}),
    "permute": ([2, 3, 4], {T: "permute", "dims": [2, 0, 1]}),
    "permute-transpose": ([5, 8], {T: "permute", "dims": [1, 0]}),
    "select-token0": ([5, 8], {T: "select"}),
    "select-last-feature": ([5, 8], {T: "select", "axis": 1, "index": -1}),
    "select-negative-axis": ([2, 3, 4], {T: "select", "axis": -2, "index": 2}),
    "relu6": ([3, 4], {T: "relu6"}),
    # what the presets need
    "positional-embedding-full": ([5, 8], {T: "positional_embedding", "num_positions": 5}),
    "positional-embedding-longer": ([5, 8], {T: "positional_embedding", "num_positions": 10}),
    "class-token": ([5, 8], {T: "class_token"}),
    "subsample2d": ([6, 28, 28], {T: "subsample2d"}),
    "subsample2d-per-axis": ([2, 7, 5], {T: "subsample2d", "kernel_size": [2, 3]}),
    "rbf": ([84], {T: "rbf", "units": 10}),
    "rbf-seq-frozen": ([3, 84], {T: "rbf", "units": 10, "trainable": False}),
    "connections": ([6, 14, 14], {T: "conv2d", "filters": 3, "kernel_size": 5,
                                  "connections": [[0, 1, 2], [1, 2, 3, 4], [0, 5]]}),
    "connections-unshared": ([6, 8, 8], {T: "conv2d", "filters": 2, "kernel_size": 3, "weight_sharing": False,
                                         "connections": [[0, 1, 2], [3]]}),
    "connections-same-strided": ([4, 9, 9], {T: "conv2d", "filters": 2, "kernel_size": 3, "stride": 2,
                                             "padding": "same", "bias": False, "connections": [[3, 0], [1, 2]],
                                             "activation": "tanh"}),
}

STACKS = {
    "class-token-then-positions": ([5, 8], {T: "class_token"}, {T: "positional_embedding", "num_positions": 6}),
    "ids-reshaped-then-embedded": ([2, 3], {T: "reshape", "shape": [6]},
                                   {T: "embedding", "num_embeddings": 10, "embedding_dim": 4},
                                   {T: "lstm", "hidden_size": 3}, {T: "select", "index": -1}),
    "lenet1998-c3": ([6, 14, 14], {T: "conv2d", "filters": 16, "kernel_size": 5, "connections": [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],
        [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]}, {T: "subsample2d"}),
    "unet-ish": ([3, 8, 8], {T: "conv2d", "filters": 4, "kernel_size": 3, "padding": 1},
                 {T: "groupnorm", "num_groups": 2}, {T: "conv2d_transpose", "filters": 2, "kernel_size": 2,
                                                     "stride": 2}, {T: "upsample", "scale_factor": 2}),
    "vit-ish": ([4, 6, 6], {T: "conv2d", "filters": 8, "kernel_size": 3, "stride": 3}, {T: "reshape", "shape": [8, 4]},
                {T: "permute", "dims": [1, 0]}, {T: "class_token"}, {T: "positional_embedding", "num_positions": 5},
                {T: "layernorm"}, {T: "attention", "num_heads": 2}, {T: "select"}, {T: "dense", "units": 3}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_agrees_with_torch(case, torch_oracle):
    input_shape, layer = CASES[case]
    spec = spec_of(input_shape, layer)
    agree(spec, torch_oracle.oracle(spec))


@pytest.mark.parametrize("case", sorted(STACKS))
def test_stack_agrees_with_torch(case, torch_oracle):
    input_shape, *layers = STACKS[case]
    spec = spec_of(input_shape, *layers)
    agree(spec, torch_oracle.oracle(spec))


def test_lstm_figures_of_the_issue(torch_oracle, keras_oracle):
    """A 256-unit LSTM on 128 features: 395,264 in PyTorch, 394,240 in Keras."""
    torch_spec = spec_of([10, 128], {T: "lstm", "hidden_size": 256})
    keras_spec = spec_of([10, 128], {T: "lstm", "hidden_size": 256, "convention": "keras"})
    assert torch_oracle.oracle(torch_spec).trainable == 395_264
    assert keras_oracle.oracle(keras_spec).trainable == 394_240
    assert ours(torch_spec)["totals"]["trainable"] == 395_264
    assert ours(keras_spec)["totals"]["trainable"] == 394_240


KERAS_CASES = {
    "lstm-issue": ([10, 128], {T: "lstm", "hidden_size": 256, "convention": "keras"}),
    "rnn-bidirectional-2": ([7, 4], {T: "rnn", "hidden_size": 5, "bidirectional": True, "num_layers": 2,
                                     "convention": "keras"}),
    "gru-reset-after": ([7, 4], {T: "gru", "hidden_size": 6, "convention": "keras"}),
    "gru-reset-before": ([7, 4], {T: "gru", "hidden_size": 6, "convention": "keras", "reset_after": False}),
    "gru-no-bias-last": ([7, 4], {T: "gru", "hidden_size": 6, "convention": "keras", "bias": False,
                                  "return_sequences": False}),
    "gru-reset-before-bidirectional": ([3, 5], {T: "gru", "hidden_size": 2, "convention": "keras",
                                                "reset_after": False, "bidirectional": True, "num_layers": 2}),
    "gru-deep-stacked": ([3, 2], {T: "gru", "hidden_size": 2, "num_layers": 6, "convention": "keras",
                                  "bidirectional": True}),
    "lstm-stack-last": ([7, 4], {T: "lstm", "hidden_size": 3, "num_layers": 2, "return_sequences": False,
                                 "convention": "keras"}),
    "lstm-bidirectional-frozen": ([7, 4], {T: "lstm", "hidden_size": 3, "bidirectional": True,
                                           "convention": "keras", "trainable": False}),
    "depthwise": ([3, 8, 8], {T: "depthwise_conv2d", "kernel_size": 3}),
    "depthwise-multiplier-same": ([3, 9, 7], {T: "depthwise_conv2d", "kernel_size": [3, 2], "depth_multiplier": 2,
                                              "stride": 2, "padding": "same", "bias": False}),
    "depthwise-int-padding": ([4, 10, 10], {T: "depthwise_conv2d", "kernel_size": 3, "padding": [1, 2]}),
    "separable": ([3, 8, 8], {T: "separable_conv2d", "filters": 5, "kernel_size": 3, "depth_multiplier": 2}),
    "separable-same-strided": ([3, 9, 9], {T: "separable_conv2d", "filters": 4, "kernel_size": 3, "stride": 2,
                                           "padding": "same", "bias": False}),
    "separable-dilated": ([2, 9, 9], {T: "separable_conv2d", "filters": 3, "kernel_size": 2, "dilation": 2}),
}


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_layer_agrees_with_keras(case, keras_oracle):
    input_shape, layer = KERAS_CASES[case]
    spec = spec_of(input_shape, layer)
    agree(spec, keras_oracle.oracle(spec), unshared=False)


def test_keras_stack_agrees(keras_oracle):
    spec = spec_of([3, 8, 8], {T: "separable_conv2d", "filters": 4, "kernel_size": 3, "padding": "same"},
                   {T: "depthwise_conv2d", "kernel_size": 3, "depth_multiplier": 2}, {T: "flatten"},
                   {T: "dense", "units": 5})
    agree(spec, keras_oracle.oracle(spec), unshared=False)


@pytest.mark.parametrize("case", ["depthwise", "depthwise-multiplier-same", "separable", "separable-same-strided"])
def test_torch_and_keras_agree_on_convolutions(case, torch_oracle, keras_oracle):
    """Depthwise convolutions count alike; the separable one is Keras's (one bias), which the torch
    oracle builds as a depthwise Conv2d without bias and a 1x1 Conv2d with one."""
    spec = spec_of(*KERAS_CASES[case])
    t, k = torch_oracle.oracle(spec), keras_oracle.oracle(spec)
    assert (t.trainable, t.layers[0].weights, t.layers[0].biases, t.layers[0].output_shape) == (
        k.trainable, k.layers[0].weights, k.layers[0].biases, k.layers[0].output_shape)


def test_torch_and_keras_differ_on_recurrent_biases(torch_oracle, keras_oracle):
    """The same GRU: PyTorch 2 bias vectors per gate set; Keras with reset_after the same 2, without 1."""
    for kind, gates in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        torch_spec = spec_of([6, 5], {T: kind, "hidden_size": 7})
        keras_spec = spec_of([6, 5], {T: kind, "hidden_size": 7, "convention": "keras"})
        t, k = torch_oracle.oracle(torch_spec), keras_oracle.oracle(keras_spec)
        matrices = gates * 7 * (5 + 7)
        assert t.layers[0].weights == k.layers[0].weights == matrices
        assert t.layers[0].biases == 2 * gates * 7
        assert k.layers[0].biases == (2 if kind == "gru" else 1) * gates * 7
        assert (ours(torch_spec)["totals"]["params"], ours(keras_spec)["totals"]["params"]) == (t.params, k.params)


# -- errors: paramcount refuses what torch (or Keras) refuses ---------------------------------------

REFUSED = {
    "convT-output-padding": ([2, 5], {T: "conv1d_transpose", "filters": 2, "kernel_size": 3, "stride": 2,
                                      "output_padding": 2}, "output_padding"),
    "convT-too-much-padding": ([2, 2], {T: "conv1d_transpose", "filters": 4, "kernel_size": 3, "padding": 5},
                               "padding is too large"),
    "convT-groups-channels": ([3, 4, 4], {T: "conv2d_transpose", "filters": 4, "kernel_size": 3, "groups": 2},
                              "does not divide the 3 input channels"),
    "convT-groups-filters": ([4, 4, 4], {T: "conv2d_transpose", "filters": 3, "kernel_size": 3, "groups": 2},
                             "does not divide filters=3"),
    "convT-rank": ([4, 4], {T: "conv2d_transpose", "filters": 3, "kernel_size": 3}, "needs an input"),
    "depthwise-kernel": ([3, 3, 3], {T: "depthwise_conv2d", "kernel_size": 4}, "larger than the padded input"),
    "separable-rank": ([3, 8], {T: "separable_conv2d", "filters": 2, "kernel_size": 3}, "needs an input"),
    "attention-heads-not-dividing": ([5, 8], {T: "attention", "num_heads": 3}, "does not divide the 8 features"),
    "attention-kv-heads": ([5, 8], {T: "attention", "num_heads": 4, "num_kv_heads": 3}, "num_kv_heads"),
    "attention-rank": ([8], {T: "attention", "num_heads": 2}, "[T, D]"),
    "lstm-proj-too-big": ([5, 4], {T: "lstm", "hidden_size": 8, "proj_size": 8}, "proj_size"),
    "gru-reset-before-torch": ([5, 4], {T: "gru", "hidden_size": 8, "reset_after": False}, "reset_after"),
    "rnn-rank1": ([4], {T: "rnn", "hidden_size": 3}, "[T, F]"),
    "lstm-rank3": ([2, 3, 4], {T: "lstm", "hidden_size": 3}, "[T, F]"),
    "groupnorm-groups": ([6, 4, 4], {T: "groupnorm", "num_groups": 4}, "does not divide the 6 channels"),
    "instancenorm-one-element": ([3, 1], {T: "instancenorm"}, "single spatial element"),
    "instancenorm-one-element-2d": ([3, 1, 1], {T: "instancenorm", "affine": True}, "single spatial element"),
    "instancenorm-rank1": ([3], {T: "instancenorm"}, "needs an input"),
    "upsample-both": ([2, 5], {T: "upsample", "size": 7, "scale_factor": 2}, "exactly one"),
    "upsample-neither": ([2, 5], {T: "upsample"}, "exactly one"),
    "upsample-axes": ([2, 5], {T: "upsample", "size": [2, 3]}, "spatial axes"),
    "upsample-rank1": ([4], {T: "upsample", "scale_factor": 2}, "needs an input"),
    "reshape-count": ([2, 6], {T: "reshape", "shape": [3, 5]}, "holds 15 elements"),
    "reshape-infer": ([2, 6], {T: "reshape", "shape": [5, -1]}, "cannot hold"),
    "permute-rank": ([2, 3, 4], {T: "permute", "dims": [1, 0]}, "dims lists 2 axes"),
    "select-index": ([5, 8], {T: "select", "index": 5}, "index 5 is out of range"),
    "select-negative-index": ([5, 8], {T: "select", "axis": 1, "index": -9}, "out of range"),
    "select-axis": ([5, 8], {T: "select", "axis": 2}, "axis 2 is out of range"),
    "select-rank1": ([8], {T: "select"}, "at least 2 axes"),
    "positions-too-few": ([5, 8], {T: "positional_embedding", "num_positions": 4}, "num_positions is 4"),
    "class-token-rank": ([2, 5, 8], {T: "class_token"}, "[T, D]"),
    "subsample-too-small": ([2, 2, 5], {T: "subsample2d", "kernel_size": 3}, "larger than the input"),
    "connections-count": ([6, 8, 8], {T: "conv2d", "filters": 3, "kernel_size": 3, "connections": [[0], [1]]},
                          "connections lists 2 filters"),
    "connections-range": ([3, 8, 8], {T: "conv2d", "filters": 2, "kernel_size": 3, "connections": [[0], [3]]},
                          "input channel 3"),
    "connections-groups": ([4, 8, 8], {T: "conv2d", "filters": 2, "kernel_size": 3, "groups": 2,
                                       "connections": [[0], [1]]}, "groups must be 1"),
    "connections-repeat": ([4, 8, 8], {T: "conv2d", "filters": 2, "kernel_size": 3, "connections": [[0, 0], [1]]},
                           "once"),
    "connections-empty": ([4, 8, 8], {T: "conv2d", "filters": 2, "kernel_size": 3, "connections": [[], [1]]},
                          "connections must be"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_torch_refuses_and_so_does_paramcount(case, torch_oracle):
    input_shape, layer, message = REFUSED[case]
    spec = spec_of(input_shape, layer)
    with pytest.raises(torch_oracle.OracleSpecError):
        torch_oracle.oracle(spec)
    with pytest.raises(SpecError) as refused:
        ours(spec)
    text = str(refused.value)
    assert message in text, text
    assert len(refused.value.problems) == 1 and str(refused.value.problems[0]).startswith("spec.yaml:")


KERAS_REFUSED = {
    "lstm-proj": ([5, 4], {T: "lstm", "hidden_size": 8, "proj_size": 2, "convention": "keras"}, "proj_size"),
}


@pytest.mark.parametrize("case", sorted(KERAS_REFUSED))
def test_keras_refuses_and_so_does_paramcount(case, keras_oracle):
    input_shape, layer, message = KERAS_REFUSED[case]
    spec = spec_of(input_shape, layer)
    with pytest.raises(keras_oracle.OracleSpecError):
        keras_oracle.oracle(spec)
    with pytest.raises(SpecError, match=message):
        ours(spec)


# -- the registry's contract (no torch needed) ------------------------------------------------------

NEW_TYPES = {"conv1d_transpose", "conv2d_transpose", "conv3d_transpose", "depthwise_conv2d", "separable_conv2d",
             "rnn", "lstm", "gru", "attention", "rmsnorm", "groupnorm", "instancenorm", "upsample", "reshape",
             "permute", "relu6", "positional_embedding", "class_token", "select", "subsample2d", "rbf"}


def test_every_new_type_is_registered_and_tested():
    assert NEW_TYPES <= set(REGISTRY)
    tested = {layer[T] for _, layer in CASES.values()} | {layer[T] for _, layer, _ in REFUSED.values()}
    assert NEW_TYPES <= tested, sorted(NEW_TYPES - tested)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_parser_attributes_follow_the_fields(name):
    kind = REGISTRY[name]
    names = tuple(f.name for f in kind.fields)
    assert kind.known == COMMON + names
    assert kind.field_by_name == {f.name: f for f in kind.fields}
    assert kind.required == tuple(f.name for f in kind.fields if f.default is Field.REQUIRED)
    assert kind.defaults == {f.name: f.default for f in kind.fields if f.default is not Field.REQUIRED}
    assert isinstance(kind.takes_ids, bool) and isinstance(kind.keeps_ids, bool)


def test_token_id_flags():
    assert [n for n, k in REGISTRY.items() if k.takes_ids] == ["embedding"]
    assert {n for n, k in REGISTRY.items() if k.keeps_ids} == {
        "flatten", "reshape", "permute", "dropout", "select", "identity"}


ISSUE_TABLE = {  # issue 7's fields and defaults, verbatim
    "conv2d_transpose": {"filters": Field.REQUIRED, "kernel_size": Field.REQUIRED, "stride": (1, 1),
                         "padding": (0, 0), "output_padding": (0, 0), "dilation": (1, 1), "groups": 1, "bias": True},
    "depthwise_conv2d": {"kernel_size": Field.REQUIRED, "depth_multiplier": 1, "stride": (1, 1), "padding": (0, 0),
                         "dilation": (1, 1), "bias": True},
    "separable_conv2d": {"filters": Field.REQUIRED, "kernel_size": Field.REQUIRED, "depth_multiplier": 1,
                         "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "bias": True},
    "rnn": {"hidden_size": Field.REQUIRED, "num_layers": 1, "bidirectional": False, "bias": True,
            "return_sequences": True, "convention": "torch"},
    "lstm": {"hidden_size": Field.REQUIRED, "num_layers": 1, "bidirectional": False, "bias": True,
             "return_sequences": True, "convention": "torch", "proj_size": 0},
    "gru": {"hidden_size": Field.REQUIRED, "num_layers": 1, "bidirectional": False, "bias": True,
            "return_sequences": True, "convention": "torch", "reset_after": True},
    "attention": {"num_heads": Field.REQUIRED, "num_kv_heads": None, "head_dim": None, "qkv_bias": True,
                  "out_bias": True, "kv_dim": None},
    "rmsnorm": {"affine": True, "eps": None},
    "groupnorm": {"num_groups": Field.REQUIRED, "affine": True, "eps": 1e-5},
    "instancenorm": {"affine": False, "track_running_stats": False},
    "upsample": {"scale_factor": None, "size": None},
    "reshape": {"shape": Field.REQUIRED},
    "permute": {"dims": Field.REQUIRED},
}


@pytest.mark.parametrize("name", sorted(ISSUE_TABLE))
def test_fields_and_defaults_are_the_issues(name):
    assert {f.name: f.default for f in REGISTRY[name].fields} == ISSUE_TABLE[name]


VALIDATE = [
    # (type, written fields, field named, words in the message)
    ("conv2d", {"filters": 6, "kernel_size": 3, "groups": 4}, "groups", "does not divide filters=6"),
    ("conv2d", {"filters": 2, "kernel_size": 3, "connections": [[0]]}, "connections", "lists 1 filter,"),
    ("conv2d", {"filters": 2, "kernel_size": 3, "groups": 2, "connections": [[0], [1]]}, "groups", "must be 1"),
    ("conv1d_transpose", {"filters": 3, "kernel_size": 3, "groups": 2}, "groups", "does not divide filters=3"),
    ("conv2d_transpose", {"filters": 3, "kernel_size": 3, "stride": 2, "output_padding": [0, 2]},
     "output_padding", "smaller than the stride (2) or the dilation (1)"),
    ("attention", {"num_heads": 8, "num_kv_heads": 3}, "num_kv_heads", "does not divide num_heads=8"),
    ("attention", {"num_heads": 4, "num_kv_heads": 8}, "num_kv_heads", "does not divide num_heads=4"),
    ("lstm", {"hidden_size": 4, "proj_size": 4}, "proj_size", "smaller than hidden_size"),
    ("lstm", {"hidden_size": 4, "proj_size": 2, "convention": "keras"}, "proj_size", "convention: torch"),
    ("gru", {"hidden_size": 4, "reset_after": False}, "reset_after", "convention: keras"),
    ("upsample", {}, None, "exactly one"),
    ("upsample", {"size": 3, "scale_factor": 2}, "size", "exactly one"),
]


def _cfg(kind, written):
    cfg = dict(kind.defaults)
    for key, value in written.items():
        cfg[key] = kind.field_by_name[key].check(value)
    kind.complete(cfg)
    return cfg


@pytest.mark.parametrize("type_,written,field,words", VALIDATE, ids=[f"{v[0]}-{v[2]}-{i}" for i, v in enumerate(VALIDATE)])
def test_validate_names_the_field(type_, written, field, words):
    kind = REGISTRY[type_]
    with pytest.raises(Invalid) as refused:
        kind.validate(_cfg(kind, written))
    assert refused.value.field == field and refused.value.index is None
    assert words in str(refused.value)


@pytest.mark.parametrize("type_,written", [
    ("conv2d", {"filters": 6, "kernel_size": 3, "groups": 3}),
    ("attention", {"num_heads": 8, "num_kv_heads": 2}),
    ("attention", {"num_heads": 8}),
    ("lstm", {"hidden_size": 4, "proj_size": 3}),
    ("gru", {"hidden_size": 4, "reset_after": False, "convention": "keras"}),
    ("conv1d_transpose", {"filters": 1, "kernel_size": 3, "dilation": 3, "output_padding": 2}),
    ("upsample", {"size": [3, 4]}),
])
def test_validate_passes_good_configs(type_, written):
    kind = REGISTRY[type_]
    assert kind.validate(_cfg(kind, written)) is None


def test_validate_skips_fields_that_failed_their_own_check():
    """A field that failed its check is None in cfg: validate must not crash on it."""
    for kind in REGISTRY.values():
        for field in kind.fields:
            cfg = {f.name: (None if f.default is Field.REQUIRED else f.default) for f in kind.fields}
            cfg[field.name] = None
            kind.complete(cfg)
            try:
                kind.validate(cfg)
            except Invalid:
                pass


def test_validate_errors_point_at_the_field():
    text = "input: [5, 8]\nlayers:\n  - {type: attention, num_heads: 4, num_kv_heads: 3}\n"
    with pytest.raises(SpecError) as refused:
        load_text(text, path="spec.yaml")
    (problem,) = refused.value.problems
    assert (problem.line, problem.col) == (3, text.splitlines()[2].index("3}") + 1), str(problem)
    assert "num_kv_heads" in problem.message


def test_connections_come_through_the_parser_as_lists():
    """Nested lists reach field checks as parser nodes; the table must read them all the same."""
    got = ours(spec_of([3, 6, 6], {T: "conv2d", "filters": 2, "kernel_size": 3, "connections": [[0, 2], [1]]}))
    assert got["layers"][0]["weights"] == (2 + 1) * 9
    with pytest.raises(SpecError, match="non-negative integers"):
        ours(spec_of([3, 6, 6], {T: "conv2d", "filters": 2, "kernel_size": 3, "connections": [[0, -1], [1]]}))
    with pytest.raises(SpecError, match="connections must hold lists of non-negative integers; item 0 holds"):
        ours(spec_of([3, 6, 6], {T: "conv2d", "filters": 1, "kernel_size": 3, "connections": [[[0]]]}))
