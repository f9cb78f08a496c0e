"""What a benchmark ran on: CPU, cores, vector ISA, load, software versions.

Timings mean little without it, and on a shared machine the load average
before and after a run says how much to trust them.
"""

import datetime
import os
import platform
import re
import subprocess

# Flags that decide which kernels oneDNN and ONNX Runtime pick.
ISA_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "amx_tile")


def cpu_info():
    model, flags = None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and flags is None:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or "unknown", [f for f in ISA_FLAGS if f in (flags or ())]


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def git_commit(root):
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def onednn_isa(bnfold, model):
    """The ISA oneDNN dispatches to, from its verbose header on a one-run bench."""
    env = dict(os.environ, ONEDNN_VERBOSE="1")
    try:
        out = subprocess.run([bnfold, "bench", model, "--iters", "1", "--warmup", "0",
                              "--threads", "1"], capture_output=True, text=True, env=env,
                             timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    version = re.search(r"onednn_verbose,info,(oneDNN v[^ ,]+)", out)
    isa = re.search(r"onednn_verbose,info,cpu,isa:(.*)", out)
    return ", ".join(m.group(1).strip() for m in (version, isa) if m) or "unknown"


def describe(root, bnfold, probe_model):
    model, flags = cpu_info()
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "isa_flags": flags,
        "kernel": platform.release(),
        "load_average_start": load_average(),
        "bnfold_commit": git_commit(root),
        "onednn": onednn_isa(bnfold, probe_model),
    }


def one_line(m):
    flags = ", ".join(f for f in m["isa_flags"] if f.startswith(("avx2", "avx512f", "amx"))) or "no avx2"
    load = m.get("load_average_start")
    end = m.get("load_average_end")
    loads = f"load avg {load[0]} at start" if load else ""
    if end:
        loads += f", {end[0]} at end"
    return (f"{m['date'][:10]}, {m['cpu']}, {m['usable_cores']} cores ({flags}); "
            f"{m['onednn']}; ONNX Runtime {m.get('ort_version', '?')}; bnfold {m['bnfold_commit']}; "
            f"{loads}")
