"""The result rows of the README, one command each: what `benchmarks/results.py` runs.

A row is data only:

    name    unique, used for the run directory (runs/results/NAME-seedS) and the record
            (benchmarks/results/NAME.json)
    table   which README table it belongs to (`TABLES`)
    what    the row's description in that table
    args    the arguments of `python -m gluon_rnn.train` (or of `script`), without --seed and
            --out, which results.py adds
    script  (optional) a script run with the project's Python instead of the trainer; it takes
            --seed and --out too and writes OUT/metrics.json
    seeds   the seeds the row is measured with; the table shows their mean and spread
    readme  (optional) True for the rows of the README's one short table; every row is in the
            full tables of docs/results.md

Every hyper-parameter a row depends on is spelled out, so a row keeps its meaning when the
defaults move; the `make run` row is the exception, on purpose: it is whatever `make run`
trains today.
"""

UMICH = "../shared/data/umich-sentiment-train.txt"

# the defaults before `make run` was made fast: vocabulary 20,000, Adam 1e-3 at a constant
# rate, up to 5 epochs (max-len 400, dropout 0.3 and patience 2 are still the defaults)
EARLIER = ["--vocab-size", "20000", "--lr", "1e-3", "--lr-decay", "1", "--epochs", "5"]


def whole(embed_dropout="0.3", lr_decay="1", *more):
    """The regularised whole-review recipe of the mean LSTM, which later rows vary."""
    return ["--arch", "mean", "--max-len", "800", "--dropout", "0.5", "--lr", "5e-4",
            "--vocab-size", "30000", "--embed-dropout", embed_dropout, "--lr-decay", lr_decay,
            "--epochs", "5", *more]

def frontier(epochs):
    """The frontier's recipe: `bilstm-meanmax` 256 x 256 on whole reviews, regularised."""
    return ["--arch", "bilstm-meanmax", "--embed-size", "256", "--hidden-size", "256",
            "--max-len", "800", "--vocab-size", "30000", "--dropout", "0.5",
            "--embed-dropout", "0.3", "--word-dropout", "0.2", "--lr", "2e-3",
            "--lr-decay", "0.5", "--epochs", str(epochs), "--patience", "2"]

# today's `make run` settings, spelled out, for other architectures
FAST = ["--max-len", "400", "--vocab-size", "30000", "--lr", "2e-3", "--lr-decay", "0.5",
        "--epochs", "2"]

# `--arch mean` with the earlier defaults
MEAN_400 = ["--arch", "mean", "--max-len", "400"] + EARLIER

TABLES = {
    "imdb": "IMDB (standard test set: 25,000 reviews)",
    "imdb-variations": "IMDB, variations of the rows above (one seed each)",
    "imdb-architectures": "IMDB, architectures side by side at the `make run` settings (one seed)",
    "umich": "umich sentences (the post's data)",
}

ROWS = [
    dict(name="ngram-baseline", readme=True, table="imdb",
         what="the baseline: NB-weighted binary uni+bigrams, logistic regression (NBSVM-style)",
         script="benchmarks/ngram_baseline.py", args=[], seeds=[0]),
    dict(name="ngram-trigrams", readme=True, table="imdb",
         what="the same with trigrams: NB-weighted binary uni+bi+trigrams",
         script="benchmarks/ngram_baseline.py", args=["--ngrams", "3"], seeds=[0, 1, 2]),
    dict(name="make-run", readme=True, table="imdb", what="`make run` (the defaults)",
         args=["--arch", "mean"], seeds=[0, 1, 2]),
    # the recurrent model next to the n-gram model: the make-run row's run directories (run
    # that row first), each seed's trigram model fitted on that seed's split. Its training
    # time is the run's and the n-gram model's; its wall time, the averaging command's alone.
    dict(name="ensemble-make-run", readme=True, table="imdb",
         what="`make run`'s model and the trigram model, their log-odds averaged with a "
              "weight chosen on valid",
         script="benchmarks/ensemble.py",
         args=["--model", "runs/results/make-run-seed{seed}", "--ngrams", "3"], seeds=[0, 1, 2]),
    # the make-run row's model exported to ONNX: MXNet's, float32's and int8's accuracy on the
    # same reviews under `models` in the record (runs under runs/results/, as results.py writes them)
    dict(name="make-run-onnx-int8", readme=True, table="imdb",
         what="`make run`'s model in onnxruntime, int8 weights (dynamic quantization)",
         script="benchmarks/onnx_int8.py", args=["--model", "runs/results/make-run-seed{seed}"],
         seeds=[0]),
    dict(name="mean-1-epoch", table="imdb", what="`mean`, one epoch of the first 200 tokens",
         args=["--arch", "mean", "--max-len", "200", "--vocab-size", "20000", "--lr", "1e-3",
               "--epochs", "1"], seeds=[0]),
    dict(name="mean-400", table="imdb", what="`mean`, the first 400 tokens (the earlier defaults)",
         args=MEAN_400, seeds=[0]),
    dict(name="mean-whole", table="imdb", what="`mean`, whole reviews, regularised",
         args=whole(), seeds=[0, 1, 2]),
    dict(name="mean-whole-decay", table="imdb", what="the same with a decaying rate",
         args=whole("0.3", "0.5"), seeds=[0, 1, 2]),
    dict(name="mean-whole-decay-embed5", table="imdb",
         what="the same with more dropout on the word vectors",
         args=whole("0.5", "0.5"), seeds=[0, 1, 2]),
    dict(name="mean-whole-decay-words2", table="imdb",
         what="the decaying-rate row dropping one word in five",
         args=whole("0.3", "0.5", "--word-dropout", "0.2"), seeds=[0, 1, 2]),
    dict(name="mean-whole-decay-words3", table="imdb",
         what="the decaying-rate row dropping one word in three",
         args=whole("0.3", "0.5", "--word-dropout", "0.3"), seeds=[0, 1, 2]),
    # the frontier: a bidirectional LSTM pooled by [mean, max], large and regularised; about 11
    # minutes an epoch on 2 cores. Two seeds side by side (--jobs 2) train 1.15x-1.16x the tokens/s
    # of one run on both cores (bench.py --only side). 256 x 512 would take about four times
    # as long an epoch.
    dict(name="bilstm-meanmax-256x256", table="imdb",
         what="`bilstm-meanmax` 256 x 256, whole reviews, word and embedding dropout",
         args=frontier(4), seeds=[0, 1, 2]),

    # the frontier's first two epochs (its seeds 0 and 1 kept epoch 2 of 4): about 11 minutes an epoch
    # on 2 cores, the recurrent half of the next row
    dict(name="bilstm-meanmax-2-epochs", readme=True, table="imdb",
         what="`bilstm-meanmax` 256 x 256, whole reviews, word and embedding dropout, two epochs",
         args=frontier(2), seeds=[0, 1, 2]),
    dict(name="ensemble-bilstm-meanmax", readme=True, table="imdb",
         what="that two-epoch model and the trigram model, their log-odds averaged with a "
              "weight chosen on valid",
         script="benchmarks/ensemble.py",
         args=["--model", "runs/results/bilstm-meanmax-2-epochs-seed{seed}", "--ngrams", "3"],
         seeds=[0, 1, 2]),

    dict(name="bilstm-mean-whole", table="imdb-variations", what="bidirectional, whole reviews",
         args=["--arch", "bilstm-mean", "--max-len", "800", "--dropout", "0.5"] + EARLIER[:-1]
         + ["4"], seeds=[0]),
    dict(name="mean-whole-no-embed-dropout", table="imdb-variations",
         what="whole reviews without embedding dropout",
         args=["--arch", "mean", "--max-len", "800", "--dropout", "0.5", "--lr", "5e-4",
               "--vocab-size", "30000", "--lr-decay", "1", "--epochs", "4"], seeds=[0]),
    dict(name="max-400", table="imdb-variations", what="max pooling over time",
         args=MEAN_400[:1] + ["max"] + MEAN_400[2:], seeds=[0]),
    dict(name="mean-400-both", table="imdb-variations", what="keep each review's head and tail",
         args=MEAN_400 + ["--truncate", "both"], seeds=[0]),
    dict(name="mean-400-embed-decay", table="imdb-variations",
         what="embedding dropout and a decaying rate",
         args=["--arch", "mean", "--max-len", "400", "--vocab-size", "20000", "--lr", "1e-3",
               "--embed-dropout", "0.4", "--lr-decay", "0.5", "--epochs", "6"], seeds=[0]),
    dict(name="mean-whole-average", table="imdb-variations",
         what="an average of the weights (the more-dropout row, `--average 0.998`)",
         args=whole("0.5", "0.5", "--average", "0.998", "--patience", "5"), seeds=[0]),

    # both recurrent models of a seed (make-run's and the two-epoch frontier) with the trigram
    # model: one weight each, chosen together on valid
    dict(name="ensemble-two-rnns", table="imdb-variations",
         what="the ensemble row with `make run`'s model as a third part",
         script="benchmarks/ensemble.py",
         args=["--model", "runs/results/make-run-seed{seed}",
               "runs/results/bilstm-meanmax-2-epochs-seed{seed}", "--ngrams", "3"],
         seeds=[0]),

    dict(name="bilstm-mean-fast", table="imdb-architectures",
         what="`bilstm-mean`: mean over real tokens of [forward, backward]",
         args=["--arch", "bilstm-mean"] + FAST, seeds=[0]),
    dict(name="attention-fast", table="imdb-architectures",
         what="`attention`: 4 hops of self-attention over the same bidirectional LSTM, penalty 0.1",
         args=["--arch", "attention", "--attention-hops", "4", "--attention-penalty", "0.1"]
         + FAST, seeds=[0]),

    dict(name="umich-post", table="umich",
         what="the post's protocol (random split, duplicates kept)",
         args=["--arch", "lstm", "--data", UMICH, "--no-dedup"] + EARLIER, seeds=[0, 1, 2]),
    dict(name="umich-dedup", readme=True, table="umich",
         what="de-duplicated (1,349 distinct sentences)",
         args=["--arch", "lstm", "--data", UMICH] + EARLIER[:-1] + ["10", "--patience", "3"],
         seeds=[0, 1, 2]),
]
