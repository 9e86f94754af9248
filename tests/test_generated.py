"""The generated corpus of the notebooks' quick mode follows its stated rule."""
from collections import Counter

from gluon_rnn.data import load_corpus
import pytest

from gluon_rnn.generated import (LABELS, NEGATIVE, POSITIVE, cue_span, negation_reviews,
                                write_tsv)


def test_negation_reviews_follow_their_rule():
    rows = negation_reviews(600, seed=3, negated=1 / 3, flipped=0.05)
    texts = [text for _, text, _ in rows]
    assert len(rows) == 600 and len(set(texts)) == 600
    assert sum(flipped for _, _, flipped in rows) == 30
    negated = Counter()
    for label, text, flipped in rows:
        words = text.split()
        cues = [w for w in words if w in POSITIVE or w in NEGATIVE]
        assert len(cues) == 1, text
        says = LABELS[(cues[0] in POSITIVE) != ("not" in words)]     # the rule
        assert (says != label) == flipped, (label, text, flipped)
        if "not" in words:
            assert words[words.index("not") + 1] == cues[0]
            negated[says] += 1
    assert negated == {"negative": 100, "positive": 100}   # "not" alone says nothing


def test_written_file_reads_back_with_named_classes(tmp_path):
    path = write_tsv(tmp_path / "g.tsv", negation_reviews(50))
    corpus = load_corpus(data=str(path))
    assert corpus.label_names == list(LABELS)
    assert len(corpus.train) + len(corpus.valid) + len(corpus.test) == 50


def test_cue_span_finds_the_word_that_sets_the_label():
    for _, text, _ in negation_reviews(200, seed=1, flipped=0.0):
        words = text.split()
        span = cue_span(words)
        assert words[span[-1]] in POSITIVE + NEGATIVE
        assert (len(span) == 2) == ("not" in words), text
        if len(span) == 2:
            assert words[span[0]] == "not" and span[1] == span[0] + 1
    assert cue_span("not good".split()) == (0, 1)
    assert cue_span("good film".split()) == (0,)
    with pytest.raises(ValueError, match="found 2"):
        cue_span("good and bad".split())
    with pytest.raises(ValueError, match="found 0"):
        cue_span("the film".split())
