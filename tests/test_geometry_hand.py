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
