"""Every file the package writes goes through `atomic_path`: it is written under a temporary
name in the same directory, flushed to disk and renamed into place, so a crash or Ctrl-C
never leaves a half-written file under the final name, and never leaves the temporary one.

Temporary names are `.NAME.tmpPID` (rundir knows them as leftovers it may remove).
Standard library only: the ONNX serving path and the launcher use it without mxnet.
"""
import contextlib
import json
import os
from pathlib import Path


def temp_name(path):
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def _fsync(path):
    # The rename must not reach the disk before the data: after a power cut the final
    # name would hold an empty or partial file.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path to write; once the block completes it is synced and renamed
    onto `path`. On any error the temporary file is removed and `path` is left as it was."""
    tmp = temp_name(path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path, data):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def atomic_save(path, save):
    """`save(tmp_path)` writes the file (e.g. `net.save_parameters`)."""
    with atomic_path(path) as tmp:
        save(str(tmp))
