"""The machine a run measures: CPU model, cores, SIMD flags, clock, memory and versions (from
lscpu and /proc), its FP32 peak, and the flops an LSTM spends per token."""
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path


def _lscpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, _, v in
            (line.partition(":") for line in out.splitlines()) if v}


def _cpuinfo():
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info():
    """CPU model, cores, SIMD flags, clock, memory and versions, from lscpu and /proc."""
    lscpu, cpuinfo = _lscpu(), _cpuinfo()
    flags = (lscpu.get("Flags") or cpuinfo.get("flags", "")).split()
    sockets = int(lscpu.get("Socket(s)", 1))
    cores = sockets * int(lscpu.get("Core(s) per socket", os.cpu_count() or 1))
    mhz = lscpu.get("CPU max MHz") or cpuinfo.get("cpu MHz")
    mem_kb = 0
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        pass
    simd = [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
            if f in flags]
    return {"cpu": lscpu.get("Model name") or cpuinfo.get("model name") or platform.processor(),
            "vendor": lscpu.get("Vendor ID") or cpuinfo.get("vendor_id"),
            "family": cpuinfo.get("cpu family"), "model": cpuinfo.get("model"),
            "logical_cpus": os.cpu_count(), "cores": cores,
            "threads_per_core": int(lscpu.get("Thread(s) per core", 1)),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "hypervisor": lscpu.get("Hypervisor vendor"), "mhz": float(mhz) if mhz else None,
            "mhz_source": "lscpu CPU max MHz" if lscpu.get("CPU max MHz") else "/proc/cpuinfo cpu MHz",
            "simd_flags": simd, "memory_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "os": platform.platform(),
            "versions": {p: _version(p) for p in ("mxnet", "gluonnlp", "numpy", "torch")}}


def fp32_peak(info, fma_units):
    """cores x FMA units x SIMD lanes x 2 flops per FMA x clock, and the line that shows it.
    AMD's Zen 4 (family 25) runs AVX-512 as two 256-bit halves, so its lanes count as 8 per
    unit; Zen 5 (family 26) has full 512-bit units, so they count as 16, as on Intel."""
    flags = set(info["simd_flags"])
    halves = info["vendor"] == "AuthenticAMD" and int(info.get("family") or 0) < 26
    if "avx512f" in flags and not halves:
        lanes, isa = 16, "AVX-512"
    elif "avx2" in flags or "avx" in flags:
        lanes, isa = 8, "AVX2" if "avx2" in flags else "AVX"
    else:
        lanes, isa = 4, "SSE"
    per_fma = 2 if "fma" in flags else 1  # without FMA a unit does a multiply or an add
    ghz = (info["mhz"] or 0) / 1000
    peak = info["cores"] * fma_units * lanes * per_fma * ghz * 1e9
    text = (f"{info['cores']} cores x {fma_units} FMA units x {lanes} FP32 lanes ({isa}, "
            f"{lanes * 32} bits) x {per_fma} flops per FMA x {ghz:.3f} GHz = "
            f"{peak / 1e9:.1f} GFLOP/s")
    return peak, text


def lstm_flops_per_token(spec):
    """Forward: the four gates' matrix products, 2 * 4H * (E + H); training about 3x that
    (backward needs the products for the inputs' and the weights' gradients)."""
    e, h = spec["embed_size"], spec["hidden_size"]
    forward = 2 * 4 * h * (e + h)
    return forward, 3 * forward
