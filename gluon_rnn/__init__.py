"""gluon_rnn: recurrent sentiment classifiers in MXNet Gluon.

    >>> import gluon_rnn
    >>> net = gluon_rnn.build_model("lstm", vocab_size=10000)
    >>> sorted(gluon_rnn.ARCHITECTURES)   # every registered architecture

Modules: `blocks` (the architectures), `scratch` (one step of each cell in plain NDArray
ops), `data` (datasets, vocabulary, bucketed batches), `train` (the shared loop and its
CLI), `predict`, `evaluate`, `launch` (MXNet's parameter server on several processes).
"""
__version__ = "0.1.0"


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


_check_mxnet()

from .blocks import ARCHITECTURES, build_model  # noqa: E402

__all__ = ["ARCHITECTURES", "build_model", "__version__"]
