"""The parts of `benchmarks/bench.py`, one concern each:

    config     section names, the shapes of a full and a --quick run, the targets
    tasks      the child side: what one measuring process runs (imports mxnet)
    runner     the parent side: starts the children and keeps what they report
    machine    CPU model, cores, SIMD flags, clock; the FP32 peak; an LSTM's flops per token
    sections   one function per section: which children to start, what to keep
    report     RESULTS.md: header, targets, findings, a table per section
    plot       throughput.png
"""
