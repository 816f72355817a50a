"""Hugging Face config.json importer (issue 10): published figures, transformers on the meta device,
the emitted spec's round trip, mixture of experts (total and active per token), errors."""

import json
import math
from pathlib import Path

import pytest
import yaml

import paramcount
from conftest import require
from paramcount.importers import hf
from paramcount.layers import REGISTRY, Invalid

CONFIGS = Path(__file__).resolve().parent / "hf_configs"

# The issue's figures, typed by hand (transformers' counts, tied tensors once).
PUBLISHED = {
    "llama-2-7b": 6_738_415_616,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "gemma-2b": 2_506_172_416,
    "gpt2": 124_439_808,
    "bert-base-uncased": 109_482_240,  # BertModel
    "t5-base": 222_903_552,  # T5Model (T5ForConditionalGeneration's lm_head is tied to shared)
}
# Further configs, checked against transformers and against these hand-derived totals.
MORE = {
    "llama-3-8b": 8_030_261_248,  # GQA (8 KV heads), 128,256-token vocabulary
    "llama-3.2-1b": 1_235_814_400,  # tied, explicit head_dim
    "qwen2-0.5b": 494_032_768,  # q/k/v biases, no o bias, tied
    "phi-2": 2_779_683_840,  # biases everywhere, parallel attention and MLP, lm_head bias
    "roberta-base": 124_645_632,  # RobertaModel, 514 positions, one token type
    "opt-350m": 331_196_416,  # word_embed_proj_dim 512, post-LayerNorm, no final norm
    "opt-125m": 125_239_296,  # pre-LayerNorm with a final norm
}
ALL = {**PUBLISHED, **MORE}
# Mixtral-8x7B per token: embeddings (in and out) + 32 x (attention + 2 norms + router + 2 experts) + final norm.
MIXTRAL_ACTIVE = 2 * 32000 * 4096 + 32 * (41_943_040 + 2 * 4096 + 4096 * 8 + 2 * 3 * 4096 * 14336) + 4096


def config(name):
    text = (CONFIGS / f"{name}.json").read_text()
    return json.loads(text), text


def build(name):
    data, text = config(name)
    spec_text = hf.to_spec_text(data, f"{name}.json", text)
    return spec_text, paramcount.analyze(paramcount.load_text(spec_text, f"{name}.yaml"))


def total(report):
    return report.to_dict()["totals"]["params"]


def transformers_model(name, cls=None):
    """The model transformers builds from the same config, on the meta device (no memory for weights)."""
    return hf_model(config(name)[0], cls)


def hf_model(data, cls=None):
    torch, transformers = require("torch"), require("transformers")
    cfg = transformers.CONFIG_MAPPING[data["model_type"]].from_dict(data)
    if cls is None:
        cls = {"bert": "AutoModel", "roberta": "AutoModel", "t5": "T5ForConditionalGeneration"}.get(
            data["model_type"], "AutoModelForCausalLM")
    with torch.device("meta"):
        factory = getattr(transformers, cls)
        return factory.from_config(cfg) if cls.startswith("Auto") else factory(cfg)


def torch_count(model):
    return sum(p.numel() for p in model.parameters())  # a tied parameter once


@pytest.mark.parametrize("name", sorted(ALL))
def test_figure(name):
    _, report = build(name)
    assert total(report) == ALL[name]


@pytest.mark.parametrize("name", sorted(ALL))
def test_equals_transformers_on_the_meta_device(name):
    _, report = build(name)
    assert total(report) == torch_count(transformers_model(name))


@pytest.mark.parametrize("cls", ["T5Model", "T5ForConditionalGeneration"])
def test_t5_base_model_and_generation_model_agree(cls):
    assert torch_count(transformers_model("t5-base", cls)) == PUBLISHED["t5-base"]


def test_every_family_has_a_config():
    families = {config(p.stem)[0]["model_type"] for p in CONFIGS.glob("*.json")}
    assert families == set(hf.FAMILIES)
    assert {p.stem for p in CONFIGS.glob("*.json")} == set(ALL)


@pytest.mark.parametrize("name", sorted(ALL))
def test_emitted_spec_round_trips(name, tmp_path):
    spec_text, report = build(name)
    path = tmp_path / f"{name}.yaml"
    path.write_text(spec_text)
    again = paramcount.analyze(paramcount.load_file(str(path)))
    assert again.to_dict()["totals"] == report.to_dict()["totals"]
    params = [leaf["params"] for leaf in report.to_dict()["layers"]]
    assert [leaf["params"] for leaf in again.to_dict()["layers"]] == params
    assert yaml.safe_load(spec_text)["layers"]  # plain YAML too


# Variants: each field that changes a count, flipped, must still equal transformers.
VARIANTS = [
    ("llama-2-7b", {"tie_word_embeddings": True}),
    ("llama-2-7b", {"attention_bias": True, "mlp_bias": True}),
    ("llama-2-7b", {"num_key_value_heads": 4, "head_dim": 96, "num_hidden_layers": 2}),
    ("mistral-7b", {"num_key_value_heads": 32, "vocab_size": 32768}),
    ("mixtral-8x7b", {"num_local_experts": 4, "num_experts_per_tok": 1, "intermediate_size": 1024}),
    ("qwen2-0.5b", {"tie_word_embeddings": False}),
    ("gemma-2b", {"num_key_value_heads": 8, "head_dim": 128}),
    ("phi-2", {"num_key_value_heads": 8, "tie_word_embeddings": True}),
    ("gpt2", {"n_inner": 1000, "add_cross_attention": True}),
    ("bert-base-uncased", {"type_vocab_size": 4, "max_position_embeddings": 1024}),
    ("t5-base", {"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False, "num_decoder_layers": 3,
                 "relative_attention_num_buckets": 64}),
    ("opt-125m", {"enable_bias": False, "layer_norm_elementwise_affine": False}),
    ("opt-125m", {"_remove_final_layer_norm": True, "tie_word_embeddings": False}),
]


@pytest.mark.parametrize("name,changes", VARIANTS, ids=[f"{n}-{'-'.join(c)}" for n, c in VARIANTS])
def test_fields_that_change_a_count(name, changes):
    data, _ = config(name)
    data.update(changes)
    report = paramcount.analyze(paramcount.load_text(hf.to_spec_text(data, "variant.json")))
    assert total(report) == torch_count(hf_model(data))
    assert total(report) != ALL[name]


# ---------------------------------------------------------------- mixture of experts


def _active(report, spec_text):
    """Parameters one token uses: every leaf, except that a moe layer counts its router and top_k experts."""
    moe = REGISTRY["moe"]
    blocks = yaml.safe_load(spec_text).get("blocks", {})
    found = [layer for block in blocks.values() for layer in _walk(block["layers"]) if layer.get("type") == "moe"]
    active = 0
    for leaf, times in _leaves(report):
        if leaf.type == "moe":
            written = next(layer for layer in found if layer["name"] == leaf.name)
            cfg = dict(moe.defaults, **{k: v for k, v in written.items() if k not in ("type", "name")})
            tensors = moe.active_weights(cfg, leaf.input_shape, leaf.output_shape)
            active += times * sum(math.prod(t.shape) for t in tensors)
        else:
            active += times * leaf.counts.params
    return active


def _leaves(report):
    """(leaf, how many sets of its weights the totals hold): the last item of Report.leaves()."""
    for item in report.leaves():
        yield item[0], item[-1]


def _walk(layers):
    for layer in layers:
        if isinstance(layer, dict):
            yield layer
            for key in ("layers", "body", "shortcut"):
                if isinstance(layer.get(key), list):
                    yield from _walk(layer[key])


def test_leaves_add_up_to_the_total():
    spec_text, report = build("mixtral-8x7b")
    assert sum(leaf.counts.params * times for leaf, times in _leaves(report)) == total(report)


def test_mixtral_active_parameters_per_token():
    spec_text, report = build("mixtral-8x7b")
    assert MIXTRAL_ACTIVE == 12_879_925_248  # published: about 12.9B
    assert _active(report, spec_text) == MIXTRAL_ACTIVE


def test_mixtral_active_parameters_equal_transformers_modules():
    """Summed over transformers' own modules: embeddings, attention, norms, router, top_k experts, lm_head."""
    model = transformers_model("mixtral-8x7b")
    data, _ = config("mixtral-8x7b")
    k = data["num_experts_per_tok"]
    active = torch_count(model.model.embed_tokens) + torch_count(model.model.norm) + torch_count(model.lm_head)
    for layer in model.model.layers:
        active += torch_count(layer.self_attn) + torch_count(layer.input_layernorm)
        active += torch_count(layer.post_attention_layernorm) + torch_count(layer.mlp.gate)
        experts = dict(layer.mlp.experts.named_parameters())
        assert experts and all(p.shape[0] == data["num_local_experts"] for p in experts.values())
        active += sum(p[:k].numel() for p in experts.values())  # top_k of the stacked experts
    assert active == MIXTRAL_ACTIVE
    spec_text, report = build("mixtral-8x7b")
    assert _active(report, spec_text) == active


def _moe_cfg(**written):
    kind = REGISTRY["moe"]
    cfg = dict(kind.defaults)
    cfg.update({k: kind.field_by_name[k].check(v) for k, v in written.items()})
    kind.complete(cfg)
    return kind, cfg


def _size(tensors):
    return sum(math.prod(t.shape) for t in tensors)


def test_moe_by_hand():
    # D=8, 4 experts of hidden 16, top 2. Router 8x4 = 32; gated experts 4 x 3 x 8 x 16 = 1,536.
    kind, cfg = _moe_cfg(num_experts=4, top_k=2, hidden=16)
    assert kind.output_shape(cfg, (5, 8)) == (5, 8)
    assert _size(kind.weights(cfg, (5, 8), (5, 8))) == 32 + 1536
    assert _size(kind.active_weights(cfg, (5, 8), (5, 8))) == 32 + 768
    # Two-matrix experts with biases and a router bias: 32 + 4 + 4 x (8x16 + 16 + 16x8 + 8) = 1,196.
    kind, cfg = _moe_cfg(num_experts=4, top_k=1, hidden=16, gated=False, bias=True, router_bias=True)
    assert _size(kind.weights(cfg, (5, 8), (5, 8))) == 36 + 4 * 280
    assert _size(kind.active_weights(cfg, (5, 8), (5, 8))) == 36 + 280
    roles = {t.name: t.role for t in kind.weights(cfg, (5, 8), (5, 8))}
    assert roles["router_bias"] == roles["experts.up_bias"] == "bias" and roles["router_kernel"] == "weight"


def test_moe_refuses_more_active_experts_than_experts():
    kind, cfg = _moe_cfg(num_experts=4, top_k=5, hidden=16)
    with pytest.raises(Invalid) as refused:
        kind.validate(cfg)
    assert refused.value.field == "top_k" and "more than num_experts=4" in str(refused.value)


def test_moe_needs_a_sequence():
    with pytest.raises(paramcount.SpecError, match=r"needs an input \[T, D\]"):
        paramcount.analyze(paramcount.load_text(
            "input: [4, 8, 8]\nlayers:\n  - {type: moe, num_experts: 2, top_k: 1, hidden: 4}\n"))


# ---------------------------------------------------------------- errors and detection


def test_unknown_model_type_is_an_error_at_its_value():
    text = '{\n  "architectures": ["FalconForCausalLM"],\n  "model_type": "falcon",\n  "hidden_size": 4544\n}\n'
    with pytest.raises(paramcount.SpecError) as refused:
        hf.to_spec_text(json.loads(text), "falcon/config.json", text)
    (problem,) = refused.value.problems
    assert (problem.path, problem.line, problem.col) == ("falcon/config.json", 3, 17)
    assert '"falcon" is not a supported family' in problem.message
    for family in hf.FAMILIES:
        assert family in problem.message
    assert "\n" not in str(problem)


def test_unknown_model_type_without_text_is_at_1_1():
    with pytest.raises(paramcount.SpecError) as refused:
        hf.to_spec_text({"model_type": "gpt_neox"}, "config.json")
    assert str(refused.value).startswith("config.json:1:1: model_type \"gpt_neox\" is not a supported family")


def test_no_model_type():
    with pytest.raises(paramcount.SpecError, match="has no model_type; paramcount reads these families: bert"):
        hf.to_spec_text({"architectures": ["LlamaForCausalLM"]}, "config.json")


@pytest.mark.parametrize("changes,where,words", [
    ({"hidden_size": "4096"}, "hidden_size", "hidden_size must be a positive integer"),
    ({"hidden_size": 0}, "hidden_size", "hidden_size must be a positive integer"),
    ({"hidden_size": None}, "hidden_size", "needs 'hidden_size'"),
    ({"num_key_value_heads": 3}, "num_key_value_heads", "does not divide num_attention_heads=32"),
    ({"tie_word_embeddings": "yes"}, "tie_word_embeddings", "must be true or false"),
])
def test_bad_fields_point_at_the_field(changes, where, words):
    data, _ = config("llama-2-7b")
    data.update(changes)
    text = json.dumps(data, indent=2)
    with pytest.raises(paramcount.SpecError) as refused:
        hf.to_spec_text(data, "config.json", text)
    (problem,) = refused.value.problems
    assert words in problem.message
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f'"{where}"' in row)
    assert problem.line == line


def test_is_config():
    assert hf.is_config({"model_type": "llama"}) and hf.is_config({"architectures": ["X"]})
    assert not hf.is_config({"input": [3], "layers": []}) and not hf.is_config([1, 2]) and not hf.is_config("x")


def test_ignored_fields_are_named():
    """Every field of the shipped configs is either read or named in the module's table of ignored fields."""
    fields = set()
    for path in CONFIGS.glob("*.json"):
        fields |= set(json.loads(path.read_text()))
    doc = hf.__doc__
    missing = sorted(f for f in fields if f"`{f}`" not in doc and not any(
        part and f.startswith(part) for part in ("summary_",)) and "dropout" not in f and not f.endswith("_pdrop"))
    assert not missing, missing


def test_spec_names_follow_hugging_face():
    _, report = build("llama-2-7b")
    assert [leaf.path for leaf, _ in _leaves(report)] == [
        "model.embed_tokens", "model.layers.0.input_layernorm", "model.layers.0.self_attn",
        "model.layers.0.post_attention_layernorm", "model.layers.0.mlp.gate.0.gate_proj",
        "model.layers.0.mlp.gate.1.up_proj", "model.layers.0.mlp.down_proj", "model.norm", "lm_head"]
    _, report = build("mixtral-8x7b")
    assert "model.layers.0.mlp" in [leaf.path for leaf, _ in _leaves(report)]  # transformers 5's name
    _, report = build("t5-base")
    paths = [leaf.path for leaf, _ in _leaves(report)]
    assert "model.encoder.block.0.layer.0.SelfAttention" in paths and "model.decoder.lm_head" in paths
    assert "model.decoder.block.0.layer.2.DenseReluDense.wo" in paths


def test_huge_values_are_refused_at_the_field():
    data, _ = config("gpt2")
    data["vocab_size"] = 10**400
    with pytest.raises(paramcount.SpecError, match="vocab_size must be a positive integer up to"):
        hf.to_spec_text(data, "config.json")


def test_read_from_text():
    text = (CONFIGS / "gpt2.json").read_text()
    data, spec_text = hf.read(text, "gpt2/config.json")
    assert data["model_type"] == "gpt2"
    assert total(paramcount.analyze(paramcount.load_text(spec_text, "gpt2/config.json"))) == PUBLISHED["gpt2"]


@pytest.mark.parametrize("text,where,words", [
    ('{\n  "model_type": "gpt2",\n  "n_embd": 768,,\n}', (3, 17), "not JSON"),
    ('[1, 2]', (1, 1), "not a Hugging Face config"),
    ('{"input": [3], "layers": []}', (1, 1), "not a Hugging Face config"),
    ("[" * 100_000, (1, 1), "not JSON"),
])
def test_read_refuses(text, where, words):
    with pytest.raises(paramcount.SpecError) as refused:
        hf.read(text, "config.json")
    (problem,) = refused.value.problems
    assert (problem.line, problem.col) == where and words in problem.message


def test_errors_point_at_the_top_level_key():
    text = ('{\n  "text_config": {"model_type": "llama", "note": "a \\"model_type\\": here"},\n'
            '  "model_type": "llava"\n}\n')
    with pytest.raises(paramcount.SpecError) as refused:
        hf.to_spec_text(json.loads(text), "config.json", text)
    (problem,) = refused.value.problems
    assert (problem.line, problem.col) == (3, 17)
