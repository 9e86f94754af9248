"""`generated.distant_negation_reviews`: the task on which only word order decides the label."""
from collections import Counter

import pytest

from gluon_rnn.generated import LABELS, NEGATIVE, NEUTRAL, POSITIVE, distant_negation_reviews


def parts(text):
    """(position of "not", position of the sentiment word, that word) of one sentence."""
    words = text.split()
    cues = [i for i, w in enumerate(words) if w in POSITIVE or w in NEGATIVE]
    assert words.count("not") == 1 and len(cues) == 1, text
    assert all(w in NEUTRAL for i, w in enumerate(words) if w != "not" and i != cues[0]), text
    return words.index("not"), cues[0], words[cues[0]]


@pytest.mark.parametrize("distance", [0, 1, 4])
def test_not_before_the_word_negates_it_after_it_nothing(distance):
    rows = distant_negation_reviews(400, distance, seed=3)
    assert len({text for _, text in rows}) == 400
    negated = Counter()
    for label, text in rows:
        assert label in LABELS
        at_not, at_word, word = parts(text)
        assert abs(at_word - at_not) == distance + 1, text
        # 2 to 5 neutral words on either side of the pair
        words = text.split()
        assert 2 <= min(at_not, at_word) <= 5 and 2 <= len(words) - 1 - max(at_not, at_word) <= 5
        positive_word = word in POSITIVE
        if at_not < at_word:
            negated[label] += 1
            assert label == LABELS[not positive_word], text
        else:
            assert label == LABELS[positive_word], text
    assert Counter(label for label, _ in rows) == {"negative": 200, "positive": 200}
    assert negated == {"negative": 100, "positive": 100}


def test_words_alone_say_nothing_about_the_label():
    """Each sentiment word is as often in a sentence of one class as of the other."""
    rows = distant_negation_reviews(4000, 2, seed=0)
    by_class = {label: Counter(parts(text)[2] for lab, text in rows if lab == label)
                for label in LABELS}
    for word in POSITIVE + NEGATIVE:
        a, b = by_class["negative"][word], by_class["positive"][word]
        assert abs(a - b) <= 4 * (a + b) ** 0.5, (word, a, b)
    assert distant_negation_reviews(50, 2, seed=1) == distant_negation_reviews(50, 2, seed=1)
