#!/usr/bin/python3
"""Write a graph of N cheap ops on a tiny tensor, for the compile-scaling table.

  scripts/gen_chain.py relu N out.onnx   x -> Relu -> Relu ... (N nodes)
  scripts/gen_chain.py add  N out.onnx   x -> Add(c_i) -> ... (N nodes, N constants)
  scripts/gen_chain.py wide N out.onnx   N/2 Relu branches off x, summed by a
                                         binary tree of Add (N-1 nodes in all)

The tensor is float[1,8]. Used by bench/scale_benchmark.cc and the issue-15 table.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(kind, n):
    nodes, inits = [], []
    shape = [1, 8]
    if kind == "relu":
        prev = "x"
        for i in range(n):
            out = "y" if i == n - 1 else f"r{i}"
            nodes.append(helper.make_node("Relu", [prev], [out], name=f"relu{i}"))
            prev = out
    elif kind == "add":
        prev = "x"
        for i in range(n):
            out = "y" if i == n - 1 else f"a{i}"
            c = f"c{i}"
            inits.append(numpy_helper.from_array(
                np.full(shape, 1e-3 * (i % 7 - 3), dtype=np.float32), c))
            nodes.append(helper.make_node("Add", [prev, c], [out], name=f"add{i}"))
            prev = out
    elif kind == "wide":
        leaves = []
        for i in range(max(n // 2, 1)):
            nodes.append(helper.make_node("Relu", ["x"], [f"b{i}"], name=f"relu{i}"))
            leaves.append(f"b{i}")
        level, k = leaves, 0
        while len(level) > 1:
            nxt = []
            for j in range(0, len(level) - 1, 2):
                out = f"s{k}"
                nodes.append(helper.make_node("Add", [level[j], level[j + 1]], [out],
                                              name=f"sum{k}"))
                k += 1
                nxt.append(out)
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        nodes.append(helper.make_node("Identity", [level[0]], ["y"], name="out"))
    else:
        raise SystemExit(f"unknown kind {kind!r}: relu, add or wide")
    graph = helper.make_graph(
        nodes, f"{kind}{n}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    kind, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    onnx.save(build(kind, n), out)


if __name__ == "__main__":
    main()
