"""Hugging Face `config.json` to a paramcount spec, from a registry of model families.

`to_spec_text(config, source)` writes the model as a YAML spec in paramcount's own composition
syntax (blocks, repeat, residual, parallel, ties); `paramcount.load_text` and `paramcount.analyze`
count it, and the text is what `--emit-spec` prints, so the round trip gives the same figures.
`is_config(data)` says whether parsed JSON looks like a Hugging Face config.

What is counted: the model `AutoModelForCausalLM` builds for the decoder families (llama,
mistral, mixtral, qwen2, gemma, phi, gpt2, opt: the base model and `lm_head`, tied or not),
`T5ForConditionalGeneration` for t5 (its `lm_head` is tied to `shared`, so the total is
`T5Model`'s), and the base model with its
pooler for the encoders (bert, roberta: `BertModel`, `RobertaModel`; the `architectures` head, such
as BertForMaskedLM, is not counted). Ties are counted once, as `model.parameters()` does.

Attention needs a sequence length: the spec's input is `max_position_embeddings` token ids
(`n_positions` for gpt2 and t5; roberta: less its `pad_token_id + 1` unused rows). It changes no
count except learned positions, which are sized by the config, not by the input. A config without
it gets transformers' default for the family (gpt2 1,024, bert and roberta 512, opt 2,048, t5 512)
or, for the rotary families, which hold no position weights, 2,048.

Fields read (`model_type` picks the family; each of the others changes a count): `vocab_size`,
the width (`hidden_size`, `n_embd`, `d_model`), the depth (`num_hidden_layers`, `n_layer`, `num_layers`, `num_decoder_layers`), heads
(`num_attention_heads`, `n_head`, `num_heads`), `num_key_value_heads`, `head_dim`, `d_kv`,
`intermediate_size`, `n_inner`, `d_ff`, `ffn_dim`, `tie_word_embeddings`, `attention_bias`,
`mlp_bias`, `max_position_embeddings` / `n_positions` (learned positions: gpt2, bert, roberta,
opt), `type_vocab_size`, `num_local_experts`, `num_experts_per_tok`, `feed_forward_proj` (t5:
gated or not), `relative_attention_num_buckets`, `word_embed_proj_dim`, `do_layer_norm_before`,
`_remove_final_layer_norm`, `enable_bias`, `layer_norm_elementwise_affine`, `qk_layernorm`,
`add_cross_attention`, `is_decoder`.

Fields ignored on purpose (they change no parameter count):

| field | why |
|---|---|
| `architectures` | the head is chosen per family (above); the count does not follow it |
| `hidden_act`, `activation_function`, `hidden_activation` | activations hold no parameters |
| `rms_norm_eps`, `layer_norm_eps`, `layer_norm_epsilon` | copied into the spec's `eps`, no count |
| `rope_theta`, `rope_scaling`, `partial_rotary_factor`, `rotary_pct` | rotary positions hold no parameters |
| `relative_attention_max_distance` | bucketing only; the table is `num_buckets × num_heads` |
| `sliding_window`, `use_sliding_window`, `max_window_layers`, `n_ctx` | what attention sees, not its weights |
| `*dropout*`, `*_pdrop`, `layerdrop` | no parameters |
| `router_aux_loss_coef`, `output_router_logits`, `router_jitter_noise` | training only |
| `initializer_range`, `initializer_factor`, `init_std` | initial values, not counts |
| `torch_dtype`, `dtype`, `use_cache`, `transformers_version`, `_name_or_path` | bookkeeping |
| `bos_token_id`, `eos_token_id`, `pad_token_id`, `decoder_start_token_id`, `prefix` | token ids |
| `pretraining_tp`, `gradient_checkpointing`, `scale_attn_*`, `reorder_and_upcast_attn` | how, not what |
| `tie_word_embeddings` (t5 only) | transformers 5 always ties T5's `lm_head` to `shared` (4.x did not under `false`) |
| `position_embedding_type` | only `absolute` is supported: another value is an error |
| `summary_*`, `task_specific_params`, `output_past`, `is_encoder_decoder` | heads and settings not built |
"""

import json
import re

from ..errors import Problem, SpecError, text_position, unprintable

REQUIRED = object()
_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")|[{}\[\]]')  # JSON strings and brackets, to find top-level keys
_COLON = re.compile(r"\s*:\s*")
MAX_INT = 2**53  # no config field is larger; JSON's exact integers in most readers


class _Config:
    """The config's fields, with errors that point at a field (when the JSON text is known)."""

    def __init__(self, data, source, text=None):
        self.data, self.source, self.text = data, source, text
        self.read = set()

    def where(self, key):
        """1-based (line, col) of the top-level `key`'s value in the JSON text, or (1, 1)."""
        if self.text is None or key is None:
            return (1, 1)
        depth, want = 0, json.dumps(key)
        for m in _TOKEN.finditer(self.text):
            token = m.group()
            if token in "{[":
                depth += 1
            elif token in "}]":
                depth -= 1
            elif depth == 1 and m.group(1) is not None and token == want:
                value = _COLON.match(self.text, m.end())
                if value:
                    return text_position(self.text[:value.end()])
        return (1, 1)

    def fail(self, key, message):
        raise SpecError([Problem(self.source, *self.where(key), message)])

    def get(self, key, default=REQUIRED, kind="int"):
        value = self.data.get(key)
        if value is None:
            if default is REQUIRED:
                self.fail(key if key in self.data else "model_type",
                          f"the {self.data.get('model_type')} config needs {key!r}")
            return default
        ok = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_INT,
              "bool": lambda v: isinstance(v, bool),
              "str": lambda v: isinstance(v, str),
              "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}[kind]
        if not ok(value):
            what = {"int": f"a positive integer up to {MAX_INT:,}", "bool": "true or false", "str": "a string",
                    "num": "a number"}[kind]
            self.fail(key, f"{key} must be {what}, got {json.dumps(value)[:40]}")
        return value

    def first(self, *keys, default=REQUIRED):
        for key in keys:
            if self.data.get(key) is not None:
                return self.get(key)
        return self.get(keys[0], default)


# ---------------------------------------------------------------- YAML writing

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, float):  # YAML 1.1 reads 1e-05 as a string: write 1.0e-05
        text = repr(v)
        return re.sub(r"^(-?\d+)e", r"\1.0e", text) if "e" in text else text
    if isinstance(v, int):
        return str(v)
    if _PLAIN.match(v) and v.lower() not in _RESERVED:
        return v
    return json.dumps(v)


def _flat(v):
    return not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(i, (dict, list)) for i in v))


def _flow(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


class Note(str):
    """A comment line in the written YAML (a list item that is not a layer)."""


def _dump(v, indent=0):
    pad = " " * indent
    lines = []
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, list):
                inline = _flat(x)
            else:
                inline = not isinstance(x, dict) or all(_flat(i) for i in x.values()) and len(_flow(x)) < 100
            if not inline:
                if isinstance(x, list) and x and all(isinstance(i, list) for i in x):  # parallel branches
                    lines.append(f"{pad}{k}:")
                    for branch in x:
                        lines.append(f"{pad}  - {_flow(branch)}" if len(_flow(branch)) < 100 else f"{pad}  -")
                        if len(_flow(branch)) >= 100:
                            lines += _dump(branch, indent + 4)
                    continue
                lines.append(f"{pad}{k}:")
                lines += _dump(x, indent + 2)
            else:
                lines.append(f"{pad}{k}: {_flow(x)}")
        return lines
    for item in v:
        if isinstance(item, Note):
            lines.append(f"{pad}# {item}")
        elif isinstance(item, dict) and (len(_flow(item)) >= 100 or not all(_flat(i) for i in item.values())):
            sub = _dump(item, indent + 2)
            lines.append(f"{pad}- {sub[0].lstrip()}")
            lines += sub[1:]
        elif isinstance(item, list):
            lines.append(f"{pad}-")
            lines += _dump(item, indent + 2)
        else:
            lines.append(f"{pad}- {_flow(item)}")
    return lines


def _text(header, spec):
    out = [f"# {line}" if line else "#" for line in header]
    for key in ("name", "description", "input"):
        out.append(f"{key}: {_flow(spec[key]) if key != 'description' else json.dumps(spec[key])}")
    for key in ("blocks", "layers"):
        if spec.get(key):
            out.append(f"{key}:")
            out += _dump(spec[key], 2)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- pieces


def dense(name, units, bias=True, **more):
    return dict(type="dense", name=name, units=units, bias=bias, **more)


def norm(kind, name, eps=None, affine=True):
    layer = {"type": kind, "name": name}
    if not affine:
        layer["affine"] = False
    if eps is not None:
        layer["eps"] = eps
    return layer


def attention(name, heads, kv_heads=None, head_dim=None, qkv_bias=True, out_bias=True):
    layer = {"type": "attention", "name": name, "num_heads": heads}
    if kv_heads is not None and kv_heads != heads:
        layer["num_kv_heads"] = kv_heads
    if head_dim is not None:
        layer["head_dim"] = head_dim
    layer["qkv_bias"], layer["out_bias"] = qkv_bias, out_bias
    return layer


def gated_mlp(name, hidden, width, bias, act="silu", names=("gate_proj", "up_proj", "down_proj")):
    """down(act(gate(x)) * up(x)): SwiGLU / GeGLU."""
    return {"type": "sequence", "name": name, "layers": [
        {"type": "parallel", "name": "gate", "merge": "multiply", "branches": [
            [dense(names[0], hidden, bias, activation=act)], [dense(names[1], hidden, bias)]]},
        dense(names[2], width, bias)]}


def residual(*body):
    return {"type": "residual", "body": list(body)}


def spec(name, description, length, layers, blocks=None):
    s = {"name": name, "description": description, "input": [length], "layers": layers}
    if blocks:
        s["blocks"] = blocks
    return s


def _name(c, family):
    """The model's name: `_name_or_path`, else the config file's stem, else the family."""
    for name in (c.data.get("_name_or_path"), re.sub(r"\.json\Z", "", c.source.replace("\\", "/").rsplit("/", 1)[-1])):
        if isinstance(name, str) and 0 < len(name) <= 100 and unprintable(name) is None \
                and name not in ("-", "<stdin>", "config", "<string>"):
            return name
    return family


def _desc(c, what):
    return f"{what}, from the Hugging Face config {_name(c, c.data.get('model_type'))}"


# ---------------------------------------------------------------- families


def _decoder(c, family, norm_kind="rmsnorm", tie_default=False, qkv_bias=None, out_bias=None, act="silu"):
    """llama, mistral, mixtral, qwen2, gemma: pre-RMSNorm decoder layers, gated MLP or experts."""
    d, layers, heads = c.get("hidden_size"), c.get("num_hidden_layers"), c.get("num_attention_heads")
    kv = c.get("num_key_value_heads", heads)
    head_dim = c.get("head_dim", None)
    if head_dim is None and d % heads:
        c.fail("num_attention_heads", f"num_attention_heads={heads} does not divide hidden_size={d}; set head_dim")
    if heads % kv:
        c.fail("num_key_value_heads", f"num_key_value_heads={kv} does not divide num_attention_heads={heads}")
    bias = c.get("attention_bias", False, "bool")
    qkv = bias if qkv_bias is None else qkv_bias
    out = bias if out_bias is None else out_bias
    eps = c.get("rms_norm_eps", None, "num")
    vocab, tie = c.get("vocab_size"), c.get("tie_word_embeddings", tie_default, "bool")
    length = c.get("max_position_embeddings", 2048)
    if family == "mixtral":
        experts, top_k = c.get("num_local_experts"), c.get("num_experts_per_tok")
        if top_k > experts:
            c.fail("num_experts_per_tok", f"num_experts_per_tok={top_k} is more than num_local_experts={experts}")
        mlp = {"type": "moe", "name": "mlp", "num_experts": experts, "top_k": top_k,
               "hidden": c.get("intermediate_size"), "gated": True}
    else:
        mlp = gated_mlp("mlp", c.get("intermediate_size"), "${in_features}",
                        c.get("mlp_bias", False, "bool"), act)
    block = {"layers": [
        residual(norm(norm_kind, "input_layernorm", eps),
                 attention("self_attn", heads, kv, head_dim, qkv, out)),
        residual(norm(norm_kind, "post_attention_layernorm", eps), mlp)]}
    head = dense("lm_head", vocab, False)
    if tie:
        head["tie"] = "model.embed_tokens"
    model = {"type": "sequence", "name": "model", "layers": [
        {"type": "embedding", "name": "embed_tokens", "num_embeddings": vocab, "embedding_dim": d},
        {"type": "decoder_layer", "name": "layers", "repeat": layers},
        norm(norm_kind, "norm", eps)]}
    what = {"mixtral": "mixture-of-experts decoder", "qwen2": "decoder"}.get(family, "decoder")
    return spec(_name(c, family), _desc(c, f"{family} {what}"), length,
                [model, head], {"decoder_layer": block})


def llama(c):
    return _decoder(c, "llama")


def mistral(c):
    return _decoder(c, "mistral")


def mixtral(c):
    return _decoder(c, "mixtral")


def qwen2(c):
    return _decoder(c, "qwen2", qkv_bias=True, out_bias=False)  # Qwen2Attention: q/k/v biased, o not


def gemma(c):
    return _decoder(c, "gemma", tie_default=True, act="gelu")


def phi(c):
    """Phi-1/1.5/2: one LayerNorm per layer feeding attention and MLP in parallel; biases everywhere."""
    d, layers, heads = c.get("hidden_size"), c.get("num_hidden_layers"), c.get("num_attention_heads")
    kv = c.get("num_key_value_heads", heads)
    if c.get("qk_layernorm", False, "bool"):
        c.fail("qk_layernorm", "qk_layernorm: true is not supported (per-head LayerNorms on queries and keys)")
    eps = c.get("layer_norm_eps", None, "num")
    vocab, tie = c.get("vocab_size"), c.get("tie_word_embeddings", False, "bool")
    block = {"layers": [residual(
        norm("layernorm", "input_layernorm", eps),
        {"type": "parallel", "merge": "add", "branches": [
            [attention("self_attn", heads, kv, c.get("head_dim", None), True, True)],
            [{"type": "sequence", "name": "mlp", "layers": [
                dense("fc1", c.get("intermediate_size"), True, activation="gelu"), dense("fc2", d, True)]}]]})]}
    head = dense("lm_head", vocab, True)  # PhiForCausalLM's lm_head has a bias
    if tie:
        head["tie"] = "model.embed_tokens"
    model = {"type": "sequence", "name": "model", "layers": [
        {"type": "embedding", "name": "embed_tokens", "num_embeddings": vocab, "embedding_dim": d},
        {"type": "decoder_layer", "name": "layers", "repeat": layers},
        norm("layernorm", "final_layernorm", eps)]}
    return spec(_name(c, "phi"), _desc(c, "phi decoder"),
                c.get("max_position_embeddings", 2048), [model, head], {"decoder_layer": block})


def gpt2(c):
    d, layers, heads = c.get("n_embd"), c.get("n_layer"), c.get("n_head")
    positions, vocab = c.get("n_positions", 1024), c.get("vocab_size")
    inner, eps = c.get("n_inner", 4 * d), c.get("layer_norm_epsilon", None, "num")
    body = [residual(norm("layernorm", "ln_1", eps), attention("attn", heads))]
    if c.get("add_cross_attention", False, "bool"):
        body.append(residual(norm("layernorm", "ln_cross_attn", eps), attention("crossattention", heads)))
    body.append(residual(norm("layernorm", "ln_2", eps), {"type": "sequence", "name": "mlp", "layers": [
        dense("c_fc", inner, True, activation="gelu"), dense("c_proj", d, True)]}))
    head = dense("lm_head", vocab, False)
    if c.get("tie_word_embeddings", True, "bool"):
        head["tie"] = "transformer.wte"
    model = {"type": "sequence", "name": "transformer", "layers": [
        {"type": "embedding", "name": "wte", "num_embeddings": vocab, "embedding_dim": d},
        {"type": "positional_embedding", "name": "wpe", "num_positions": positions},
        {"type": "block", "name": "h", "repeat": layers},
        norm("layernorm", "ln_f", eps)]}
    return spec(_name(c, "gpt2"), _desc(c, "GPT-2 decoder"), positions, [model, head],
                {"block": {"layers": body}})


def _encoder(c, family, length):
    """bert, roberta: BertModel / RobertaModel with the pooler; post-LayerNorm layers."""
    if c.get("position_embedding_type", "absolute", "str") != "absolute":
        c.fail("position_embedding_type", "only position_embedding_type: absolute is supported")
    d, layers, heads = c.get("hidden_size"), c.get("num_hidden_layers"), c.get("num_attention_heads")
    eps = c.get("layer_norm_eps", None, "num")
    if c.get("is_decoder", False, "bool") and c.get("add_cross_attention", False, "bool"):
        c.fail("add_cross_attention", "add_cross_attention: true is not supported for encoders")
    block = {"layers": [
        {"type": "sequence", "name": "attention", "layers": [
            residual(attention("self", heads)), norm("layernorm", "output_LayerNorm", eps)]},
        residual(dense("intermediate", c.get("intermediate_size"), True, activation="gelu"),
                 dense("output", d, True)),
        norm("layernorm", "output_LayerNorm", eps)]}
    embeddings = [{"name": "word_embeddings", "layers": [
        {"type": "embedding", "num_embeddings": c.get("vocab_size"), "embedding_dim": d}]},
        {"name": "position_embeddings", "layers": [
            {"type": "embedding", "num_embeddings": c.get("max_position_embeddings", 512), "embedding_dim": d}]}]
    types = c.get("type_vocab_size", 2)
    embeddings.append({"name": "token_type_embeddings", "layers": [
        {"type": "embedding", "num_embeddings": types, "embedding_dim": d}]})
    layers_ = [
        {"type": "sequence", "name": "embeddings", "layers": [
            {"type": "parallel", "merge": "add", "branches": embeddings},
            norm("layernorm", "LayerNorm", eps)]},
        {"type": "sequence", "name": "encoder", "layers": [{"type": "layer", "name": "layer", "repeat": layers}]},
        {"type": "sequence", "name": "pooler", "layers": [
            {"type": "select", "axis": 0, "index": 0}, dense("dense", d, True, activation="tanh")]}]
    return spec(_name(c, family), _desc(c, f"{family} encoder with pooler"), length, layers_,
                {"layer": block})


def bert(c):
    return _encoder(c, "bert", c.get("max_position_embeddings", 512))


def roberta(c):
    # RoBERTa's position table has max_position_embeddings rows, the first pad_token_id + 1 unused
    pad = c.data.get("pad_token_id", 1)
    pad = pad if isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0 else 1
    length = c.get("max_position_embeddings", 512)
    return _encoder(c, "roberta", max(length - pad - 1, 1))


def opt(c):
    d, layers, heads = c.get("hidden_size"), c.get("num_hidden_layers"), c.get("num_attention_heads")
    proj, vocab = c.get("word_embed_proj_dim", d), c.get("vocab_size")
    positions = c.get("max_position_embeddings", 2048)
    bias = c.get("enable_bias", True, "bool")
    affine = c.get("layer_norm_elementwise_affine", True, "bool")
    before = c.get("do_layer_norm_before", True, "bool")
    attn = attention("self_attn", heads, None, None, bias, bias)
    attn_norm = norm("layernorm", "self_attn_layer_norm", affine=affine)
    mlp = [dense("fc1", c.get("ffn_dim"), bias, activation="relu"), dense("fc2", d, bias)]
    mlp_norm = norm("layernorm", "final_layer_norm", affine=affine)
    if before:
        block = [residual(attn_norm, attn), residual(mlp_norm, *mlp)]
    else:
        block = [residual(attn), attn_norm, residual(*mlp), mlp_norm]
    decoder = [{"type": "embedding", "name": "embed_tokens", "num_embeddings": vocab, "embedding_dim": proj}]
    if proj != d:
        decoder.append(dense("project_in", d, False))
    decoder.append(Note("learned positions: max_position_embeddings + 2 rows (OPT's offset of 2)"))
    decoder.append({"type": "positional_embedding", "name": "embed_positions", "num_positions": positions + 2})
    decoder.append({"type": "decoder_layer", "name": "layers", "repeat": layers})
    if before and not c.get("_remove_final_layer_norm", False, "bool"):
        decoder.append(norm("layernorm", "final_layer_norm", affine=affine))
    if proj != d:
        decoder.append(dense("project_out", proj, False))
    head = dense("lm_head", vocab, False)
    if c.get("tie_word_embeddings", True, "bool"):
        head["tie"] = "model.decoder.embed_tokens"
    model = {"type": "sequence", "name": "model",
             "layers": [{"type": "sequence", "name": "decoder", "layers": decoder}]}
    return spec(_name(c, "opt"), _desc(c, "OPT decoder"), positions, [model, head],
                {"decoder_layer": {"layers": block}})


def t5(c):
    """T5ForConditionalGeneration: a shared embedding, an encoder and a decoder stack of RMS-normed layers."""
    d, kv, ff = c.get("d_model"), c.get("d_kv"), c.get("d_ff")
    heads, vocab = c.get("num_heads"), c.get("vocab_size")
    enc_layers = c.get("num_layers")
    dec_layers = c.get("num_decoder_layers", enc_layers)
    buckets = c.get("relative_attention_num_buckets", 32)
    eps = c.get("layer_norm_epsilon", None, "num")
    proj = c.get("feed_forward_proj", "relu", "str")
    gated = proj.startswith("gated-")
    act = proj.split("-")[-1]
    act = {"gelu_new": "gelu", "gelu": "gelu", "relu": "relu", "silu": "silu"}.get(act)
    if act is None:
        c.fail("feed_forward_proj", f"feed_forward_proj {proj!r} is not supported (relu, gelu, gated-gelu, ...)")

    def attn(name):
        return attention(name, heads, None, kv, False, False)

    def ff_layer():
        if gated:
            dense_relu = gated_mlp("DenseReluDense", ff, d, False, act, ("wi_0", "wi_1", "wo"))
        else:
            dense_relu = {"type": "sequence", "name": "DenseReluDense", "layers": [
                dense("wi", ff, False, activation=act), dense("wo", d, False)]}
        return residual(norm("rmsnorm", "layer_norm", eps), dense_relu)

    def sublayers(*parts):  # Hugging Face's block.N.layer.0, layer.1, ...
        return {"layers": [{"type": "sequence", "name": "layer", "layers": [
            {"type": "sequence", "layers": [part]} for part in parts]}]}

    enc_block = sublayers(residual(norm("rmsnorm", "layer_norm", eps), attn("SelfAttention")), ff_layer())
    dec_block = sublayers(residual(norm("rmsnorm", "layer_norm", eps), attn("SelfAttention")),
                          residual(norm("rmsnorm", "layer_norm", eps), attn("EncDecAttention")), ff_layer())

    def stack(name, block, n):
        return {"name": name, "layers": [
            {"type": "embedding", "name": "embed_tokens", "num_embeddings": vocab, "embedding_dim": d,
             "tie": "model.0.shared"},
            {"type": block, "name": "block", "repeat": n},
            norm("rmsnorm", "final_layer_norm", eps)]}

    decoder = stack("decoder", "decoder_block", dec_layers)
    # transformers 5 always ties T5's lm_head to `shared` (T5Config reads tie_word_embeddings only to
    # decide whether to scale the decoder's output); 4.x left it untied under tie_word_embeddings: false.
    decoder["layers"].append(dense("lm_head", vocab, False, tie="model.0.shared"))
    bias = {"type": "embedding", "num_embeddings": buckets, "embedding_dim": heads}
    layers_ = [
        Note("One input, two stacks: the encoder and the decoder are branches over the same token ids,"),
        Note("concatenated on the last axis. The decoder's cross-attention (EncDecAttention) has the"),
        Note("weights of an attention over [T, d_model]. Each stack's relative position bias"),
        Note("(block.0.layer.0.SelfAttention.relative_attention_bias in Hugging Face's names) is a"),
        Note("num_buckets x num_heads table looked up by bucket ids: an embedding on the ids here."),
        {"type": "parallel", "name": "model", "merge": "concat", "axis": -1, "branches": [
            [{"type": "embedding", "name": "shared", "num_embeddings": vocab, "embedding_dim": d}],
            stack("encoder", "encoder_block", enc_layers),
            [dict(bias, name="encoder_relative_attention_bias")],
            decoder,
            [dict(bias, name="decoder_relative_attention_bias")]]}]
    return spec(_name(c, "t5"), _desc(c, "T5 encoder-decoder"), c.get("n_positions", 512),
                layers_, {"encoder_block": enc_block, "decoder_block": dec_block})


FAMILIES = {"llama": llama, "mistral": mistral, "mixtral": mixtral, "qwen2": qwen2, "gemma": gemma, "phi": phi,
            "gpt2": gpt2, "bert": bert, "roberta": roberta, "t5": t5, "opt": opt}


def is_config(data):
    """Whether parsed JSON is a Hugging Face config: a mapping with `model_type` or `architectures`."""
    return isinstance(data, dict) and ("model_type" in data or "architectures" in data)


def to_spec(config, source, text=None):
    """The spec (a dict in paramcount's YAML shape) for a config; `text`, the JSON, places errors."""
    c = _Config(config, source, text)
    family = config.get("model_type")
    if not isinstance(family, str) or family not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        if "model_type" not in config:
            c.fail(None, f"the config has no model_type; paramcount reads these families: {supported}")
        c.fail("model_type", f"model_type {json.dumps(family)[:60]} is not a supported family (supported: {supported})")
    return FAMILIES[family](c)


def to_spec_text(config, source, text=None):
    """A YAML spec in paramcount's composition syntax for a Hugging Face config (a dict from config.json).

    `source` names the config in errors and in the spec's header; `text`, the JSON text when known,
    lets errors point at the field's line and column. Raises paramcount.SpecError for an unknown
    model_type (listing the supported families) or a field that is missing or of the wrong type.
    """
    s = to_spec(config, source, text)
    header = [f"paramcount spec built from the Hugging Face config {source}",
              f"(model_type {config['model_type']}); edit it and count it again with paramcount FILE.yaml"]
    return _text(header, s)


def read(text, path):
    """(config, spec_text) from a config.json's text: what `paramcount config.json` and `--emit-spec` need.

    Raises SpecError at the place for JSON that does not parse, is not a Hugging Face config (no
    `model_type`, no `architectures`), names an unknown family, or holds a bad field. Count the
    result with `paramcount.analyze(paramcount.load_text(spec_text, path))`.
    """
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError([Problem(path, e.lineno, e.colno, f"not JSON: {e.msg}")]) from None
    except RecursionError:
        raise SpecError([Problem(path, 1, 1, "not JSON paramcount can read: nested too deeply")]) from None
    if not is_config(config):
        raise SpecError([Problem(path, 1, 1, "not a Hugging Face config: no model_type or architectures")])
    return config, to_spec_text(config, path, text)
