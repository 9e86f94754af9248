"""gluon_rnn: recurrent sentiment classifiers in MXNet Gluon.

    >>> import gluon_rnn
    >>> net = gluon_rnn.build_model("lstm", vocab_size=10000)
    >>> sorted(gluon_rnn.ARCHITECTURES)   # every registered architecture

Modules: `blocks` (the architectures), `scratch` (one step of each cell in plain NDArray
ops), `data` (datasets, vocabulary, bucketed batches), `train` (the shared loop and its
CLI), `predict`, `evaluate`, `launch` (MXNet's parameter server on several processes),
`explain` (occlusion, the running prediction), `generated` (a toy corpus with a known rule).
"""
__version__ = "0.1.0"

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


def _check_mxnet():
    # mxnet 1.9.1 uses `np.bool`, which numpy 1.24 removed: importing it then fails deep
    # inside mxnet with an AttributeError. Say what to do instead.
    try:
        import mxnet  # noqa: F401
    except ModuleNotFoundError as err:
        raise ImportError(f"gluon_rnn needs mxnet 1.9.1, which is not installed ({err}): "
                          f"pip install -r requirements.txt, or run `make test`") from err
    except ImportError as err:
        import numpy
        raise ImportError(
            f"gluon_rnn needs mxnet 1.9.1 with numpy<1.24 (found numpy {numpy.__version__}); "
            f"install the pinned versions: pip install -r requirements.txt ({err})") from err
    except AttributeError as err:
        import numpy
        raise ImportError(
            f"mxnet failed to import with numpy {numpy.__version__}: mxnet 1.9.1 needs "
            f"numpy<1.24 (pip install 'numpy==1.23.5'); see apache/mxnet#21165") from err
    major_minor = tuple(int(p) for p in mxnet.__version__.split(".")[:2])
    if major_minor != (1, 9):
        raise ImportError(f"gluon_rnn needs mxnet 1.9.x, found {mxnet.__version__}")


def _quiet_interrupt_in_commands():
    """Ctrl-C while `python -m gluon_rnn.<command>` is still importing mxnet (seconds on a
    busy machine) ends as it does later in the command, with `interrupted` and no traceback
    through the import machinery. Only for the package's commands: Python sets argv[0] to
    "-m" while it imports the package of the module it was asked to run."""
    if sys.argv[:1] != ["-m"]:
        return
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            print("interrupted", file=sys.stderr)
            return
        previous(kind, value, traceback)
    sys.excepthook = hook


_quiet_interrupt_in_commands()
_default_threads()
_check_mxnet()

from .blocks import ARCHITECTURES, build_model  # noqa: E402

__all__ = ["ARCHITECTURES", "build_model", "physical_cores", "__version__"]
