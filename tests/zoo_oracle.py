"""The preset zoo built by hand in plain ``torch.nn``: an oracle independent of paramcount.

Each model in ``architectures/`` that issue 7 lists (``lenet5-1998`` ... ``llama2-7b``) is written
here as its source writes it (the paper, torchvision, Hugging Face ``transformers``), without
importing paramcount, torchvision or transformers.  Every model is built on the ``meta`` device,
so even Llama-2-7B allocates nothing, and is run forward on a meta batch of one to check its
output shape.

Conventions (the spec's, written down independently):

* trainable      = numel of parameters with ``requires_grad``, each tensor once, as
                   ``model.parameters()`` yields it (GPT-2's ``lm_head`` is ``wte``'s weight;
                   ALBERT's one layer is one module run twelve times);
* non_trainable  = numel of buffers (BatchNorm running mean and variance; ``num_batches_tracked``
                   excluded) + numel of frozen parameters (LeNet-1998's RBF centres);
* subtotals      = the same two figures for one module, keyed by its dotted path as
                   ``named_modules`` prints it; a tensor shared by several modules counts in the
                   first that ``named_parameters`` names it under (so a tied ``lm_head`` is 0).

Use: ``measure(name)`` gives a :class:`Measurement`; ``NAMES`` lists the models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

META = torch.device("meta")


@dataclass
class Measurement:
    trainable: int
    non_trainable: int
    output_shape: tuple  # without the batch axis
    blocks: dict = field(default_factory=dict)  # path -> (trainable, non_trainable)


def _split(model):
    """(trainable, non_trainable) element counts per tensor name, each tensor once."""
    out = {}
    for name, p in model.named_parameters():  # deduplicated: a shared tensor under its first name
        out[name] = (p.numel(), 0) if p.requires_grad else (0, p.numel())
    for name, b in model.named_buffers():
        if not name.endswith("num_batches_tracked"):
            out[name] = (0, b.numel())
    return out


def count(model, paths=()):
    """Totals and the subtotals of the modules at ``paths``."""
    tensors = _split(model)
    modules = dict(model.named_modules())
    blocks = {}
    for path in paths:
        if path not in modules:
            raise KeyError(f"{type(model).__name__} has no module {path!r}")
        inside = [v for k, v in tensors.items() if k.startswith(path + ".")]
        blocks[path] = (sum(t for t, _ in inside), sum(n for _, n in inside))
    return sum(t for t, _ in tensors.values()), sum(n for _, n in tensors.values()), blocks


# -- LeNet-5, LeCun, Bottou, Bengio and Haffner 1998, exactly as the paper describes it -------

# Table I of the paper: which of S2's six maps each of C3's sixteen maps reads.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class Subsample(nn.Module):
    """S2 / S4: the sum of each 2x2 window times a trainable coefficient plus a trainable bias,
    one of each per map, through the squashing function."""

    def __init__(self, maps):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(maps))
        self.bias = nn.Parameter(torch.empty(maps))

    def forward(self, x):
        s = F.avg_pool2d(x, 2) * 4
        return torch.tanh(s * self.weight[:, None, None] + self.bias[:, None, None])


class PartialConv(nn.Module):
    """C3: one 5x5 convolution per output map over the input maps Table I connects it to."""

    def __init__(self, table, kernel):
        super().__init__()
        self.table = table
        self.maps = nn.ModuleList(nn.Conv2d(len(ins), 1, kernel) for ins in table)

    def forward(self, x):
        return torch.cat([conv(x[:, list(ins)]) for conv, ins in zip(self.maps, self.table)], dim=1)


class RBF(nn.Module):
    """The output layer: one Euclidean radial basis unit per class, over F6's 84 units; the
    centres are fixed (the paper sets them by hand to stylised 7x12 bitmaps), so not trained."""

    def __init__(self, features, classes):
        super().__init__()
        self.centres = nn.Parameter(torch.empty(classes, features), requires_grad=False)

    def forward(self, x):
        return ((x[:, None, :] - self.centres) ** 2).sum(-1)


class LeNet1998(nn.Module):
    def __init__(self):
        super().__init__()
        self.C1 = nn.Conv2d(1, 6, 5)            # 156
        self.S2 = Subsample(6)                  # 12
        self.C3 = PartialConv(C3_TABLE, 5)      # 60 connections x 25 + 16 = 1,516
        self.S4 = Subsample(16)                 # 32
        self.C5 = nn.Conv2d(16, 120, 5)         # 48,120
        self.F6 = nn.Linear(120, 84)            # 10,164
        self.OUTPUT = RBF(84, 10)               # 840, fixed

    def forward(self, x):
        x = self.S2(torch.tanh(self.C1(x)))
        x = self.S4(torch.tanh(self.C3(x)))
        x = torch.tanh(self.C5(x)).flatten(1)
        return self.OUTPUT(torch.tanh(self.F6(x)))


def lenet5_1998():
    return LeNet1998(), torch.zeros(1, 1, 32, 32), ["C1", "S2", "C3", "S4", "C5", "F6", "OUTPUT"]


# -- the text CNN of Zhang & Wallace's figure ------------------------------------------------

class TextCNN(nn.Module):
    """A 7x5 sentence matrix; region sizes 4, 3 and 2 with two filters each over the full width,
    1-max pooling, the six maxima concatenated, a dense layer to two classes."""

    def __init__(self):
        super().__init__()
        self.regions = nn.ModuleDict({
            f"region{h}": nn.Sequential(nn.Conv2d(1, 2, (h, 5)), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten())
            for h in (4, 3, 2)})
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(torch.cat([branch(x) for branch in self.regions.values()], dim=1))


def textcnn():
    return TextCNN(), torch.zeros(1, 1, 7, 5), ["regions", "regions.region4", "regions.region3", "regions.region2", "fc"]


# -- VGG-16 (configuration D), torchvision ---------------------------------------------------

VGG16_STAGES = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


class VGG(nn.Module):
    """torchvision's VGG, with ``features`` grouped into its five stages (torchvision numbers the
    same layers flat, ``features.0`` ... ``features.30``; the tensors are the same)."""

    def __init__(self, batch_norm):
        super().__init__()
        stages, c = [], 3
        for filters, convs in VGG16_STAGES:
            layers = []
            for _ in range(convs):
                layers.append(nn.Conv2d(c, filters, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(filters))
                layers.append(nn.ReLU(inplace=True))
                c = filters
            stages.append(nn.Sequential(*layers, nn.MaxPool2d(2, 2)))
        self.features = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
            nn.Linear(4096, 1000))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


_VGG_BLOCKS = ["features"] + [f"features.{i}" for i in range(5)] + ["classifier", "classifier.0", "classifier.3", "classifier.6"]


def vgg16():
    return VGG(False), torch.zeros(1, 3, 224, 224), _VGG_BLOCKS


def vgg16_bn():
    return VGG(True), torch.zeros(1, 3, 224, 224), _VGG_BLOCKS


# -- ResNet-18 and ResNet-50, torchvision (v1.5: the stride on the 3x3 convolution) -----------

def _downsample(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _downsample(cin, width, stride) if stride != 1 or cin != width else None

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width * 4
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, depths):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), depths), 1):
            blocks = []
            for j in range(n):
                blocks.append(block(c, width, 2 if j == 0 and i > 1 else 1))
                c = width * block.expansion
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, 1000)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet_blocks(depths, downsample_in_layer1, convs):
    paths = ["conv1", "bn1", "fc"]
    for i, n in enumerate(depths, 1):
        paths.append(f"layer{i}")
        for j in range(n):
            paths.append(f"layer{i}.{j}")
            paths += [f"layer{i}.{j}.{kind}{k}" for k in range(1, convs + 1) for kind in ("conv", "bn")]
        if i > 1 or downsample_in_layer1:
            paths += [f"layer{i}.0.downsample", f"layer{i}.0.downsample.0", f"layer{i}.0.downsample.1"]
    return paths


def resnet18():
    return ResNet(BasicBlock, (2, 2, 2, 2)), torch.zeros(1, 3, 224, 224), _resnet_blocks((2, 2, 2, 2), False, 2)


def resnet50():
    return ResNet(Bottleneck, (3, 4, 6, 3)), torch.zeros(1, 3, 224, 224), _resnet_blocks((3, 4, 6, 3), True, 3)


# -- MobileNetV2, torchvision ----------------------------------------------------------------

def _cna(cin, cout, kernel=3, stride=1, groups=1):
    """torchvision's Conv2dNormActivation: convolution without bias, BatchNorm, ReLU6."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        self.use_res_connect = stride == 1 and cin == cout
        layers = [_cna(cin, hidden, 1)] if t != 1 else []
        layers += [_cna(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# Table 2 of Sandler et al. 2018: expansion t, output channels c, repeats n, first stride s.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                         (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        features, c = [_cna(3, 32, stride=2)], 32
        for t, cout, n, s in MOBILENET_V2_SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(c, cout, s if i == 0 else 1, t))
                c = cout
        features.append(_cna(c, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
        return self.classifier(x)


def mobilenet_v2():
    model = MobileNetV2()
    paths = ["features"] + [f"features.{i}" for i in range(19)] + ["classifier", "classifier.1"]
    paths += [f"features.{i}.{k}" for i in (0, 18) for k in range(3)]
    for i in range(1, 18):  # every part of every inverted residual: conv.0.0 ... conv.3
        paths += [f"features.{i}.conv.{k}" for k in range(len(model.features[i].conv))]
        paths += [f"features.{i}.conv.{k}.{m}" for k in range(len(model.features[i].conv) - 2) for m in range(3)]
    return model, torch.zeros(1, 3, 224, 224), paths


# -- transformers (Hugging Face layouts) -----------------------------------------------------

def _sdpa(q, k, v, heads, kv_heads, causal):
    """q [B, T, heads*hd], k/v [B, T, kv_heads*hd] -> [B, T, heads*hd]."""
    b, t, _ = q.shape
    q = q.view(b, t, heads, -1).transpose(1, 2)
    k = k.view(b, t, kv_heads, -1).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    v = v.view(b, t, kv_heads, -1).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    return F.scaled_dot_product_attention(q, k, v, is_causal=causal).transpose(1, 2).reshape(b, t, -1)


class GPT2Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(d, 3 * d)   # HF uses Conv1D (the weight transposed): same count
        self.c_proj = nn.Linear(d, d)

    def forward(self, x):
        q, k, v = self.c_attn(x).chunk(3, dim=-1)
        return self.c_proj(_sdpa(q, k, v, self.heads, self.heads, True))


class GPT2MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class GPT2Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = GPT2Attention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = GPT2MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """GPT2LMHeadModel (small) without the ``transformer.`` prefix: ``lm_head`` is ``wte``'s
    weight (tied), so it adds nothing to ``parameters()``."""

    def __init__(self, vocab=50257, positions=1024, d=768, layers=12, heads=12):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(positions, d)
        self.drop = nn.Dropout(0.1)
        self.h = nn.ModuleList(GPT2Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.drop(self.wte(ids) + self.wpe(positions))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def gpt2():
    paths = ["wte", "wpe", "h", "ln_f", "lm_head"]
    paths += [f"h.{i}" for i in range(12)] + ["h.0.ln_1", "h.0.attn", "h.0.ln_2", "h.0.mlp", "h.0.mlp.c_fc", "h.0.mlp.c_proj"]
    return GPT2(), torch.zeros(1, 1024, dtype=torch.long), paths


class BertEmbeddings(nn.Module):
    def __init__(self, vocab, positions, d, types=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(positions, d)
        self.token_type_embeddings = nn.Embedding(types, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)
        return self.LayerNorm(x + self.token_type_embeddings(torch.zeros_like(ids)))


class BertSelfAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)

    def forward(self, x):
        return _sdpa(self.query(x), self.key(x), self.value(x), self.heads, self.heads, False)


class BertDenseNorm(nn.Module):
    """BertSelfOutput / BertOutput: a dense layer, then LayerNorm of the residual sum."""

    def __init__(self, din, d):
        super().__init__()
        self.dense = nn.Linear(din, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.self = BertSelfAttention(d, heads)
        self.output = BertDenseNorm(d, d)

    def forward(self, x):
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.dense = nn.Linear(d, ff)

    def forward(self, x):
        return F.gelu(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.attention = BertAttention(d, heads)
        self.intermediate = BertIntermediate(d, ff)
        self.output = BertDenseNorm(ff, d)

    def forward(self, x):
        x = self.attention(x)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    def __init__(self, d, heads, ff, layers):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(d, heads, ff) for _ in range(layers))

    def forward(self, x):
        for layer in self.layer:
            x = layer(x)
        return x


class Pooler(nn.Module):
    """The first ([CLS]) position through a dense layer and tanh."""

    def __init__(self, d):
        super().__init__()
        self.dense = nn.Linear(d, d)

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    """bert-base-uncased's BertModel, pooler included; the spec's output is the pooled [CLS]."""

    def __init__(self, vocab=30522, positions=512, d=768, layers=12, heads=12, ff=3072):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, positions, d)
        self.encoder = BertEncoder(d, heads, ff, layers)
        self.pooler = Pooler(d)

    def forward(self, ids):
        return self.pooler(self.encoder(self.embeddings(ids)))


def bert_base():
    paths = ["embeddings", "encoder", "pooler", "pooler.dense"] + [f"encoder.layer.{i}" for i in range(12)]
    paths += ["embeddings.LayerNorm", "encoder.layer.0.attention", "encoder.layer.0.intermediate"]
    return BertModel(), torch.zeros(1, 512, dtype=torch.long), paths


class AlbertAttention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.dense = nn.Linear(d, d)
        self.LayerNorm = nn.LayerNorm(d, eps=1e-12)

    def forward(self, x):
        h = _sdpa(self.query(x), self.key(x), self.value(x), self.heads, self.heads, False)
        return self.LayerNorm(x + self.dense(h))


class AlbertLayer(nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.full_layer_layer_norm = nn.LayerNorm(d, eps=1e-12)
        self.attention = AlbertAttention(d, heads)
        self.ffn = nn.Linear(d, ff)
        self.ffn_output = nn.Linear(ff, d)

    def forward(self, x):
        x = self.attention(x)
        return self.full_layer_layer_norm(x + self.ffn_output(F.gelu(self.ffn(x))))


class AlbertEncoder(nn.Module):
    """One layer group holding one layer, run ``layers`` times: its weights exist once."""

    def __init__(self, e, d, heads, ff, layers):
        super().__init__()
        self.layers = layers
        self.embedding_hidden_mapping_in = nn.Linear(e, d)
        self.albert_layer_groups = nn.ModuleList([nn.Module()])
        self.albert_layer_groups[0].albert_layers = nn.ModuleList([AlbertLayer(d, heads, ff)])

    def forward(self, x):
        x = self.embedding_hidden_mapping_in(x)
        layer = self.albert_layer_groups[0].albert_layers[0]
        for _ in range(self.layers):
            x = layer(x)
        return x


class AlbertModel(nn.Module):
    """albert-base-v2's AlbertModel, pooler included: 128-wide factorised embeddings, one
    768-wide transformer layer shared by all twelve."""

    def __init__(self, vocab=30000, positions=512, e=128, d=768, layers=12, heads=12, ff=3072):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, positions, e)
        self.encoder = AlbertEncoder(e, d, heads, ff, layers)
        self.pooler = nn.Linear(d, d)

    def forward(self, ids):
        return torch.tanh(self.pooler(self.encoder(self.embeddings(ids))[:, 0]))


def albert_base():
    paths = ["embeddings", "encoder", "pooler", "encoder.embedding_hidden_mapping_in"]
    return AlbertModel(), torch.zeros(1, 512, dtype=torch.long), paths


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(d))

    def forward(self, x):
        return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)


class LlamaAttention(nn.Module):
    """No biases; rotary position embedding has no parameters (transformers keeps its
    frequencies in a non-persistent buffer; left out here, it changes no count)."""

    def __init__(self, d, heads, kv_heads):
        super().__init__()
        hd = d // heads
        self.heads, self.kv_heads = heads, kv_heads
        self.q_proj = nn.Linear(d, heads * hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * hd, bias=False)
        self.o_proj = nn.Linear(heads * hd, d, bias=False)

    def forward(self, x):
        return self.o_proj(_sdpa(self.q_proj(x), self.k_proj(x), self.v_proj(x), self.heads, self.kv_heads, True))


class LlamaMLP(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, d, heads, kv_heads, ff):
        super().__init__()
        self.self_attn = LlamaAttention(d, heads, kv_heads)
        self.mlp = LlamaMLP(d, ff)
        self.input_layernorm = RMSNorm(d)
        self.post_attention_layernorm = RMSNorm(d)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, vocab, d, layers, heads, kv_heads, ff):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(LlamaDecoderLayer(d, heads, kv_heads, ff) for _ in range(layers))
        self.norm = RMSNorm(d)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """Llama-2-7B: 32 layers of 4096, 32 heads (no grouped-query attention at 7B), gated MLP of
    11008, RMSNorm, vocabulary 32000, an untied output projection."""

    def __init__(self, vocab=32000, d=4096, layers=32, heads=32, kv_heads=32, ff=11008):
        super().__init__()
        self.model = LlamaModel(vocab, d, layers, heads, kv_heads, ff)
        self.lm_head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        return self.lm_head(self.model(ids))


def llama2_7b():
    paths = ["model", "model.embed_tokens", "model.layers", "model.norm", "lm_head", "model.layers.0",
             "model.layers.31", "model.layers.0.self_attn", "model.layers.0.mlp", "model.layers.0.input_layernorm"]
    return LlamaForCausalLM(), torch.zeros(1, 4096, dtype=torch.long), paths


BUILDERS = {
    "lenet5-1998": lenet5_1998,
    "textcnn": textcnn,
    "vgg16": vgg16,
    "vgg16-bn": vgg16_bn,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet-v2": mobilenet_v2,
    "gpt2": gpt2,
    "bert-base": bert_base,
    "albert-base": albert_base,
    "llama2-7b": llama2_7b,
}
NAMES = tuple(BUILDERS)


def build(name):
    """(model, example input, block paths), all on the meta device: nothing is allocated."""
    with torch.device(META):
        return BUILDERS[name]()


_CACHE = {}


def measure(name, forward=True):
    """Count ``name``'s model (and, with ``forward``, run a meta batch of one for its output shape)."""
    key = (name, forward)
    if key not in _CACHE:
        model, example, paths = build(name)
        trainable, non_trainable, blocks = count(model, paths)
        shape = ()
        if forward:
            with torch.no_grad():
                shape = tuple(model.eval()(example).shape[1:])
        _CACHE[key] = Measurement(trainable, non_trainable, shape, blocks)
    return _CACHE[key]


if __name__ == "__main__":
    for n in NAMES:
        m = measure(n)
        print(f"{n:14} {m.trainable:>15,} {m.non_trainable:>8,} {m.output_shape}")
