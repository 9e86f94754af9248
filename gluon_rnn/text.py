"""From raw text to token ids, the same in training and wherever a model is served.

    >>> tokenize("Don't miss it!<br />10/10")
    ["don't", 'miss', 'it', '!', '10', '/', '10']
    >>> vocab = load_vocab("runs/mean-20261123-101500/vocab.json")
    >>> encode_texts(["a moving, funny film"], vocab, config)     # config.json's max_len, truncate
    [[4, 1093, 3, 161, 19]]

This module imports neither mxnet nor gluonnlp, so a model exported to ONNX can be served
where they do not install: `gluon_rnn.data` builds and saves the vocabulary with gluonnlp,
and reads it back through `load_vocab` here; `decode_bytes` reads every user file and
`predict`'s standard input.
"""
import codecs
import json
import re
from pathlib import Path

from .errors import UserError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

TOKENIZER = "lowercase-regex-v1"  # `tokenize` below; bump if it ever changes
TRUNCATE = ("head", "tail", "both")

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A word (letters or digits, with inner apostrophes: "don't") or one punctuation mark ("!").
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[^\w\s]")


def clean_text(text):
    """IMDB reviews mark paragraphs with `<br />`: make them spaces."""
    return _BREAK.sub(" ", text)


def tokenize(text):
    """Lower-cased words, numbers and punctuation marks, each a token.

    >>> tokenize("Don't miss it!<br />10/10")
    ["don't", 'miss', 'it', '!', '10', '/', '10']
    """
    return _TOKEN.findall(clean_text(text).lower().replace("\u2019", "'"))


def truncate(tokens, max_len, keep="head"):
    """At most `max_len` of `tokens` (None: all): the first ones ("head"), the last ones
    ("tail"), or the first quarter and the last three quarters ("both"). Reviews tend to
    give their verdict at the end, which "head" cuts off; Sun et al. (2019, "How to
    Fine-Tune BERT for Text Classification") found head+tail best on IMDB."""
    if keep not in TRUNCATE:
        raise UserError(f"truncate must be one of {', '.join(TRUNCATE)}, got {keep!r}")
    if max_len is None or len(tokens) <= max_len:
        return list(tokens)
    head = {"head": max_len, "both": max_len // 4, "tail": 0}[keep]   # tokens kept from the start
    return list(tokens[:head]) + list(tokens[len(tokens) - (max_len - head):])


def encode(token_lists, vocab, max_len, keep="head"):
    """Token ids of each list, cut to `max_len` tokens by `truncate` (None: all). An empty
    text gives an empty list: the loader batches it with valid_length 0."""
    return [vocab[truncate(tokens, max_len, keep)] for tokens in token_lists]


def encode_texts(texts, vocab, config):
    """Token ids of raw texts exactly as the model saw them in training: the same
    tokenizer, max_len and truncation ("head" for directories written before it was saved)."""
    return encode([tokenize(t) for t in texts], vocab, config["max_len"],
                  config.get("truncate", "head"))


# ---------------------------------------------------------------- vocabulary

class Vocab:
    """Token <-> id lookup read from vocab.json: `vocab["film"]` or `vocab[["a", "film"]]`;
    a token it does not hold maps to `UNK_ID`, as in gluonnlp's `Vocab`."""

    def __init__(self, fields):
        self.fields = fields                      # the JSON object, as gluonnlp wrote it
        self.idx_to_token = fields["idx_to_token"]
        self.token_to_idx = fields["token_to_idx"]
        self.unknown_token = fields["unknown_token"]

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if isinstance(tokens, (list, tuple)):
            return [self.token_to_idx.get(t, UNK_ID) for t in tokens]
        return self.token_to_idx.get(tokens, UNK_ID)

    def to_json(self):
        return json.dumps(self.fields)


def load_vocab(path):
    """The vocabulary in `path` (gluonnlp's JSON, as `gluon_rnn.data.save_vocab` writes it),
    checked for padding id 0, unknown id 1 and ids that match their tokens."""
    try:
        fields = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not a vocabulary file ({err})") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("idx_to_token"), list) \
            or not isinstance(fields.get("token_to_idx"), dict):
        raise UserError(f"{path}: not a vocabulary file (expected idx_to_token and token_to_idx)")
    tokens, ids = fields["idx_to_token"], fields["token_to_idx"]
    if len(tokens) != len(ids) or any(ids.get(t) != i for i, t in enumerate(tokens)):
        raise UserError(f"{path}: not a vocabulary file (idx_to_token and token_to_idx differ)")
    if fields.get("unknown_token") != UNK or ids.get(PAD) != PAD_ID or ids.get(UNK) != UNK_ID:
        raise UserError(f"{path}: expected {PAD} at id {PAD_ID} and {UNK} at id {UNK_ID}")
    return Vocab(fields)


# ---------------------------------------------------------------- bytes to text

def check_encoding(name):
    """`name` if Python knows the encoding (`cp1252`, `latin-1`, `utf-16`...), else UserError."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise UserError(f"--encoding {name!r}: unknown encoding (try utf-8, cp1252 or "
                        f"latin-1)") from None
    return name


def decode_bytes(raw, path, encoding=None):
    """`raw` decoded as `encoding`, or as UTF-8 when it is None; a UTF-8 byte order mark is
    dropped either way. Undecodable bytes are refused with the line and the byte, never
    replaced: a silently garbled text still trains, badly."""
    name = check_encoding(encoding) if encoding else "utf-8"
    codec = "utf-8-sig" if codecs.lookup(name).name == "utf-8" else name
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        hint = ("save the file as UTF-8, or name its encoding with --encoding (e.g. "
                "--encoding cp1252 for a Windows export)") if not encoding else \
            "is --encoding right?"
        raise UserError(f"{path}:{line}: not {encoding or 'UTF-8'} text (byte "
                        f"0x{raw[err.start]:02x}); "
                        f"{hint}") from None
