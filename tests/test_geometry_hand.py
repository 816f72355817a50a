"""Geometry and counts worked out by hand (no torch needed).

PyTorch has no ``padding='same'`` for stride > 1, so the torch oracle can only
check that case against its own padding arithmetic; these figures are computed
by hand from the definition instead:

    same:  out = ceil(L / S),  total pad = max((out - 1)*S + D*(K - 1) + 1 - L, 0)
    pools: out = floor-or-ceil((L + 2P - (K - 1) - 1) / S) + 1, and with ceil_mode
           the last window is dropped when (out - 1)*S >= L + P (PyTorch's rule).
"""

from __future__ import annotations

import pytest

from paramcount import SpecError, analyze, load_text


def report(text):
    return analyze(load_text(text)).to_dict()


def spec(input_shape, *layers):
    lines = [f"input: {list(input_shape)}", "layers:"]
    lines += [f"  - {{{layer}}}" for layer in layers]
    return "\n".join(lines) + "\n"


SAME_STRIDED = [
    # (input, layer, expected output shape), each worked out in the comment.
    # L=7, K=3, S=2: out = ceil(7/2) = 4; pad = 3*2 + 3 - 7 = 2 (1 left, 1 right);
    # check: (7 + 2 - 3)//2 + 1 = 4.
    ([1, 7], "type: conv1d, filters: 2, kernel_size: 3, stride: 2, padding: same", [2, 4]),
    # L=8, K=4, S=3: out = ceil(8/3) = 3; pad = 2*3 + 4 - 8 = 2; (8 + 2 - 4)//3 + 1 = 3.
    ([1, 8], "type: conv1d, filters: 2, kernel_size: 4, stride: 3, padding: same", [2, 3]),
    # L=6, K=2, S=2: out = 3; pad = 2*2 + 2 - 6 = 0; (6 - 2)//2 + 1 = 3.
    ([1, 6], "type: conv1d, filters: 1, kernel_size: 2, stride: 2, padding: same", [1, 3]),
    # L=10, K=1, S=3: out = ceil(10/3) = 4; pad = 3*3 + 1 - 10 = 0; (10 - 1)//3 + 1 = 4.
    ([1, 10], "type: conv1d, filters: 1, kernel_size: 1, stride: 3, padding: same", [1, 4]),
    # L=9, K=3, D=2, S=2: out = 5; effective kernel 5; pad = 4*2 + 5 - 9 = 4; (9+4-5)//2+1 = 5.
    ([1, 9], "type: conv1d, filters: 1, kernel_size: 3, dilation: 2, stride: 2, padding: same",
     [1, 5]),
    # H=7, W=8, K=3, S=2: H = ceil(7/2) = 4, W = ceil(8/2) = 4.
    ([3, 7, 8], "type: conv2d, filters: 5, kernel_size: 3, stride: 2, padding: same", [5, 4, 4]),
    # D=5, H=7, W=9, K=[3,2,4], S=[2,3,2]: ceil(5/2) = 3, ceil(7/3) = 3, ceil(9/2) = 5.
    ([1, 5, 7, 9],
     "type: conv3d, filters: 2, kernel_size: [3, 2, 4], stride: [2, 3, 2], padding: same",
     [2, 3, 3, 5]),
    # Pools: L=7, K=3, S=2 -> ceil(7/2) = 4; default stride = kernel: L=10, K=3 -> ceil(10/3) = 4.
    ([2, 7], "type: maxpool1d, kernel_size: 3, stride: 2, padding: same", [2, 4]),
    ([2, 10], "type: avgpool1d, kernel_size: 3, padding: same", [2, 4]),
    # 9x7, K=3, S=2 -> [5, 4].
    ([2, 9, 7], "type: maxpool2d, kernel_size: 3, stride: 2, padding: same", [2, 5, 4]),
]


@pytest.mark.parametrize("input_shape,layer,expected", SAME_STRIDED,
                         ids=[f"{i}-{s[1].split(',')[0][6:]}" for i, s in enumerate(SAME_STRIDED)])
def test_same_padding_with_stride(input_shape, layer, expected):
    d = report(spec(input_shape, layer))
    assert d["layers"][0]["output_shape"] == expected


def test_same_strided_counts():
    # conv1d, 1 channel, L=7, 2 filters, K=3, S=2, same -> 4 positions.
    # weights = 2*1*3 = 6, biases = 2, params = 8; unshared = 4 * 2 * (1*3 + 1) = 32.
    d = report(spec([1, 7], "type: conv1d, filters: 2, kernel_size: 3, stride: 2, padding: same"))
    layer = d["layers"][0]
    assert (layer["weights"], layer["biases"], layer["params"], layer["params_unshared"]) == (
        6, 2, 8, 32)
    # Locally connected version of the same layer: its params are the 32.
    d = report(spec([1, 7], "type: conv1d, filters: 2, kernel_size: 3, stride: 2, "
                            "padding: same, weight_sharing: false"))
    layer = d["layers"][0]
    assert layer["output_shape"] == [2, 4]
    assert (layer["params"], layer["params_unshared"]) == (32, 32)


CEIL_MODE = [
    # L=6, K=3, S=2: floor((6-3)/2)+1 = 2; ceil: ceil(3/2)+1 = 3, last start 4 < 6 -> 3.
    ([1, 6], "type: maxpool1d, kernel_size: 3, stride: 2", [1, 2]),
    ([1, 6], "type: maxpool1d, kernel_size: 3, stride: 2, ceil_mode: true", [1, 3]),
    # L=5, K=2, S=2, P=1: floor((5+2-2)/2)+1 = 3; ceil: ceil(5/2)+1 = 4, but the last window
    # would start at 3*2 = 6 >= 5 + 1 (past the input and its left padding): dropped -> 3.
    ([1, 5], "type: avgpool1d, kernel_size: 2, stride: 2, padding: 1", [1, 3]),
    ([1, 5], "type: avgpool1d, kernel_size: 2, stride: 2, padding: 1, ceil_mode: true", [1, 3]),
    # L=3, K=2, S=2, P=1: ceil(3/2)+1 = 3, last start 4 >= 3 + 1: dropped -> 2 (floor: 2).
    ([1, 3], "type: maxpool1d, kernel_size: 2, stride: 2, padding: 1, ceil_mode: true", [1, 2]),
    # L=4, K=3, S=2, P=1: floor(3/2)+1 = 2; ceil(3/2)+1 = 3, last start 4 < 4 + 1: kept -> 3.
    ([1, 4], "type: maxpool1d, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true", [1, 3]),
    # L=5, K=2, default stride 2: floor(3/2)+1 = 2; ceil(3/2)+1 = 3, start 4 < 5 -> 3.
    ([1, 5], "type: avgpool1d, kernel_size: 2, ceil_mode: true", [1, 3]),
    # 7x6, K=3, S=2: H floor(4/2)+1 = 3 = ceil; W floor(3/2)+1 = 2, ceil(3/2)+1 = 3 (start 4 < 6).
    ([2, 7, 6], "type: maxpool2d, kernel_size: 3, stride: 2", [2, 3, 2]),
    ([2, 7, 6], "type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true", [2, 3, 3]),
    # 7x7, K=2, S=2, P=1, ceil: ceil(7/2)+1 = 5, last start 8 >= 7 + 1: dropped -> 4 per axis.
    ([1, 7, 7], "type: avgpool2d, kernel_size: 2, stride: 2, padding: 1, ceil_mode: true",
     [1, 4, 4]),
    # 3d, L=5 on every axis, K=2, S=2, ceil: ceil(3/2)+1 = 3, start 4 < 5 -> 3.
    ([1, 5, 5, 5], "type: maxpool3d, kernel_size: 2, ceil_mode: true", [1, 3, 3, 3]),
    # Found by the property tests: L=1, K=2, S=2 with ceil: (1 - 2 + 1)//2 + 1 = 1, start 0 < 1 -> 1;
    # the window hangs over the end, which PyTorch allows (without ceil_mode: 0 windows, an error).
    ([1, 1], "type: maxpool1d, kernel_size: 2, ceil_mode: true", [1, 1]),
    # L=3, K=4, S=3, ceil: (3 - 4 + 2)//3 + 1 = 1 -> 1.
    ([2, 3], "type: avgpool1d, kernel_size: 4, stride: 3, ceil_mode: true", [2, 1]),
    # 3x3x3, K=4, S=3, P=1, ceil: (3 + 2 - 4 + 2)//3 + 1 = 2, start 3 < 3 + 1 -> 2 per axis.
    ([1, 3, 3, 3], "type: maxpool3d, kernel_size: 4, stride: 3, padding: 1, ceil_mode: true", [1, 2, 2, 2]),
]


def test_avgpool3d_needs_inputs_at_least_the_kernel():
    """The same geometry as the last maxpool3d case: PyTorch's avg_pool3d refuses it."""
    with pytest.raises(SpecError, match="avgpool3d needs every input axis at least as long as the kernel"):
        report(spec([1, 3, 3, 3], "type: avgpool3d, kernel_size: 4, stride: 3, padding: 1, ceil_mode: true"))


@pytest.mark.parametrize("input_shape,layer,expected", CEIL_MODE,
                         ids=[f"{i}-{s[1].split(',')[0][6:]}" for i, s in enumerate(CEIL_MODE)])
def test_pool_ceil_mode(input_shape, layer, expected):
    d = report(spec(input_shape, layer))
    assert d["layers"][0]["output_shape"] == expected
    assert d["layers"][0]["params"] == 0


def test_stride1_same_even_kernel_keeps_length():
    # L=10, K=4, stride 1: total pad 3 (1 left, 2 right), out = 10 + 3 - 4 + 1 = 10.
    # weights = 3 filters * 2 channels * 4 = 24, biases 3; unshared = 10 * 3 * (8 + 1) = 270.
    d = report(spec([2, 10], "type: conv1d, filters: 3, kernel_size: 4, padding: same"))
    layer = d["layers"][0]
    assert layer["output_shape"] == [3, 10]
    assert (layer["weights"], layer["biases"], layer["params_unshared"]) == (24, 3, 270)


def test_issue_worked_examples():
    # LeNet-5 C1: 6 filters 5x5 on 1x32x32 -> 28x28; 6*25 + 6 = 156;
    # unshared: 784 positions * 6 * (25 + 1) = 122,304.
    d = report(spec([1, 32, 32], "type: conv2d, filters: 6, kernel_size: 5"))
    assert d["layers"][0]["output_shape"] == [6, 28, 28]
    assert (d["layers"][0]["params"], d["layers"][0]["params_unshared"]) == (156, 122_304)
    # AlexNet conv1: 96 filters 11x11 stride 4 on 3x227x227 -> 55x55 ((227-11)/4 + 1);
    # 96*363 + 96 = 34,944; unshared 3025 * 96 * 364 = 105,705,600.
    d = report(spec([3, 227, 227], "type: conv2d, filters: 96, kernel_size: 11, stride: 4"))
    assert d["layers"][0]["output_shape"] == [96, 55, 55]
    assert (d["layers"][0]["params"], d["layers"][0]["params_unshared"]) == (34_944, 105_705_600)


def test_batchnorm_and_frozen_counts():
    # batchnorm on [4, 5, 5]: gamma 4 + beta 4 trainable, running mean/var 8 non-trainable.
    # frozen dense 100 -> 3: 303 non-trainable.
    d = report(spec([4, 5, 5], "type: batchnorm", "type: flatten",
                    "type: dense, units: 3, trainable: false"))
    bn, _, dense = d["layers"]
    assert (bn["weights"], bn["biases"], bn["trainable"], bn["non_trainable"], bn["params"]) == (
        4, 4, 8, 8, 16)
    assert (dense["trainable"], dense["non_trainable"]) == (0, 303)
    assert (d["totals"]["trainable"], d["totals"]["non_trainable"], d["totals"]["params"]) == (
        8, 311, 319)


# -- every layer type, by hand ---------------------------------------------------------------------
# A case per layer type at least, each worked out in its comment from the type's definition, with no
# oracle: with torch absent these still pin every count (a LayerNorm that kept γ under `affine: false`
# and adaptive pools that read only the first `output_size` once passed a suite without torch).
# Expected counts: w = weights, b = biases, p = params (w + b + state), u = params_unshared,
# nt = non_trainable.

HAND = [
    # dense on the last axis: kernel 5x4 = 20, bias 4.
    ([3, 5], "type: dense, units: 4", [3, 4], dict(w=20, b=4, p=24)),
    # without bias: 7x2 = 14.
    ([7], "type: dense, units: 2, bias: false", [2], dict(w=14, b=0, p=14)),
    # 2*3*4 = 24.
    ([2, 3, 4], "type: flatten", [24], dict(p=0)),
    # batchnorm on [C]: γ 3 + β 3 trainable, running mean 3 + var 3 state: params 12.
    ([3], "type: batchnorm", [3], dict(w=3, b=3, p=12, nt=6)),
    # without affine: only the 2x2 running statistics.
    ([2, 4], "type: batchnorm, affine: false", [2, 4], dict(w=0, b=0, p=4, nt=4)),
    # layernorm over the last axis (6): γ 6, β 6.
    ([3, 6], "type: layernorm", [3, 6], dict(w=6, b=6, p=12)),
    # affine: false keeps nothing.
    ([3, 6], "type: layernorm, affine: false", [3, 6], dict(p=0)),
    # embedding: a table of 10 x 4 = 40; [7] ids to [7, 4].
    ([7], "type: embedding, num_embeddings: 10, embedding_dim: 4", [7, 4], dict(w=40, b=0, p=40)),
    # conv1d L=10, K=4, S=2, P=1: (10 + 2 - 4)//2 + 1 = 5; kernel 3*2*4 = 24, bias 3;
    # unshared 5 positions * 3 * (2*4 + 1) = 135.
    ([2, 10], "type: conv1d, filters: 3, kernel_size: 4, stride: 2, padding: 1", [3, 5],
     dict(w=24, b=3, p=27, u=135)),
    # groups 2 on 4 channels: each filter sees 2: kernel 2*2*3 = 12; L = 6 - 3 + 1 = 4;
    # unshared 4 * 2 * (2*3 + 1) = 56.
    ([4, 6], "type: conv1d, filters: 2, kernel_size: 3, groups: 2", [2, 4], dict(w=12, b=2, p=14, u=56)),
    # conv2d 7x6, K=[3,2], D=[2,1], P=[1,0]: H span 5: (7 + 2 - 5) + 1 = 5; W (6 - 2) + 1 = 5;
    # kernel 2*3*3*2 = 36, bias 2; unshared 25 * 2 * (18 + 1) = 950.
    ([3, 7, 6], "type: conv2d, filters: 2, kernel_size: [3, 2], dilation: [2, 1], padding: [1, 0]", [2, 5, 5],
     dict(w=36, b=2, p=38, u=950)),
    # conv3d [1, 4, 5, 6], K=2, S=2: (4-2)//2+1 = 2, (5-2)//2+1 = 2, (6-2)//2+1 = 3; kernel 2*1*8 = 16;
    # unshared 12 positions * 2 * 8 = 192.
    ([1, 4, 5, 6], "type: conv3d, filters: 2, kernel_size: 2, stride: 2, bias: false", [2, 2, 2, 3],
     dict(w=16, b=0, p=16, u=192)),
    # pools: stride defaults to the kernel. L=9, K=3: (9 - 3)//3 + 1 = 3.
    ([2, 9], "type: maxpool1d, kernel_size: 3", [2, 3], dict(p=0)),
    # L=9, K=3, S=2, P=1: (9 + 2 - 3)//2 + 1 = 5.
    ([2, 9], "type: avgpool1d, kernel_size: 3, stride: 2, padding: 1", [2, 5], dict(p=0)),
    # 6x5, K=2: 3 x 2.
    ([1, 6, 5], "type: maxpool2d, kernel_size: 2", [1, 3, 2], dict(p=0)),
    # 5x5, K=3, S=1: 3x3.
    ([3, 5, 5], "type: avgpool2d, kernel_size: 3, stride: 1", [3, 3, 3], dict(p=0)),
    # 4x4x4, K=2: 2x2x2.
    ([1, 4, 4, 4], "type: maxpool3d, kernel_size: 2", [1, 2, 2, 2], dict(p=0)),
    # 3x5x7, K=[1,2,3]: 3, 2, 2.
    ([2, 3, 5, 7], "type: avgpool3d, kernel_size: [1, 2, 3]", [2, 3, 2, 2], dict(p=0)),
    # adaptive pools give output_size per axis, whatever the input: every axis its own.
    ([3, 10], "type: adaptiveavgpool1d, output_size: 4", [3, 4], dict(p=0)),
    ([3, 10], "type: adaptivemaxpool1d, output_size: 7", [3, 7], dict(p=0)),
    ([2, 9, 9], "type: adaptiveavgpool2d, output_size: [3, 5]", [2, 3, 5], dict(p=0)),
    ([2, 9, 9], "type: adaptivemaxpool2d, output_size: [4, 1]", [2, 4, 1], dict(p=0)),
    ([1, 5, 6, 7], "type: adaptiveavgpool3d, output_size: [1, 2, 3]", [1, 1, 2, 3], dict(p=0)),
    ([1, 5, 6, 7], "type: adaptivemaxpool3d, output_size: [3, 2, 1]", [1, 3, 2, 1], dict(p=0)),
    # global pools keep the channels only.
    ([5, 3, 3], "type: globalavgpool", [5], dict(p=0)),
    ([4, 7], "type: globalmaxpool", [4], dict(p=0)),
    # parameter-free and shape-preserving.
    ([3, 4], "type: dropout, rate: 0.2", [3, 4], dict(p=0)),
    ([4, 5, 5], "type: lrn, size: 3", [4, 5, 5], dict(p=0)),
    *[([3, 4], f"type: {a}", [3, 4], dict(p=0))
      for a in ("relu", "tanh", "sigmoid", "softmax", "gelu", "silu", "identity", "leaky_relu", "elu", "relu6")],
    # conv1d_transpose L=5, K=3, S=2, P=1, output_padding 1: (5-1)*2 - 2 + (3-1) + 1 + 1 = 10;
    # kernel in x out x K = 2*4*3 = 24, bias 4. No weight sharing to undo: unshared = params.
    ([2, 5], "type: conv1d_transpose, filters: 4, kernel_size: 3, stride: 2, padding: 1, output_padding: 1",
     [4, 10], dict(w=24, b=4, p=28, u=28)),
    # conv2d_transpose 3x3, K=[2,3], S=[2,1]: H (3-1)*2 + 1 + 1 = 6, W (3-1)*1 + 2 + 1 = 5;
    # groups 2: kernel 4 * (6/2) * 2*3 = 72.
    ([4, 3, 3], "type: conv2d_transpose, filters: 6, kernel_size: [2, 3], stride: [2, 1], groups: 2, bias: false",
     [6, 6, 5], dict(w=72, b=0, p=72)),
    # conv3d_transpose 2x2x2, K=2, S=2: (2-1)*2 + 1 + 1 = 4 per axis; kernel 1*2*8 = 16, bias 2.
    ([1, 2, 2, 2], "type: conv3d_transpose, filters: 2, kernel_size: 2, stride: 2", [2, 4, 4, 4],
     dict(w=16, b=2, p=18)),
    # depthwise 3 channels x multiplier 2 = 6 kernels of 3x3 = 54, 6 biases; 8 - 3 + 1 = 6;
    # unshared 36 positions * 60 = 2,160.
    ([3, 8, 8], "type: depthwise_conv2d, kernel_size: 3, depth_multiplier: 2", [6, 6, 6],
     dict(w=54, b=6, p=60, u=2160)),
    # separable: depthwise 54 (no bias) + pointwise 5 x 6 = 30, one bias of 5 (Keras): 89;
    # unshared 36 * 89 = 3,204.
    ([3, 8, 8], "type: separable_conv2d, filters: 5, kernel_size: 3, depth_multiplier: 2", [5, 6, 6],
     dict(w=84, b=5, p=89, u=3204)),
    # rnn (torch): W_ih 4x3 = 12, W_hh 4x4 = 16, b_ih 4 + b_hh 4.
    ([6, 3], "type: rnn, hidden_size: 4", [6, 4], dict(w=28, b=8, p=36)),
    # rnn (keras), both directions: per direction kernel 3x4 + recurrent 4x4 = 28, one bias 4: 2 * 32.
    ([6, 3], "type: rnn, hidden_size: 4, convention: keras, bidirectional: true", [6, 8], dict(w=56, b=8, p=64)),
    # the issue's LSTM: 4*256*(128 + 256) = 393,216 weights; torch 2 * 1,024 biases, Keras 1,024.
    ([10, 128], "type: lstm, hidden_size: 256", [10, 256], dict(w=393_216, b=2048, p=395_264)),
    ([10, 128], "type: lstm, hidden_size: 256, convention: keras", [10, 256], dict(w=393_216, b=1024, p=394_240)),
    # lstm with proj_size 2 (torch), 2 layers, last step: layer 0: W_ih 16x3 = 48, W_hh 16x2 = 32,
    # W_hr 2x4 = 8, biases 32; layer 1 (input 2): 32 + 32 + 8, biases 32. Weights 160, biases 64.
    ([5, 3], "type: lstm, hidden_size: 4, proj_size: 2, num_layers: 2, return_sequences: false", [2],
     dict(w=160, b=64, p=224)),
    # gru (torch): W_ih 9x2 = 18, W_hh 9x3 = 27, biases 2 * 9.
    ([4, 2], "type: gru, hidden_size: 3", [4, 3], dict(w=45, b=18, p=63)),
    # gru (keras, reset_after: its default): bias [2, 9] = 18, the same as torch.
    ([4, 2], "type: gru, hidden_size: 3, convention: keras", [4, 3], dict(w=45, b=18, p=63)),
    # gru (keras, reset_after: false): one bias of 9.
    ([4, 2], "type: gru, hidden_size: 3, convention: keras, reset_after: false", [4, 3], dict(w=45, b=9, p=54)),
    # bidirectional torch gru, last step: twice 63; [2 * 3].
    ([4, 2], "type: gru, hidden_size: 3, bidirectional: true, return_sequences: false", [6],
     dict(w=90, b=36, p=126)),
    # attention D=8, 2 heads (head_dim 4): q, k, v, out each 8x8 + 8: 4 * 72.
    ([5, 8], "type: attention, num_heads: 2", [5, 8], dict(w=256, b=32, p=288)),
    # GQA D=16, 4 heads of 4, 2 KV heads: q 16x16 = 256, k 16x8 = 128, v 128, out 16x16 = 256; no biases.
    ([5, 16], "type: attention, num_heads: 4, num_kv_heads: 2, qkv_bias: false, out_bias: false", [5, 16],
     dict(w=768, b=0, p=768)),
    # head_dim 5 and kv_dim 4 with D=6, 2 heads: q 6x10 + 10, k 4x10 + 10, v 4x10 + 10, out 10x6 + 6.
    ([3, 6], "type: attention, num_heads: 2, head_dim: 5, kv_dim: 4", [3, 6], dict(w=200, b=36, p=236)),
    # rmsnorm: γ over the last axis (8) only; none without affine.
    ([5, 8], "type: rmsnorm", [5, 8], dict(w=8, b=0, p=8)),
    ([5, 8], "type: rmsnorm, affine: false", [5, 8], dict(p=0)),
    # groupnorm: γ and β per channel (6), whatever the groups; none without affine.
    ([6, 4, 4], "type: groupnorm, num_groups: 3", [6, 4, 4], dict(w=6, b=6, p=12)),
    ([6, 4, 4], "type: groupnorm, num_groups: 3, affine: false", [6, 4, 4], dict(p=0)),
    # instancenorm: nothing by default; affine γ, β per channel (3 + 3); running stats 2 x 3 state.
    ([3, 5], "type: instancenorm", [3, 5], dict(p=0)),
    ([3, 4, 4], "type: instancenorm, affine: true, track_running_stats: true", [3, 4, 4],
     dict(w=3, b=3, p=12, nt=6)),
    ([3, 2, 2, 2], "type: instancenorm, track_running_stats: true", [3, 2, 2, 2], dict(w=0, b=0, p=6, nt=6)),
    # upsample: spatial axes times the factor, or the size given; channels kept.
    ([2, 3, 4], "type: upsample, scale_factor: 2", [2, 6, 8], dict(p=0)),
    ([1, 2, 3, 4], "type: upsample, scale_factor: [1, 2, 3]", [1, 2, 6, 12], dict(p=0)),
    ([2, 3, 4], "type: upsample, size: [5, 7]", [2, 5, 7], dict(p=0)),
    ([3, 5], "type: upsample, size: 7", [3, 7], dict(p=0)),
    # reshape: 24 elements in [4, -1]: -1 = 6. permute [2, 0, 1] of [2, 3, 4]: [4, 2, 3].
    ([2, 3, 4], "type: reshape, shape: [4, -1]", [4, 6], dict(p=0)),
    ([2, 3, 4], "type: permute, dims: [2, 0, 1]", [4, 2, 3], dict(p=0)),
    # select drops its axis: token 0 of [5, 8] is [8]; axis -1 of [2, 3, 4] leaves [2, 3].
    ([5, 8], "type: select", [8], dict(p=0)),
    ([2, 3, 4], "type: select, axis: -1, index: 3", [2, 3], dict(p=0)),
    # positional_embedding: a table of num_positions x D = 10 x 8, whatever T (5).
    ([5, 8], "type: positional_embedding, num_positions: 10", [5, 8], dict(w=80, b=0, p=80)),
    # class_token: one D-vector, one more step.
    ([5, 8], "type: class_token", [6, 8], dict(w=8, b=0, p=8)),
    # subsample2d (LeNet-1998's S2): 28x28 in 2x2 windows: 14x14; a coefficient and a bias per map: 6 + 6.
    ([6, 28, 28], "type: subsample2d", [6, 14, 14], dict(w=6, b=6, p=12)),
    # 7x5 in [2, 3] windows: 3 x 1.
    ([2, 7, 5], "type: subsample2d, kernel_size: [2, 3]", [2, 3, 1], dict(w=2, b=2, p=4)),
    # rbf (LeNet-1998's output): 10 centres of 84: 840, no bias.
    ([84], "type: rbf, units: 10", [10], dict(w=840, b=0, p=840)),
    # moe: router 8x4 = 32 + 4 bias; 4 gated experts of gate 8x16, up 8x16, down 16x8 = 384 weights each
    # (1,536) with biases 16 + 16 + 8 = 40 each (160): weights 32 + 1,536 = 1,568, biases 4 + 160 = 164.
    ([5, 8], "type: moe, num_experts: 4, top_k: 2, hidden: 16, bias: true, router_bias: true", [5, 8],
     dict(w=1568, b=164, p=1732)),
    # LeNet-1998's C3: its Table I connects 6 maps to 3 inputs, 6 + 3 maps to 4, 1 to all 6:
    # 18 + 36 + 6 = 60 links of 5x5: 1,500 weights, 16 biases: 1,516 (the paper's figure);
    # 14 - 5 + 1 = 10; unshared 100 positions * 1,516 = 151,600.
    ([6, 14, 14], "type: conv2d, filters: 16, kernel_size: 5, connections: [[0, 1, 2], [1, 2, 3], [2, 3, 4], "
     "[3, 4, 5], [4, 5, 0], [5, 0, 1], [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], "
     "[5, 0, 1, 2], [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5]]", [16, 10, 10],
     dict(w=1500, b=16, p=1516, u=151_600)),
]


@pytest.mark.parametrize("input_shape,layer,out,want", HAND,
                         ids=[f"{i}-{c[1].split(',')[0][6:]}" for i, c in enumerate(HAND)])
def test_every_layer_type_by_hand(input_shape, layer, out, want):
    got = report(spec(input_shape, layer))["layers"][0]
    assert got["output_shape"] == out
    keys = {"w": "weights", "b": "biases", "p": "params", "u": "params_unshared", "nt": "non_trainable"}
    assert {k: got[keys[k]] for k in want} == want
    if "u" not in want:  # no weight sharing to undo
        assert got["params_unshared"] == got["params"]
    assert got["trainable"] + got["non_trainable"] == got["params"]
    assert got["trainable"] == got["weights"] + got["biases"]


def test_every_layer_type_has_a_hand_case():
    from paramcount.layers import REGISTRY

    covered = {layer.split(",")[0].removeprefix("type: ") for _, layer, _, _ in HAND}
    assert covered >= set(REGISTRY), sorted(set(REGISTRY) - covered)


def test_a_deep_recurrent_stack_costs_the_same_as_a_short_one():
    # lstm, H=4, proj 2, both directions, on F=3. Layer 0, per direction: W_ih 16x3 = 48, W_hh 16x2 = 32,
    # W_hr 2x4 = 8: 88; later layers read 2 directions x 2 = 4 features: 64 + 32 + 8 = 104. Biases 2 x 16
    # per cell. With N layers: weights 2 * (88 + 104 (N - 1)) = 208 N - 32, biases 64 N.
    n = 10**30
    layer = report(spec([5, 3], f"type: lstm, hidden_size: 4, proj_size: 2, bidirectional: true, num_layers: {n}"))
    got = layer["layers"][0]
    assert (got["weights"], got["biases"], got["output_shape"]) == (208 * n - 32, 64 * n, [5, 4])
