"""Memory (issue 9): parameter bytes by --dtype, activations per sample and for --batch, and the
Adam training estimate, checked by hand. The formulas (analyze.Memory):

    weights_bytes       = params × 4 (fp32), × 2 (fp16, bf16), × 1 (int8, fp8); int4: Σ ceil(n / 2) per tensor
    activation_elements = Σ over leaf layers of output elements × occurrences (the input not counted)
    activation_bytes    = activation_elements × batch in the dtype
    training_adam_bytes = 16 × trainable + 4 × non_trainable + 4 × activation_elements × batch (fp32)
"""

import json
import textwrap

import pytest

from conftest import require, run_cli
from paramcount import analyze, load_text, render
from paramcount.analyze import DTYPES, estimate_memory
from paramcount.schema import output_schema
from paramcount.sources import load_preset

MEMORY_KEYS = ["dtype", "batch", "weights_bytes", "activation_elements", "activation_bytes", "training_adam_bytes"]
LENET5_PARAMS = 61_706
# LeNet-5's outputs per sample: C1 6·28·28 = 4,704; S2 6·14·14 = 1,176; C3 16·10·10 = 1,600;
# S4 16·5·5 = 400; C5 120; flatten 120; F6 84; OUTPUT 10: 8,214 elements (the 1·32·32 input not counted).
LENET5_ACTIVATIONS = 4_704 + 1_176 + 1_600 + 400 + 120 + 120 + 84 + 10


def report(text):
    return analyze(load_text(textwrap.dedent(text), "spec.yaml"))


def json_of(*args):
    result = run_cli(*args, *([] if "--json" in args else ["--json"]))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_lenet5_activations_by_hand():
    assert LENET5_ACTIVATIONS == 8_214
    assert estimate_memory(analyze(load_preset("lenet5"))).activation_elements == 8_214


@pytest.mark.parametrize("dtype, weights, activations", [
    ("fp32", 61_706 * 4, 8_214 * 4),  # 246,824 and 32,856
    ("fp16", 61_706 * 2, 8_214 * 2),  # 123,412 and 16,428
    ("bf16", 61_706 * 2, 8_214 * 2),
    ("int8", 61_706, 8_214),
    ("fp8", 61_706, 8_214),
    # int4, each tensor on its own: C1 150/2 + 6/2 = 78; C3 2,400/2 + 16/2 = 1,208; C5 48,000/2 + 120/2
    # = 24,060; F6 10,080/2 + 84/2 = 5,082; OUTPUT 840/2 + 10/2 = 425: 30,853 (every tensor even here).
    ("int4", 78 + 1_208 + 24_060 + 5_082 + 425, 8_214 // 2),
])
def test_every_dtype_on_lenet5_by_hand(dtype, weights, activations):
    m = json_of("lenet5", "--dtype", dtype)["memory"]
    # Adam: 16 bytes × 61,706 trainable + 4 × 8,214 activations = 987,296 + 32,856, whatever the dtype.
    assert m == {"dtype": dtype, "batch": 1, "weights_bytes": weights, "activation_elements": 8_214,
                 "activation_bytes": activations, "training_adam_bytes": 1_020_152}
    assert 16 * LENET5_PARAMS + 4 * LENET5_ACTIVATIONS == 1_020_152
    assert m == estimate_memory(analyze(load_preset("lenet5")), dtype).as_dict()


def test_every_dtype_is_an_option():
    assert DTYPES == ("fp32", "fp16", "bf16", "fp8", "int8", "int4")


def test_int4_rounds_up_per_tensor():
    # dense 3 -> 3: kernel 9 values -> 5 bytes, bias 3 -> 2 bytes: 7, not ceil(12 / 2) = 6.
    r = report("input: [3]\nlayers: [{type: dense, units: 3}]\n")
    assert r.totals.params == 12
    assert estimate_memory(r, "int4").weights_bytes == 7
    assert estimate_memory(r, "int8").weights_bytes == 12
    # Three copies hold three sets (21 bytes); shared, one set (7); activations count every run (3 × 3).
    three = report("input: [3]\nlayers: [{type: dense, units: 3, repeat: 3}]\n")
    shared = report("input: [3]\nlayers: [{type: dense, units: 3, repeat: 3, shared: true}]\n")
    assert estimate_memory(three, "int4").weights_bytes == 21
    assert estimate_memory(shared, "int4").weights_bytes == 7
    assert estimate_memory(three).activation_elements == estimate_memory(shared).activation_elements == 9
    # A tie counts the owner's table once: embedding 5 × 3 = 15 -> 8 bytes; the tied head's bias 5 -> 3.
    tied = report("""\
        input: [2]
        layers:
          - {type: embedding, name: wte, num_embeddings: 5, embedding_dim: 3}
          - {type: dense, name: head, units: 5, tie: wte}
        """)
    assert tied.totals.params == 20
    assert estimate_memory(tied, "int4").weights_bytes == 8 + 3
    assert estimate_memory(tied, "fp16").weights_bytes == 40


def test_batch_scales_activations_and_training_only():
    one = json_of("lenet5", "--batch", "1")["memory"]
    for batch in (2, 8, 1000):
        m = json_of("lenet5", "--batch", str(batch))["memory"]
        assert m["batch"] == batch
        assert m["weights_bytes"] == one["weights_bytes"] == 246_824
        assert m["activation_elements"] == 8_214  # per sample
        assert m["activation_bytes"] == 8_214 * 4 * batch
        assert m["training_adam_bytes"] == 16 * 61_706 + 4 * 8_214 * batch
    # int4 over a batch: half a byte per value, the whole batch rounded up once: 8,214 × 3 / 2 = 12,321.
    assert json_of("lenet5", "--dtype", "int4", "--batch", "3")["memory"]["activation_bytes"] == 12_321


def test_training_counts_buffers_and_frozen_layers_as_weights_alone():
    r = report("""\
        input: [2, 4, 4]
        layers:
          - {type: conv2d, filters: 3, kernel_size: 1}
          - {type: batchnorm}
          - {type: flatten}
          - {type: dense, units: 2, trainable: false}
        """)
    # conv 3·2 + 3 = 9; batchnorm 3 + 3 learned, 6 running statistics; frozen dense 48·2 + 2 = 98.
    assert (r.totals.trainable, r.totals.non_trainable) == (9 + 6, 6 + 98)
    # Outputs: [3, 4, 4] three times (conv, batchnorm, flatten) and [2]: 146 per sample.
    m = estimate_memory(r, "fp16", batch=2)
    assert m.activation_elements == 48 * 3 + 2 == 146
    assert m.weights_bytes == 119 * 2
    assert m.activation_bytes == 146 * 2 * 2
    # 16 × 15 + 4 × 104 + 4 × 146 × 2 = 240 + 416 + 1,168.
    assert m.training_adam_bytes == 1_824


def test_llama2_7b_in_fp16_and_its_adam_training():
    r = analyze(load_preset("llama2-7b"))
    m = estimate_memory(r, "fp16")
    # Weights: 6,738,415,616 params × 2 bytes = 13,476,831,232 bytes: 13.5 GB (10^9), 12.6 GiB (2^30).
    assert r.totals.params == r.totals.trainable == 6_738_415_616
    assert m.weights_bytes == 6_738_415_616 * 2 == 13_476_831_232
    # Activations per sample, T = 4,096 tokens, d = 4,096, MLP 11,008, vocabulary 32,000:
    # embedding T·d = 16,777,216; each of 32 layers 4·T·d (two norms, attention, down_proj) + 2·T·11,008
    # (gate_proj, up_proj) = 67,108,864 + 90,177,536 = 157,286,400, × 32 = 5,033,164,800; final norm
    # 16,777,216; lm_head T·32,000 = 131,072,000. In all 5,197,791,232.
    assert m.activation_elements == 16_777_216 + 32 * 157_286_400 + 16_777_216 + 131_072_000 == 5_197_791_232
    assert m.activation_bytes == 5_197_791_232 * 2 == 10_395_582_464  # fp16: 9.7 GiB per sample
    # Adam, fp32: 16 × 6,738,415,616 = 107,814,649,856 (weights, gradients, two moments)
    #           + 4 × 5,197,791,232 = 20,791,164,928 (activations, batch 1)
    #           = 128,605,814,784 bytes: 128.6 GB, 119.8 GiB.
    assert m.training_adam_bytes == 16 * 6_738_415_616 + 4 * 5_197_791_232 == 128_605_814_784
    r.memory = m  # as --dtype fp16 sets it
    assert render.memory_lines(r) == ["Parameter memory (fp16): 12.6 GiB",
                                      "Activation memory (fp16): 9.7 GiB per sample",
                                      "Adam training (fp32, batch 1): 119.8 GiB"]


def test_the_table_shows_the_memory_within_80_columns():
    out = run_cli("llama2-7b", "--dtype", "fp16", "--batch", "8", "--depth", "1", COLUMNS="80").stdout.splitlines()
    tail = out[-3:]
    # Activations × 8: 83,164,659,712 bytes = 77.5 GiB; Adam: 107,814,649,856 + 4 × 5,197,791,232 × 8.
    assert tail == ["Parameter memory (fp16): 12.6 GiB",
                    "Activation memory (fp16): 9.7 GiB per sample, 77.5 GiB for a batch of 8",
                    "Adam training (fp32, batch 8): 255.3 GiB"]
    assert all(render.cells(line) <= 80 for line in out)
    default = run_cli("lenet5").stdout.splitlines()
    assert default[-3:] == ["Parameter memory (fp32): 241.0 KiB", "Activation memory (fp32): 32.1 KiB per sample",
                            "Adam training (fp32, batch 1): 996.2 KiB"]
    markdown = run_cli("lenet5", "--format", "markdown", "--dtype", "bf16").stdout
    assert "- Parameter memory (bf16): 120.5 KiB\n- Activation memory (bf16): 16.0 KiB per sample\n" in markdown


def test_binary_units():
    assert [render.binary(n) for n in (0, 1023, 1024, 246_824, 1_020_152, 2**20 - 1, 13_476_831_232, 3 * 2**40)] == [
        "0 B", "1,023 B", "1.0 KiB", "241.0 KiB", "996.2 KiB", "1.0 MiB", "12.6 GiB", "3.0 TiB"]


def test_json_memory_keys_and_schema():
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(output_schema())
    plain = json_of("lenet5", "--json")
    assert "memory" not in plain  # only asked for: --dtype or --batch
    validator.validate(plain)
    doc = json_of("lenet5", "--json", "--dtype", "bf16", "--batch", "4")
    assert list(doc["memory"]) == MEMORY_KEYS
    assert list(doc).index("memory") == list(doc).index("budget") - 1
    validator.validate(doc)
    many = json_of("lenet5", "alexnet", "--json", "--dtype", "int8")
    assert [d["memory"]["weights_bytes"] for d in many] == [61_706, 60_965_224]
    validator.validate(many)
    bad = dict(doc, memory=dict(doc["memory"], dtype="int3"))
    assert not validator.is_valid(bad)
    assert not validator.is_valid(dict(doc, memory=dict(doc["memory"], extra=1)))


@pytest.mark.parametrize("args, words", [
    (["--dtype", "int3"], "Invalid value for '--dtype': 'int3' is not one of 'fp32', 'fp16', 'bf16', 'fp8', "
                          "'int8', 'int4'."),
    (["--dtype", "FP16"], "Invalid value for '--dtype'"),
    (["--batch", "0"], "--batch must be a whole number from 1 to 1,000,000,000,000, got '0'"),
    (["--batch", "two"], "--batch must be a whole number from 1 to 1,000,000,000,000, got 'two'"),
    # past 10^12 a 4,000-digit activation figure times the batch could not be printed
    (["--batch", "1000000000001"], "--batch must be a whole number from 1 to 1,000,000,000,000"),
    (["--batch", "9" * 4299], "--batch must be a whole number from 1 to 1,000,000,000,000, got '9999999999999999999…'"),
])
def test_a_bad_dtype_or_batch_is_a_one_line_usage_error(args, words):
    result = run_cli("lenet5", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("paramcount: error: " + words)


def test_the_library_refuses_a_bad_dtype_or_batch():
    r = analyze(load_preset("lenet5"))
    with pytest.raises(ValueError, match="dtype must be one of fp32"):
        estimate_memory(r, "fp64")
    for batch in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="batch must be a positive integer"):
            estimate_memory(r, batch=batch)


def _tiny_onnx(path):
    """Gemm 4 -> 3 (12 weights, 3 biases), then Relu: 15 params."""
    onnx = require("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.zeros((4, 3), np.float32), "W"),
             numpy_helper.from_array(np.zeros((3,), np.float32), "B")]
    nodes = [helper.make_node("Gemm", ["x", "W", "B"], ["y"], name="fc"),
             helper.make_node("Relu", ["y"], ["z"], name="act")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 3])], initializer=inits)
    onnx.save(helper.make_model(graph), str(path))


def test_an_onnx_model_has_its_activations(tmp_path, monkeypatch):
    """ONNX imports have compute (tests/test_import_onnx_compute.py has the cases where it is not known)."""
    monkeypatch.chdir(tmp_path)
    _tiny_onnx(tmp_path / "tiny.onnx")
    out = run_cli("tiny.onnx", "--dtype", "fp16").stdout.splitlines()
    # 15 params × 2 = 30 bytes; activations: Gemm's 3 + Relu's 3 = 6 elements × 2 = 12 bytes;
    # Adam 16 × 15 + 4 × 6 = 264 bytes.
    assert out[-3:] == ["Parameter memory (fp16): 30 B", "Activation memory (fp16): 12 B per sample",
                        "Adam training (fp32, batch 1): 264 B"]
    m = json_of("tiny.onnx", "--json", "--dtype", "int4")["memory"]
    # int4: W 12 values -> 6 bytes, B 3 -> 2; activations 6 values -> 3 bytes.
    assert m == {"dtype": "int4", "batch": 1, "weights_bytes": 8, "activation_elements": 6,
                 "activation_bytes": 3, "training_adam_bytes": 264}
