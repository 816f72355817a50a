"""Keras importer: models built in Keras 3 (torch backend), saved as `.keras` and `to_json()`, must
count as Keras counts them (`count_params()`, trainable and non-trainable weights)."""

import json
import zipfile

import pytest

from conftest import require
import paramcount
from paramcount.importers import keras as importer


@pytest.fixture(scope="module")
def keras():
    return require("keras")


def _size(w):
    n = 1
    for d in w.shape:
        n *= int(d)
    return n


def _keras_counts(model):
    trainable = sum(_size(w) for w in model.trainable_weights)
    non_trainable = sum(_size(w) for w in model.non_trainable_weights)
    assert trainable + non_trainable == model.count_params()
    return {"params": model.count_params(), "trainable": trainable, "non_trainable": non_trainable}


def _ours(source):
    report = paramcount.analyze(importer.load(source))
    t = report.totals
    return {"params": t.params, "trainable": t.trainable, "non_trainable": t.non_trainable}, report


def _check(model, tmp_path):
    expected = _keras_counts(model)
    keras_file = tmp_path / "m.keras"
    model.save(keras_file)
    json_file = tmp_path / "m.json"
    json_file.write_text(model.to_json(), encoding="utf-8")
    for source in (keras_file, str(json_file), model.to_json()):
        got, report = _ours(source)
        assert got == expected, (source, importer.to_spec_text(source))
    # --emit-spec round trip: the text is a spec paramcount reads as it is
    text = importer.to_spec_text(keras_file)
    again = paramcount.analyze(paramcount.load_text(text, "m.yaml"))
    assert again.totals.params == expected["params"]
    return report, text


def _cnn(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        L.Conv2D(16, 3, padding="same", activation="relu", name="c1"),
        L.BatchNormalization(name="bn1"),
        L.MaxPooling2D(name="pool1"),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw"),
        L.SeparableConv2D(24, 3, strides=2, padding="same", activation="relu6", name="sep"),
        L.Conv2D(8, (1, 3), groups=2, use_bias=False, name="grouped"),
        L.AveragePooling2D(pool_size=2, strides=1, padding="same"),
        L.GlobalAveragePooling2D(),
        L.Dropout(0.3),
        L.Dense(10, activation="softmax", name="head"),
    ], name="small_cnn")


def test_keras_small_cnn(keras, tmp_path):
    report, text = _check(_cnn(keras), tmp_path)
    assert report.input_shape == (3, 32, 32)  # channels first here, said so in a comment
    assert "channels_last" in text
    assert [leaf.path for leaf, _, _ in report.leaves()][:3] == ["c1", "bn1", "pool1"]


def test_keras_lstm_text_classifier(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((100,), dtype="int32"),
        L.Embedding(20000, 128, name="embed"),
        L.Bidirectional(L.LSTM(64, return_sequences=True), name="bilstm"),
        L.GRU(32, return_sequences=True, name="gru_after"),
        L.GRU(32, reset_after=False, return_sequences=True, name="gru_before"),
        L.SimpleRNN(16, name="rnn"),
        L.Dense(5, name="out"),
    ], name="lstm_classifier")
    report, text = _check(model, tmp_path)
    assert "convention: keras" in text
    assert report.input_shape == (100,)


def test_keras_plain_lstm_classifier_matches_readme(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential([keras.Input((100,), dtype="int32"), L.Embedding(20000, 128),
                              L.LSTM(256, return_sequences=True), L.LSTM(256), L.Dense(5)])
    _check(model, tmp_path)


def test_keras_functional_residual_and_concat_fork(keras, tmp_path):
    L = keras.layers
    x = keras.Input((16, 16, 8), name="image")
    h = L.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(x)
    r = L.Conv2D(8, 3, padding="same", name="conv_b")(h)
    r = L.BatchNormalization(name="bn_b")(r)
    h = L.Add(name="residual")([h, r])  # h + f(h): a residual with an identity shortcut
    b1 = L.Conv2D(4, 1, name="branch1")(h)
    b2 = L.Conv2D(6, 3, padding="same", name="branch2a")(h)
    b2 = L.Conv2D(6, 3, padding="same", name="branch2b")(b2)
    h = L.Concatenate(name="concat")([b1, b2, h])  # channels: 4 + 6 + 8
    p = L.Dense(18, name="proj")(h)  # Dense on a feature map: the last (channel) axis
    h = L.Multiply(name="gate")([L.Dense(18, activation="sigmoid", name="gate_dense")(p), p])
    h = L.GlobalMaxPooling2D(name="gmp")(h)
    out = L.Dense(3, name="logits")(h)
    model = keras.Model(x, out, name="forks")
    report, text = _check(model, tmp_path)
    assert "type: residual" in text and "type: parallel" in text and "merge: concat" in text
    assert report.totals.params == model.count_params()


def test_keras_nested_sequential_and_frozen(keras, tmp_path):
    L = keras.layers
    inner = keras.Sequential([keras.Input((32,)), L.Dense(16, activation="relu"), L.BatchNormalization(),
                              L.Dense(16)], name="inner")
    frozen = keras.Sequential([keras.Input((16,)), L.Dense(8), L.LayerNormalization()], name="frozen")
    frozen.trainable = False
    model = keras.Sequential([keras.Input((32,)), inner, frozen, L.Dense(2, name="out")], name="outer")
    report, text = _check(model, tmp_path)
    paths = [leaf.path for leaf, _, _ in report.leaves()]
    assert paths[0].startswith("inner.") and any(p.startswith("frozen.") for p in paths)
    x = keras.Input((32,))
    h = inner(x)
    h = L.Add()([h, L.Dense(16)(h)])
    fn = keras.Model(x, L.Dense(4)(h), name="fn_outer")
    _check(fn, tmp_path)


def test_keras_sequence_layers_attention_and_conv1d(keras, tmp_path):
    L = keras.layers
    x = keras.Input((20, 12))
    h = L.Conv1D(16, 3, padding="causal", name="causal")(x)
    h = L.MaxPooling1D(2, name="pool")(h)
    h = L.LayerNormalization(name="ln")(h)
    a = L.MultiHeadAttention(num_heads=4, key_dim=8, name="mha")(h, h)
    h = L.Add(name="res")([h, a])
    h = L.LayerNormalization(center=False, name="rms")(h)
    h = L.Dense(32, activation="gelu", name="ff")(h)
    h = L.Reshape((10, 32, 1), name="to_map")(h)
    h = L.Conv2D(2, 3, name="c2d")(h)
    h = L.Flatten(name="flat")(h)
    model = keras.Model(x, L.Dense(3, name="out")(h), name="seq_model")
    _check(model, tmp_path)


def test_keras_to_json_of_model_without_input_layer_is_clear(keras):
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(paramcount.SpecError, match="no input shape"):
        importer.to_spec_text(model.to_json())


def test_keras_unsupported_layer_names_itself_and_the_supported(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential([keras.Input((8,)), L.Dense(4), L.PReLU(name="prelu"), L.Dense(2)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(paramcount.SpecError) as e:
        importer.to_spec_text(tmp_path / "m.keras")
    message = str(e.value)
    assert "\n" not in message and "'prelu' is a PReLU" in message and "LSTM" in message


def test_keras_shared_layer_is_refused(keras, tmp_path):
    L = keras.layers
    x = keras.Input((8,))
    d = L.Dense(8, name="shared")
    model = keras.Model(x, d(d(x)))
    with pytest.raises(paramcount.SpecError, match="called 2 times"):
        importer.to_spec_text(model.to_json())


def test_keras_file_problems(tmp_path):
    bad = tmp_path / "x.keras"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("metadata.json", "{}")
    with pytest.raises(paramcount.SpecError, match="without config.json"):
        importer.to_spec_text(bad)
    other = tmp_path / "config.json"
    other.write_text(json.dumps({"model_type": "llama"}), encoding="utf-8")
    with pytest.raises(paramcount.SpecError, match="not a Keras model config"):
        importer.to_spec_text(other)
    assert not importer.looks_like_keras({"model_type": "llama"})
    assert importer.looks_like_keras({"class_name": "Sequential", "config": {"layers": []}})


def test_keras_malformed_configs_are_spec_errors(keras):
    """Every value of a real config replaced by something Keras never writes: a SpecError or a spec."""
    L = keras.layers
    x = keras.Input((8, 8, 3))
    h = L.Conv2D(4, 3, name="c")(x)
    h = L.Add(name="a")([h, L.Conv2D(4, 1, name="d")(h)])
    h = L.Flatten()(h)
    model = keras.Model(x, L.Dense(2)(h))
    base = json.loads(model.to_json())

    def paths(value, at=()):
        yield at
        if isinstance(value, dict):
            for k, v in value.items():
                yield from paths(v, at + (k,))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from paths(v, at + (i,))

    def replaced(at, new):
        doc = json.loads(json.dumps(base))
        if not at:
            return new
        target = doc
        for k in at[:-1]:
            target = target[k]
        target[at[-1]] = new
        return doc

    for at in list(paths(base))[1:]:
        for new in (None, -1, "x", [], {}, [None]):
            try:
                text = importer.to_spec_text(replaced(at, new))
            except paramcount.SpecError:
                continue
            try:
                paramcount.analyze(paramcount.load_text(text, "t.yaml"))
            except paramcount.SpecError:
                pass


@pytest.mark.parametrize("kernel,strides,padding,output_padding", [
    (3, 2, "same", None), (3, 2, "valid", None), (4, 2, "same", None), (1, 3, "valid", None),
    (3, 2, "same", 1), (3, 1, "same", None), (2, 3, "same", None)])
def test_keras_conv_transpose_shapes_and_counts(keras, tmp_path, kernel, strides, padding, output_padding):
    L = keras.layers
    model = keras.Sequential([
        keras.Input((5, 7, 3)), L.Rescaling(1 / 255),
        L.Conv2DTranspose(4, kernel, strides=strides, padding=padding, output_padding=output_padding,
                          activation="relu", name="up"),
        L.Conv2D(2, 1, name="after")])  # needs the transposed convolution's exact output shape
    report, _ = _check(model, tmp_path)
    up = next(leaf for leaf, _, _ in report.leaves() if leaf.path == "up")
    keras_shape = tuple(model.get_layer("up").output.shape[1:])
    assert up.output_shape == (keras_shape[-1],) + keras_shape[:-1]


def test_keras_open_sequence_length(keras, tmp_path):
    L = keras.layers
    model = keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(300, 8), L.LSTM(6), L.Dense(2)])
    with pytest.raises(paramcount.SpecError, match="unknown size"):
        importer.to_spec_text(model.to_json())
    text = importer.to_spec_text(model.to_json(), fill=50)
    assert "are 50 here" in text
    report = paramcount.analyze(importer.load(model.to_json(), fill=50))
    assert report.totals.params == model.count_params() and report.input_shape == (50,)
