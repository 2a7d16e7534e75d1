"""A tiny random-weight multilingual Whisper model, built offline in about a second.

Tests and benchmarks need the real faster-whisper code path without a network
and without a 500 MB download. CTranslate2 only checks that the weights have the
right shapes and that the vocabulary follows Whisper's layout, so we fill a
``WhisperSpec`` with small seeded random arrays and write a ``tokenizer.json``
that maps the same ids to the same tokens.

The layout matters: CTranslate2 calls a model multilingual (and so honours
``language="vi"``) only when the vocabulary has 51865 entries with the special
tokens exactly where OpenAI put them. Ordinary tokens are byte-level BPE pieces
(all 256 single bytes, so any text can be encoded as hotwords or prompts) plus
made-up Vietnamese-looking syllables with a leading space, so that the
gibberish the model produces splits into words like real Whisper output does.

The output text is meaningless; use this model to test structure, never words.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["LANGUAGES", "VOCAB_SIZE", "build_tiny_model", "whisper_vocabulary"]

# Whisper's own order of the 99 language tokens (ids 50259..50357).
_LANGUAGE_TEXT = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu "
    "ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn "
    "bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn "
    "mt sa lb my bo tl mg as tt haw ln ha ba jw su"
)
LANGUAGES: tuple[str, ...] = tuple(_LANGUAGE_TEXT.split())
VOCAB_SIZE = 51865
_EOT = 50257
_N_TIMESTAMPS = 1501
_TIMESTAMP_BEGIN = VOCAB_SIZE - _N_TIMESTAMPS
_SPECIALS_AFTER_LANGS = (
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
)

# Small enough to build and run in well under a second per 30 s window on 2 cores.
_D_MODEL = 64
_HEADS = 2
_LAYERS = 2
_N_MELS = 80
_AUDIO_CTX = 1500
_TEXT_CTX = 448


def _bytes_to_unicode() -> dict[int, str]:
    """The GPT-2 byte-level alphabet: every byte gets a printable stand-in character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


_ONSETS = "b c ch d đ g gi h k kh l m n ng nh p ph qu r s t th tr v x"
_RHYMES = "a à á ả ã ạ ăn ân ê ế i ì o ô ơ ờ u ư ưa iê yêu oa uô ươ an anh"


def _made_up_syllables() -> list[str]:
    onsets = _ONSETS.split()
    rhymes = _RHYMES.split()
    codas = ["", "n", "m", "t", "c", "ng", "nh", "p"]
    return [o + r + c for o, r, c in itertools.product(onsets, rhymes, codas)]


def whisper_vocabulary() -> list[str]:
    """The 51865 tokens, in id order, as byte-level strings (what CTranslate2 stores)."""
    byte_map = _bytes_to_unicode()
    tokens = [byte_map[b] for b in range(256)]
    seen = set(tokens)
    space = byte_map[ord(" ")]
    for syllable in _made_up_syllables():
        piece = space + "".join(byte_map[b] for b in syllable.encode("utf-8"))
        if piece not in seen and len(tokens) < _EOT - 1:
            seen.add(piece)
            tokens.append(piece)
    filler = 0
    while len(tokens) < _EOT - 1:
        tokens.append(f"{space}w{filler}")
        filler += 1
    tokens.append("")  # id 50256, empty as in Whisper's multilingual vocabulary
    tokens += ["<|endoftext|>", "<|startoftranscript|>"]
    tokens += [f"<|{code}|>" for code in LANGUAGES]
    tokens += list(_SPECIALS_AFTER_LANGS)
    tokens += [f"<|{i * 0.02:.2f}|>" for i in range(_N_TIMESTAMPS)]
    assert len(tokens) == VOCAB_SIZE
    return tokens


def _tokenizer_json(tokens: list[str]) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(tokens)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    # Marked special so that encoding text never splits them; they keep their ids.
    tokenizer.add_special_tokens(tokens[_EOT:])
    for i in (_EOT, _EOT + 1, _EOT + 2 + LANGUAGES.index("vi"), VOCAB_SIZE - 1):
        assert tokenizer.token_to_id(tokens[i]) == i, tokens[i]
    return str(tokenizer.to_str())


def _fill(
    layer: object, rng: np.random.Generator, shapes: dict[str, tuple[int, ...]], std: float = 0.2
) -> None:
    for name, shape in shapes.items():
        setattr(layer, name, (rng.standard_normal(shape) * std).astype(np.float32))


def _norm(spec: object) -> None:
    spec.gamma = np.ones(_D_MODEL, dtype=np.float32)  # type: ignore[attr-defined]
    spec.beta = np.zeros(_D_MODEL, dtype=np.float32)  # type: ignore[attr-defined]


# Layers add little to the residual stream, so each next token depends mostly on
# the previous one and its position: no endless "bôp bôp bôp" loops.
_OUT_STD = 0.05


def _linear(
    spec: object, rng: np.random.Generator, out_dim: int, in_dim: int, std: float = 0.2
) -> None:
    _fill(spec, rng, {"weight": (out_dim, in_dim), "bias": (out_dim,)}, std)


def _ffn(spec: object, rng: np.random.Generator) -> None:
    _norm(spec.layer_norm)  # type: ignore[attr-defined]
    _linear(spec.linear_0, rng, 4 * _D_MODEL, _D_MODEL)  # type: ignore[attr-defined]
    _linear(spec.linear_1, rng, _D_MODEL, 4 * _D_MODEL, _OUT_STD)  # type: ignore[attr-defined]


def _attention(spec: object, rng: np.random.Generator, *, cross: bool) -> None:
    d = _D_MODEL
    _norm(spec.layer_norm)  # type: ignore[attr-defined]
    linears = spec.linear  # type: ignore[attr-defined]
    if cross:  # query; fused key+value over the encoder output; output
        for lin, out_dim in zip(linears[:2], (d, 2 * d), strict=True):
            _linear(lin, rng, out_dim, d)
    else:  # fused query+key+value; output
        _linear(linears[0], rng, 3 * d, d)
    _linear(linears[-1], rng, d, d, _OUT_STD)


_FAVOURED = 400  # syllables the model may say; every 12th made-up one, for variety


def _projection(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Output layer that keeps a random model confident and short-spoken.

    With Whisper's usual tied, small random weights the model is unsure about
    everything, so faster-whisper retries each window at five temperatures and
    decodes 448 tokens each time: a minute per 30 s on 2 cores. Here only a few
    hundred syllables, the timestamps and end-of-text can win, with wide enough
    logits that greedy and beam search agree at temperature 0.
    """
    weight = np.zeros((VOCAB_SIZE, _D_MODEL), dtype=np.float32)
    bias = np.full(VOCAB_SIZE, -30.0, dtype=np.float32)
    live = [*range(256, 256 + 12 * _FAVOURED, 12), _EOT, *range(_TIMESTAMP_BEGIN, VOCAB_SIZE)]
    weight[live] = rng.standard_normal((len(live), _D_MODEL))
    bias[live] = 0.0
    return weight, bias


def _build_spec(seed: int) -> object:
    from ctranslate2.specs import WhisperSpec

    rng = np.random.default_rng(seed)
    d = _D_MODEL
    spec = WhisperSpec(_LAYERS, _HEADS, _LAYERS, _HEADS)
    enc = spec.encoder
    _fill(enc.conv1, rng, {"weight": (d, _N_MELS, 3), "bias": (d,)})
    _fill(enc.conv2, rng, {"weight": (d, d, 3), "bias": (d,)})
    _fill(enc.position_encodings, rng, {"encodings": (_AUDIO_CTX, d)})
    _norm(enc.layer_norm)
    for layer in enc.layer:
        _attention(layer.self_attention, rng, cross=False)
        _ffn(layer.ffn, rng)
    dec = spec.decoder
    _fill(dec.embeddings, rng, {"weight": (VOCAB_SIZE, d)}, 1.0)
    _fill(dec.position_encodings, rng, {"encodings": (_TEXT_CTX, d)}, 2.0)
    _norm(dec.layer_norm)
    dec.projection.weight, dec.projection.bias = _projection(rng)
    for layer in dec.layer:
        _attention(layer.self_attention, rng, cross=False)
        _attention(layer.attention, rng, cross=True)
        _ffn(layer.ffn, rng)
    return spec


def build_tiny_model(path: Path, *, seed: int = 0) -> Path:
    """Write a tiny multilingual Whisper model in CTranslate2 format to ``path``.

    The folder gets ``model.bin``, ``config.json``, ``vocabulary.json`` and
    ``tokenizer.json`` (without the last one faster-whisper would go online).
    The same ``seed`` always gives the same weights, so tests are repeatable.
    Returns ``path``.
    """
    path = Path(path)
    tokens = whisper_vocabulary()
    spec = _build_spec(seed)
    spec.register_vocabulary(tokens)  # type: ignore[attr-defined]
    config = spec.config  # type: ignore[attr-defined]
    config.suppress_ids = []
    config.suppress_ids_begin = [ord(" "), _EOT]  # byte-level space is id 32 here
    config.lang_ids = list(range(_EOT + 2, _EOT + 2 + len(LANGUAGES)))
    config.alignment_heads = [
        (layer, h) for layer in range(_LAYERS // 2, _LAYERS) for h in range(_HEADS)
    ]
    spec.validate()  # type: ignore[attr-defined]
    spec.optimize()  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and swap in, so a half-written model never exists.
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".tiny-whisper-") as tmp:
        staging = Path(tmp)
        spec.save(str(staging))  # type: ignore[attr-defined]
        (staging / "tokenizer.json").write_text(_tokenizer_json(tokens), encoding="utf-8")
        (staging / "preprocessor_config.json").write_text(
            json.dumps({"feature_size": _N_MELS, "sampling_rate": 16000}), encoding="utf-8"
        )
        path.mkdir(parents=True, exist_ok=True)
        for item in staging.iterdir():
            os.replace(item, path / item.name)
    return path
