"""The generated corpus of the notebooks' quick mode follows its stated rule."""
from collections import Counter

import numpy as np
import pytest

from gluon_rnn.data import load_corpus
from gluon_rnn.generated import (LABELS, NEGATIVE, POSITIVE, PhraseVotes, cue_span,
                                negation_reviews, write_tsv)


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


def test_phrase_votes_label_every_sentence_by_the_majority_of_its_table_votes():
    task = PhraseVotes(table_seed=0)
    rows = task.sentences(500, seed=1)
    assert len({text for _, text in rows}) == 500
    for label, text in rows:
        votes = task.votes(text)
        assert len(votes) == 3 and set(votes) <= {-1, 1}
        assert label == LABELS[sum(votes) > 0]
    # both classes, both votes for many pairs: the table is not one sign
    assert 0.3 < np.mean([label == "positive" for label, _ in rows]) < 0.7
    assert 0.3 < (task.table > 0).mean() < 0.7
    # with the default seed every word and every modifier votes both ways (the docstring's claim)
    positive = PhraseVotes().table > 0
    assert positive.any(axis=0).all() and (~positive).any(axis=0).all()
    assert positive.any(axis=1).all() and (~positive).any(axis=1).all()
    # the same seeds give the same sentences and table; another table seed another table
    assert PhraseVotes(table_seed=0).sentences(500, seed=1) == rows
    assert (PhraseVotes(table_seed=1).table != task.table).any()


def test_phrase_votes_refuse_what_they_did_not_make():
    task = PhraseVotes(table_seed=0, phrases=1)
    assert task.votes("m7 w11") == [int(task.table[7, 11])]
    for text in ("m7", "m7 w11 m0 w0", "w11 m7", "m8 w0"):
        with pytest.raises(ValueError):
            task.votes(text)
    with pytest.raises(ValueError):
        PhraseVotes(phrases=2)
    with pytest.raises(ValueError):
        task.sentences(8 * 12 + 1)
