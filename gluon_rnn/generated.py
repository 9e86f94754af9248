"""Small labelled corpora made by a known rule: the notebooks' quick mode trains on them in
seconds, offline, and because the rule is known, what a model should find in them is known.

    >>> rows = negation_reviews(600)               # [(label, text, flipped), ...]
    >>> write_tsv("generated.tsv", rows)           # the post's LABEL<TAB>TEXT, for --data
    >>> Config(arch="mean", data="generated.tsv")  # labels read as 'negative', 'positive'
    >>> cue_span("the film not good".split())      # (2, 3): where the label is decided
"""
import numpy as np

POSITIVE = "good great wonderful moving brilliant charming".split()
NEGATIVE = "bad awful boring dull terrible clumsy".split()
NEUTRAL = "the film story plot acting was and a of it this very cast ending music".split()
LABELS = ("negative", "positive")   # sorted, as the loader sorts class names: 1 is positive


def negation_reviews(n, seed=0, negated=1 / 3, flipped=0.05, length=(3, 13)):
    """`n` distinct sentences of `length` neutral words around one sentiment word, which sets
    the label; in a share `negated` of each class that word is negated ("not good" is
    negative, "not bad" positive), so "not" alone says nothing about the label and only
    the word after it decides. Then round(flipped * n) labels, chosen at random, are flipped,
    as careless annotation would.

    Returns [(label, text, was_flipped)] in random order, label one of `LABELS`."""
    rng = np.random.RandomState(seed)
    rows = {}
    for label, count in ((0, n // 2), (1, n - n // 2)):
        num_negated = round(negated * count)
        for i in range(count):
            negate = i < num_negated
            while True:   # draw again until the sentence is new
                words = list(rng.choice(NEUTRAL, size=rng.randint(*length)))
                # a negated cue is "not" + a word of the other polarity
                lexicon = POSITIVE if bool(label) != negate else NEGATIVE
                cue = ("not " if negate else "") + rng.choice(lexicon)
                words.insert(rng.randint(len(words) + 1), cue)
                text = " ".join(words)
                if text not in rows:
                    break
            rows[text] = label
    texts = list(rows)
    order = rng.permutation(len(texts))
    flips = set(rng.choice(len(texts), size=round(flipped * len(texts)), replace=False).tolist())
    return [(LABELS[rows[texts[i]] ^ (k in flips)], texts[i], k in flips)
            for k, i in enumerate(order)]


def cue_span(tokens):
    """The positions of a generated sentence's tokens that decide its label: the sentiment
    word, preceded by its "not" when negated, so (t,) or (t - 1, t). An explanation of a
    model that learned the rule should point there. `tokens`: the sentence's words, as
    `data.tokenize` or a vocabulary's `to_tokens` gives them. ValueError unless there is
    exactly one sentiment word (a text this module did not make)."""
    found = [t for t, word in enumerate(tokens) if word in POSITIVE or word in NEGATIVE]
    if len(found) != 1:
        raise ValueError(f"expected one sentiment word, found {len(found)} in {' '.join(tokens)!r}")
    t = found[0]
    return (t - 1, t) if t and tokens[t - 1] == "not" else (t,)


def write_tsv(path, rows):
    """Write (label, text, ...) rows as LABEL<TAB>TEXT lines, the post's format, to `path`
    (first, as in `atomic_write_text(path, text)`); returns `path`."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{row[0]}\t{row[1]}\n" for row in rows)
    return path


def distant_negation_reviews(n, distance, seed=0, context=(2, 6)):
    """`n` distinct sentences whose label only the order of their words decides. Each holds
    one sentiment word and one "not", `distance` neutral words apart, with 2 to 5 (`context`)
    neutral words on either side. When "not" comes first it negates the word ("not the
    film good" is negative); when it comes after, it negates nothing ("good the film not"
    stays positive). Half of each class is negated.

    So every word, and every n-gram of up to 3 words that does not hold both "not" and the
    sentiment word, is as likely in one class as in the other: a linear model on n-grams of
    fewer than `distance` + 2 words can only guess, and a model that reads the words in
    order need not.

    Returns [(label, text)] in random order, label one of `LABELS`."""
    rng = np.random.RandomState(seed)
    rows = {}
    for label, count in ((0, n // 2), (1, n - n // 2)):
        for i in range(count):
            negate = i < count // 2
            while True:   # draw again until the sentence is new
                lexicon = POSITIVE if bool(label) != negate else NEGATIVE
                word, gap = rng.choice(lexicon), list(rng.choice(NEUTRAL, size=distance))
                core = ["not", *gap, word] if negate else [word, *gap, "not"]
                left, right = (list(rng.choice(NEUTRAL, size=rng.randint(*context)))
                               for _ in range(2))
                text = " ".join(left + core + right)
                if text not in rows:
                    break
            rows[text] = label
    texts = list(rows)
    return [(LABELS[rows[texts[i]]], texts[i]) for i in rng.permutation(len(texts))]


class PhraseVotes:
    """Sentences in a made-up language in which no word decides a vote alone: a phrase is a
    modifier and a word ("m3 w7"), and a fixed random table says which way each of the
    8 x 12 pairs votes (with the default seed every word and every modifier votes both ways,
    depending on the other half of its pair). A sentence is `phrases` phrases; its label is
    what most of them vote for. To label a sentence a model must look each pair up and add
    up the votes, so the rule has two stages, one per phrase and one over the phrases.

        >>> task = PhraseVotes(table_seed=0)
        >>> task.votes("m3 w7 m0 w2 m5 w11")       # [+1 or -1 for each phrase]
        >>> rows = task.sentences(2000)             # [(label, text), ...]
    """
    MODIFIERS = tuple(f"m{i}" for i in range(8))
    WORDS = tuple(f"w{i}" for i in range(12))

    def __init__(self, table_seed=0, phrases=3):
        if phrases < 1 or phrases % 2 == 0:
            raise ValueError(f"phrases must be odd, so that the votes never tie; got {phrases}")
        self.phrases = phrases
        rng = np.random.RandomState(table_seed)
        # +1: the pair votes positive; drawn once, so that no rule simpler than the table holds
        self.table = rng.choice((-1, 1), size=(len(self.MODIFIERS), len(self.WORDS)))

    def votes(self, text):
        """The vote of each phrase of `text`, in order: [+1 or -1] * phrases. ValueError for a
        text this task did not make."""
        words = text.split()
        if len(words) != 2 * self.phrases:
            raise ValueError(f"expected {self.phrases} phrases of two words, got {text!r}")
        try:
            return [int(self.table[self.MODIFIERS.index(m), self.WORDS.index(w)])
                    for m, w in zip(words[::2], words[1::2])]
        except ValueError:
            raise ValueError(f"not a phrase of this task in {text!r}") from None

    def sentences(self, n, seed=0):
        """`n` distinct sentences, phrases drawn uniformly; [(label, text)] in the order drawn,
        label one of `LABELS`. ValueError when `n` is more than the distinct sentences there are."""
        pairs = len(self.MODIFIERS) * len(self.WORDS)
        if n > pairs ** self.phrases:
            raise ValueError(f"only {pairs ** self.phrases} distinct sentences exist; asked for {n}")
        rng = np.random.RandomState(seed)
        rows = {}
        while len(rows) < n:
            m = rng.randint(len(self.MODIFIERS), size=self.phrases)
            w = rng.randint(len(self.WORDS), size=self.phrases)
            text = " ".join(f"{self.MODIFIERS[i]} {self.WORDS[j]}" for i, j in zip(m, w))
            rows.setdefault(text, LABELS[int(self.table[m, w].sum() > 0)])
        return [(label, text) for text, label in rows.items()]
