"""A run's checkpoint: what `--resume` continues from.

`checkpoint/` in a run directory holds the parameters and the optimizer state of the last
complete epoch, the best epoch's parameters and `state.json`, which names them and records
the run's settings and a fingerprint of its training data. The saved settings are what a
resumed run continues with (`resume_config`). No pickle:
gluon's Trainer.save_states pickles the optimizer, so the Adam moments are saved as NDArrays
(MXNet's own format) and the update counts as JSON.
"""
import dataclasses
import json
import math
from pathlib import Path

import mxnet as mx

from .errors import UserError
from .model_io import atomic_save, atomic_write_json
from .options import RESUME_MAY_CHANGE, THIS_PROCESS, resume_rule
from .rundir import is_checkpoint_file


def _trainer_state(trainer):
    arrays, counts = {}, {}
    for k, updater in enumerate(trainer._updaters):
        for idx, state in updater.states.items():
            parts = state if isinstance(state, (list, tuple)) else [state]
            for j, arr in enumerate(parts):
                if arr is not None:
                    arrays[f"{k}:{idx}:{j}"] = arr
    opt = trainer._optimizer
    for dev, per_index in opt._all_index_update_counts.items():
        counts[str(dev)] = {str(i): n for i, n in per_index.items()}
    return arrays, {"num_update": opt.num_update, "index_update_counts": counts}


def _load_trainer_state(trainer, arrays, counts, ctx):
    """Every device's Adam state and update counts from the checkpoint. A synchronous run
    keeps them equal on all its devices, so a device the saved run did not have (a resume on
    more devices) takes those of the saved run's first: it must not start from zero."""
    trainer._init_kvstore()  # creates the updaters
    grouped = {}
    for key, arr in arrays.items():
        k, idx, j = (int(x) for x in key.split(":"))
        grouped.setdefault(k, {}).setdefault(idx, {})[j] = arr
    first = grouped[min(grouped)] if grouped else {}
    for k, updater in enumerate(trainer._updaters):
        for idx, parts in grouped.get(k, first).items():
            state = tuple(parts[j].as_in_context(ctx[k]) for j in sorted(parts))
            updater.states[idx] = state if len(state) > 1 else state[0]
            updater.states_synced[idx] = True
    opt = trainer._optimizer
    opt.num_update = counts["num_update"]
    saved = {int(d): {int(i): n for i, n in per.items()}
             for d, per in counts["index_update_counts"].items()}
    first_counts = saved[min(saved)] if saved else {}
    opt._all_index_update_counts = {
        c.device_id: dict(saved.get(c.device_id, first_counts)) for c in ctx}
    opt._index_update_count = opt._all_index_update_counts.setdefault(0, {})


def save_checkpoint(out, epoch, net, trainer, state, average=None):
    """Parameters and optimizer state of `epoch`, then state.json, which names them: the
    rename of state.json is the commit, so a kill at any moment leaves the previous epoch
    intact. Files no longer named are removed afterwards.

    With a `WeightAverage`, epoch-N.params holds the average (what was validated, what the
    best epoch keeps) and epoch-N.trained.params the weights training goes on from."""
    ckpt = Path(out) / "checkpoint"
    ckpt.mkdir(parents=True, exist_ok=True)
    params_name, states_name = f"epoch-{epoch:04d}.params", f"epoch-{epoch:04d}.states"
    extra = {}
    if average is not None:
        extra = {"last_trained": f"epoch-{epoch:04d}.trained.params",
                 "average_updates": average.num_updates}
        atomic_save(ckpt / extra["last_trained"], net.save_parameters)
        with average.swapped():
            atomic_save(ckpt / params_name, net.save_parameters)
    else:
        state = {k: v for k, v in state.items() if k not in ("last_trained", "average_updates")}
        atomic_save(ckpt / params_name, net.save_parameters)
    arrays, counts = _trainer_state(trainer)
    atomic_save(ckpt / states_name, lambda p: mx.nd.save(p, arrays))
    state = dict(state, epoch=epoch, last_params=params_name, last_states=states_name,
                 optimizer=counts, **extra)
    atomic_write_json(ckpt / "state.json", state)
    # Remove what state.json no longer names, temporary files of a killed run included;
    # a file no run writes is not ours to remove.
    keep = {params_name, states_name, state["best_params"], "state.json", *extra.values()}
    for f in ckpt.iterdir():
        if f.name not in keep and is_checkpoint_file(f):
            f.unlink()
    return state


def load_checkpoint(out, net, trainer, ctx):
    ckpt = Path(out) / "checkpoint"
    path = ckpt / "state.json"
    if not path.exists():
        raise UserError(f"{path}: no checkpoint to resume from (train without --resume first)")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        # training goes on from the trained weights, not from their average
        net.load_parameters(str(ckpt / state.get("last_trained", state["last_params"])), ctx=ctx)
        arrays = mx.nd.load(str(ckpt / state["last_states"]))
    except (json.JSONDecodeError, KeyError, mx.base.MXNetError, OSError, AssertionError,
            ValueError) as err:
        # MXNet's own messages are a C++ stack trace or a bare AssertionError: name the file.
        what = type(err).__name__ if isinstance(err, (mx.base.MXNetError, AssertionError)) else err
        raise UserError(f"{ckpt}: damaged checkpoint, or not one of this model ({what})")
    _load_trainer_state(trainer, arrays, state["optimizer"], ctx)
    return state


# --------------------------------------------------------------------------- resume rules

# What `--resume` may change is each Config field's own rule, next to its help
# (`options.resume_rule`).


def read_state(out):
    """checkpoint/state.json of the run in `out`, as a dict."""
    path = Path(out) / "checkpoint" / "state.json"
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{out}: nothing to resume (no checkpoint/state.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: damaged checkpoint ({err})") from None
    if not isinstance(state, dict):
        raise UserError(f"{path}: damaged checkpoint (not a JSON object)")
    for key in ("config", "data_fingerprint"):   # what a resume is checked against
        if not isinstance(state.get(key), dict):
            raise UserError(f"{path}: damaged checkpoint (no {key!r})")
    return state


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
        except (TypeError, ValueError):
            return False
    return a == b


def _shown(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    return "(none)" if value is None else str(value)


# Settings a run may leave unset (None) to take its architecture's default.
_ARCH_DEFAULTS = ("num_layers", "attention_hops", "attention_penalty")


def _arch_default(saved, name):
    """The value the saved run's architecture takes for `name` when it is not set."""
    from .blocks import build_model
    try:
        return build_model(saved.get("arch"), vocab_size=2, embed_size=1,
                           hidden_size=1).config.get(name)
    except (KeyError, TypeError, ValueError):
        return None


def resume_config(cfg, given, saved):
    """The config a resumed run goes on with: the saved run's value for every field, except
    fields whose rule (`options.resume_rule`) is THIS_PROCESS, and those it says --resume may
    change that were `given`. Any other given field whose value differs from the saved one
    raises UserError naming the flag and both values. `data` is compared by content
    afterwards (`rundir.same_data`): the same file may have moved."""
    values = {}
    for f in dataclasses.fields(cfg):
        name, value, rule = f.name, getattr(cfg, f.name), resume_rule(f)
        if (name not in saved or rule == THIS_PROCESS
                or (name in given and rule == RESUME_MAY_CHANGE)):
            values[name] = value
            continue
        old = saved[name]
        used, shown = old, _shown(old)
        if old is None and name in _ARCH_DEFAULTS and name in given:
            # unset, the run used its architecture's default: repeating that value is no change
            used = _arch_default(saved, name)
            shown = f"{_shown(used)}, the {saved.get('arch')} default"
        if name in given and name != "data" and not _same(value, used):
            raise UserError(
                f"--{name.replace('_', '-')} {_shown(value)} differs from the run being resumed "
                f"({shown}): --resume continues that run with its own settings; leave "
                f"the flag out, or start a new run in another --out")
        values[name] = value if name == "data" and name in given else old
    return dataclasses.replace(cfg, **values)
