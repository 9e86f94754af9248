"""gluon_rnn: recurrent sentiment classifiers in MXNet Gluon.

    >>> import gluon_rnn
    >>> net = gluon_rnn.build_model("lstm", vocab_size=10000)
    >>> sorted(gluon_rnn.ARCHITECTURES)   # every registered architecture

Modules: `blocks` (the architectures), `scratch` (one step of each cell in plain NDArray
ops), `data` (datasets, vocabulary, bucketed batches), `loop` (the epoch loop), `run` (one
training run end to end), `train` (its command line), `predict`, `evaluate`, `launch`
(MXNet's parameter server on several processes), `explain` (occlusion, the running
prediction), `generated` (a toy corpus with a known rule), `seq2seq` (an encoder-decoder on
generated digit strings, not a classifier), `text` (tokenizer, vocabulary, decoding: no
mxnet), `export` (ONNX, served by onnxruntime).

mxnet is imported only by the modules that use it, not by the package itself: `gluon_rnn.text`
and `python -m gluon_rnn.predict --runtime onnx` work where mxnet does not install. Importing
the package sets the operators' thread count (before mxnet loads) and checks mxnet's version
when it does load; nothing else. The commands import mxnet inside their `main`, under
`errors.run_cli`, which turns Ctrl-C into one line wherever it lands.
"""
__version__ = "0.1.0"

import importlib.util
import os
import sys


def physical_cores():
    """Cores (not hyper-threads) among the CPUs this process may run on."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topo = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(topo + "physical_package_id") as pkg, open(topo + "core_id") as core:
                cores.add((pkg.read().strip(), core.read().strip()))
        except OSError:
            cores.add(("cpu", cpu))
    return max(len(cores), 1)


def _default_threads():
    # Left to itself mxnet 1.9 gives its operators half the logical CPUs (it assumes two
    # hyper-threads per core), which idles half of a machine without them: training ran
    # 1.4x-1.8x faster on 2 cores with OMP_NUM_THREADS=2 (benchmarks/RESULTS.md, "Knobs").
    # mxnet reads the variable once, when it loads, so this must come first. A user's own
    # setting wins; the processes of a distributed job share the machine and keep mxnet's.
    if "OMP_NUM_THREADS" in os.environ or "DMLC_ROLE" in os.environ or "mxnet" in sys.modules:
        return
    os.environ["OMP_NUM_THREADS"] = str(physical_cores())


def _check_version(mxnet):
    major_minor = tuple(int(p) for p in mxnet.__version__.split(".")[:2])
    if major_minor != (1, 9):
        raise ImportError(f"gluon_rnn needs mxnet 1.9.x, found {mxnet.__version__}")


def _import_error(err):
    # mxnet 1.9.1 uses `np.bool`, which numpy 1.24 removed: importing it then fails deep
    # inside mxnet with an AttributeError. Say what to do instead.
    import numpy
    if isinstance(err, AttributeError):
        return ImportError(
            f"mxnet failed to import with numpy {numpy.__version__}: mxnet 1.9.1 needs "
            f"numpy<1.24 (pip install 'numpy==1.23.5'); see apache/mxnet#21165")
    return ImportError(
        f"gluon_rnn needs mxnet 1.9.1 with numpy<1.24 (found numpy {numpy.__version__}); "
        f"install the pinned versions: pip install -r requirements.txt ({err})")


class _CheckMXNet:
    """Meta-path finder that checks the first `import mxnet` of the process, wherever it
    happens, and turns a failure deep inside mxnet into one line saying what to install.
    mxnet is imported once, by its own loader; nothing is imported here before it is asked
    for, so the modules that do not need mxnet work without it."""

    def find_spec(self, name, path=None, target=None):
        if name != "mxnet":
            return None
        sys.meta_path.remove(self)                # once: the lookup below passes through
        spec = importlib.util.find_spec(name)     # the finders after this one, blockers too
        if spec is None:
            raise ModuleNotFoundError("gluon_rnn needs mxnet 1.9.1, which is not installed: "
                                      "pip install -r requirements.txt, or run `make test`",
                                      name=name)
        exec_module = spec.loader.exec_module

        def checked(module):
            try:
                exec_module(module)
            except (ImportError, AttributeError) as err:
                raise _import_error(err) from err
            _check_version(module)
        spec.loader.exec_module = checked
        return spec


def __getattr__(name):
    # `gluon_rnn.build_model` and `gluon_rnn.ARCHITECTURES` import mxnet when first used
    if name in ("ARCHITECTURES", "build_model"):
        from . import blocks
        return getattr(blocks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_default_threads()
if "mxnet" in sys.modules:
    _check_version(sys.modules["mxnet"])
elif not any(isinstance(finder, _CheckMXNet) for finder in sys.meta_path):
    sys.meta_path.insert(0, _CheckMXNet())

__all__ = ["ARCHITECTURES", "build_model", "physical_cores", "__version__"]
