"""The parts of `benchmarks/bench.py`, one concern each, in the order a run uses them:

    config     section names, the shapes of a full and a --quick run, the targets
    machine    CPU model, cores, SIMD flags, clock; the FP32 peak; an LSTM's flops per token
    sections   one function per section: which children to start, what to keep
    runner     the parent side: starts the children and keeps what they report
    tasks      the child side: what one measuring process runs (imports mxnet)
    shares     the derived numbers: ratio to PyTorch, share of FP32 peak, operator time
    tables     one table of RESULTS.md per section
    report     RESULTS.md: header, targets, findings, the tables in order, notes
    plot       throughput.png

Imports run one way: tasks builds on config, runner on tasks (--quick runs them in process),
sections on machine, tables on config, shares and sections (`find_row`), report on tables, plot on
sections. bench.py puts the repository on sys.path before it imports these; mxnet and
gluon_rnn are imported inside functions, so that bench.py decides when mxnet loads.
"""
