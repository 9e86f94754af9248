"""What makes a run directory trustworthy: one run at a time, a model only when complete,
and a record of the data it was trained on.

    with RunLock(out):                     # a second run on `out` fails at once, naming this one
        ...                                # train, checkpoint, write the model
    data_fingerprint(data="reviews.tsv")   # {"kind": "file", "size": ..., "sha256": ...}
    incomplete_reason(out)                 # why `out` is not (yet) a model, or None

The lock is `out/.lock`, a file holding the PID and host of the run that holds it, locked
with `flock`: the kernel releases it when that process ends in any way, `kill -9` included,
so a lock file left behind by a dead run is simply taken over by the next one.

`config.json` is written last, after every other file of the model: its presence marks a
complete model. A finished run resumed to train on keeps its model servable meanwhile; the
new one replaces it, file by file, when the run finishes again.
"""
import fcntl
import hashlib
import json
import os
import re
import socket
from pathlib import Path

from .errors import UserError

LOCK_NAME = ".lock"
MARKER = "config.json"


def _read_holder(path):
    try:
        holder = json.loads(Path(path).read_text(encoding="utf-8"))
        return int(holder["pid"]), str(holder["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None   # no lock file, or its holder is still writing its name


def _describe_holder(path):
    holder = _read_holder(path)
    return f"pid {holder[0]} on {holder[1]}" if holder else "another process"


def _live_holder(path):
    """'pid N on HOST' when the lock file names a process of this machine that still runs.
    (Only looks: taking the lock, even for a moment, could turn a run starting away.)"""
    holder = _read_holder(path)
    if not holder or holder[1] != socket.gethostname():
        return None
    try:
        os.kill(holder[0], 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass   # it runs, as another user
    if _flock_held(path) is False:
        return None   # the PID lives on in another process; no run holds the lock
    return f"pid {holder[0]} on {holder[1]}"


def _flock_held(path):
    """Whether some process holds a flock on `path`, from the kernel's list of locks
    (/proc/locks, Linux); None where that list cannot be read."""
    try:
        st = os.stat(path)
        locks = Path("/proc/locks").read_text()
    except OSError:
        return None
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in locks.splitlines():
        fields = line.split()
        if "FLOCK" in fields and any(f.lower() == inode for f in fields):
            return True
    return False


class RunLock:
    """An exclusive lock on a run directory for the life of a `with` block; creates the
    directory if needed, and removes it again if the block leaves it empty (bad input found
    after the lock was taken must not leave an empty run directory behind)."""

    def __init__(self, out):
        self.out = Path(out)
        self.path = self.out / LOCK_NAME
        self._fd = None
        self._created = False

    def __enter__(self):
        out = self.out
        if out.exists() and not out.is_dir():
            raise UserError(f"{out}: exists and is not a directory; choose another --out")
        lock = self.path
        if lock.is_symlink() or lock.exists() and (
                not lock.is_file() or lock.stat().st_size and _read_holder(lock) is None):
            # a file of the same name that is no run's lock: not ours to overwrite
            raise UserError(f"{lock}: exists and is not a run's lock; choose another --out")
        try:
            self._created = not out.exists()
            out.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise UserError(f"{out}: in use by another run ({_describe_holder(self.path)}, "
                                    f"lock {self.path}); wait for it to end or choose another "
                                    f"--out") from None
                # The holder before us may have removed the file between our open and our
                # lock: a lock on a deleted file guards nothing, so start again.
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)
        except OSError as err:
            raise UserError(f"{err.filename or out}: cannot write the run directory: "
                            f"{err.strerror}") from None
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        return self

    def __exit__(self, *exc):
        # Remove the file while still holding the lock, then let go.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None
        if self._created:
            try:
                self.out.rmdir()   # only succeeds when nothing else was written
            except OSError:
                pass
        return False


def incomplete_reason(model_dir):
    """None for a complete model directory (or one that is no run at all: the caller says
    what is missing); otherwise one sentence saying why it is not a model yet, and what to do."""
    model_dir = Path(model_dir)
    resume = f"continue it with `python -m gluon_rnn.train --resume --out {model_dir}`"
    committed = (model_dir / "checkpoint" / "state.json").exists()
    if (model_dir / MARKER).exists():
        return None
    holder = _live_holder(model_dir / LOCK_NAME)
    if holder:
        return f"{model_dir}: still training ({holder}), so there is no model yet"
    if committed:
        return f"{model_dir}: training has not finished, so there is no model yet; {resume}"
    if (model_dir / LOCK_NAME).exists() or (model_dir / "checkpoint").exists():
        return (f"{model_dir}: training stopped before its first epoch was saved, so there is "
                f"no model and nothing to resume; train again")
    return None


# What a run writes, and nothing else: only these are ever replaced or removed in a run
# directory. Temporary files are `.NAME.tmpPID` (atomic) and `.model.tmpPID-...` (export_symbol).
RUN_FILES = ("config.json", "vocab.json", "model.params", "model-symbol.json",
             "model-0000.params", "metrics.json", "history.csv", "learning_curves.png",
             "confusion_matrix.png", "seen.txt", "model.onnx", "model-int8.onnx")
# digests of the texts a run trained and validated on (`data.text_digests`), one a line
SEEN_FILE = "seen.txt"
_TEMP = re.compile(r"\.(.+\.tmp|model\.tmp)\d+.*")
_WORKER = re.compile(r"worker-\d+\.json")
_CHECKPOINT = re.compile(r"epoch-\d{4,}\.(params|states|trained\.params)|state\.json")


def is_checkpoint_file(path):
    """Whether `path`, in checkpoint/, is a name `checkpoint.save_checkpoint` writes."""
    path = Path(path)
    return path.is_file() and not path.is_symlink() and bool(
        _CHECKPOINT.fullmatch(path.name) or _TEMP.fullmatch(path.name))


def _is_run_file(path):
    name = path.name
    if name == "checkpoint" and path.is_dir() and not path.is_symlink():
        return all(is_checkpoint_file(f) for f in path.iterdir())
    return path.is_file() and not path.is_symlink() and (
        name in RUN_FILES or name == LOCK_NAME or bool(_WORKER.fullmatch(name))
        or bool(_TEMP.fullmatch(name)))


def _foreign(out):
    """The first entry of `out` (or of its checkpoint/) that no run writes, or None."""
    for entry in sorted(Path(out).iterdir()):
        if not _is_run_file(entry):
            if entry.name == "checkpoint" and entry.is_dir() and not entry.is_symlink():
                return next(f for f in sorted(entry.iterdir()) if not is_checkpoint_file(f))
            return entry
    return None


def check_run_dir(out, resume, overwrite=False):
    """Whether a run may start in `out` (call it holding the lock: then nothing else can
    start or end a run there meanwhile). A fresh run writes only into a new or empty
    directory, or over a run's own files with `overwrite`; it never touches a file that no
    run writes (a run's directory may hold some: they stay). What a run stopped before its
    first epoch left needs no `overwrite`."""
    out = Path(out)
    committed = (out / "checkpoint" / "state.json").is_file()
    if resume:
        if not committed:
            raise UserError(f"{out}: nothing to resume (no checkpoint/state.json)")
        return
    # a run's directory may hold a user's notes beside it (never touched); anything else
    # must hold nothing but what a run writes
    foreign = None if committed else _foreign(out)
    if foreign is not None:
        raise UserError(f"{out}: holds files that are not a run's ({foreign}); a run writes "
                        f"only into a new or empty directory, or over a run of its own: "
                        f"choose another --out")
    leftovers = [e for e in out.iterdir() if e.name != LOCK_NAME and e.name != "checkpoint"]
    if committed and not overwrite:
        raise UserError(f"{out}: holds a run already; continue it with --resume, replace it "
                        f"with --overwrite, or choose another --out")
    if leftovers and not overwrite:
        raise UserError(f"{out}: holds a run's files "
                        f"({', '.join(sorted(e.name for e in leftovers))}) but no checkpoint "
                        f"to resume; replace them with --overwrite, or choose another --out")


def clear_run(out):
    """Remove what a run wrote in `out` (its model, records and checkpoint), before a fresh
    run starts there; files no run writes stay (`check_run_dir` refuses a run beside them)."""
    out = Path(out)
    ckpt = out / "checkpoint"
    if ckpt.is_dir() and not ckpt.is_symlink():
        for f in ckpt.iterdir():
            if is_checkpoint_file(f):
                f.unlink()
        try:
            ckpt.rmdir()
        except OSError:
            pass
    for f in out.iterdir():
        if f.name != LOCK_NAME and f.name != "checkpoint" and _is_run_file(f):
            f.unlink()


# ---------------------------------------------------------------- the data a run used

def file_fingerprint(path):
    """Size and sha256 of a file's bytes: what tells the same data from other data,
    wherever the file lies and whatever it is called."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror}") from None
    return {"size": size, "sha256": digest.hexdigest()}


def data_fingerprint(data=None, corpus=None):
    """A file's size and hash; for a named dataset, its name, where its cache came from and
    how many examples it holds."""
    if data is not None:
        return {"kind": "file", "name": Path(data).name, **file_fingerprint(data)}
    return {"kind": "dataset", "dataset": corpus.dataset,
            "origin": corpus.origin or corpus.source, "num_examples": corpus.num_examples}


def same_data(a, b):
    """Whether two fingerprints describe the same data (a renamed copy of a file is)."""
    keys = ("size", "sha256") if a.get("kind") == "file" else ("dataset", "origin", "num_examples")
    return a.get("kind") == b.get("kind") and all(a.get(k) == b.get(k) for k in keys)


def describe_data(fp):
    if fp.get("kind") == "file":
        return f"{fp.get('name')}: {fp.get('size')} bytes, sha256 {str(fp.get('sha256'))[:12]}"
    return f"{fp.get('dataset')} from {fp.get('origin')}, {fp.get('num_examples')} examples"


def data_record(cfg, corpus, fingerprint):
    """What config.json keeps of a run's training data (`cfg` a `gluon_rnn.options.Config`):
    enough for `evaluate` to recognise the data and rebuild exactly the run's test split."""
    return {"dataset": corpus.dataset, "data": cfg.data, "fingerprint": fingerprint,
            "data_path": str(Path(cfg.data).resolve()) if cfg.data else None,
            "data_dir": cfg.data_dir,
            "text_column": cfg.text_column, "label_column": cfg.label_column,
            "encoding": cfg.encoding, "limit": cfg.limit, "dedup": not cfg.no_dedup,
            "seed": cfg.seed, "num_train": len(corpus.train), "num_valid": len(corpus.valid),
            "num_test": len(corpus.test)}


def model_directory(model_dir):
    """`model_dir` as a Path once it is a complete model (what predict, evaluate and the
    export read), else the one-line UserError saying why not and how to go on."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise UserError(f"{model_dir}: no such model directory")
    reason = incomplete_reason(model_dir)
    if reason:
        raise UserError(reason)
    return model_dir
