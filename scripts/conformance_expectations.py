#!/usr/bin/python3
"""Rewrites tests/conformance/expectations/*.txt from what `bnfold check-case`
reports now: a case stays listed while it fails (with the passes on or
off; a status suffixed @optimized/@unoptimized fails only that way), a case
that passes both ways is dropped, a failing case that no file lists is added
to the file of its op family (runtime/ir/op_kind.h's BNFOLD_OPS_* lists;
core.txt for the rest, undeclared.txt for ops bnfold does not declare) with
check-case's reason. Hand-written reasons of listed cases are kept.

usage: scripts/conformance_expectations.py BNFOLD_BINARY [DATA_ROOT]
"""
import json
import os
import re
import subprocess
import sys

import onnx

SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]
FAMILY_FILES = {
    "LOGIC": "logic", "MATH": "math", "INDEXING": "indexing",
    "LOSS_SIGNAL": "loss_signal", "VISION": "vision", "QUANT": "quantize",
    "RECURRENT": "recurrent", "CONTROL": "control_flow", "RANDOM": "random",
}


def op_families(op_kind_h):
    text = open(op_kind_h).read()
    families = {}
    for m in re.finditer(r"#define BNFOLD_OPS_(\w+)\(X\)((?:.*\\\n)*.*)", text):
        for op in re.findall(r"X\((\w+)\)", m.group(2)):
            families[op] = m.group(1)
    return families


def model_ops(path):
    ops = set()

    def walk(graph):
        for n in graph.node:
            ops.add(n.op_type if n.domain in ("", "ai.onnx") else n.domain + ":" + n.op_type)
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g)
                for g in a.graphs:
                    walk(g)

    walk(onnx.load(path).graph)
    return ops


def check(binary, dirs, optimize):
    args = [binary, "check-case", "--json"] + ([] if optimize else ["--no-optimize"])
    out = subprocess.run(args + dirs, capture_output=True, text=True).stdout
    return {os.path.relpath(c["case"], os.path.dirname(os.path.dirname(c["case"]))): c
            for c in json.loads(out)["cases"]}


def main():
    binary = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/libonnx-testdata/data"
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.dirname(here)
    exp_dir = os.path.join(src, "tests/conformance/expectations")
    families = op_families(os.path.join(src, "runtime/ir/op_kind.h"))

    cases = [f"{s}/{c}" for s in SUITES for c in sorted(os.listdir(f"{root}/{s}"))]
    dirs = [f"{root}/{c}" for c in cases]
    optimized = check(binary, dirs, True)
    plain = check(binary, dirs, False)

    listed = {}  # case -> (file, line)
    files = {}
    for name in sorted(os.listdir(exp_dir)):
        if name.endswith(".txt"):
            files[name] = open(os.path.join(exp_dir, name)).read().splitlines()
            for line in files[name]:
                if line and not line.startswith("#"):
                    listed[line.split()[0]] = name

    failing = {}
    for c in cases:
        a, b = optimized[c], plain[c]
        if a["status"] != "pass" or b["status"] != "pass":
            r = a if a["status"] != "pass" else b
            status = r["status"]
            if a["status"] == "pass":
                status += "@unoptimized"
            elif b["status"] == "pass":
                status += "@optimized"
            failing[c] = (status, " ".join(r["reason"].split()) or "(no reason)")

    # Drop passing cases from every file; keep hand-written reasons but
    # refresh the status (which mode fails may change).
    for name, lines in files.items():
        kept = []
        for l in lines:
            if not l or l.startswith("#"):
                kept.append(l)
            elif l.split()[0] in failing:
                case, _, rest = l.split(" ", 2) + [""] * (3 - len(l.split(" ", 2)))
                kept.append(f"{case} {failing[case][0]} {rest}".rstrip())
        files[name] = kept
    # Add unlisted failures to their family's file.
    for c, (status, reason) in failing.items():
        if c in listed:
            continue
        fams = [families.get(op) for op in model_ops(f"{root}/{c}/model.onnx")]
        if None in fams:
            name = "undeclared.txt"
        else:
            new = [FAMILY_FILES[f] for f in fams if f != "CORE"]
            name = (sorted(set(new))[0] if new else "core") + ".txt"
        if name not in files:
            files[name] = [f"# ONNX backend cases of the {name[:-4]} family bnfold does not pass yet:",
                           "# <suite>/<case> <status> <reason>; delete a line when its case passes."]
        files[name].append(f"{c} {status} {reason}")
    for name, lines in files.items():
        with open(os.path.join(exp_dir, name), "w") as f:
            f.write("\n".join(lines) + "\n")
    passed = len(cases) - len(failing)
    print(f"{passed}/{len(cases)} cases pass both ways ({100.0 * passed / len(cases):.1f}%)")


if __name__ == "__main__":
    main()
