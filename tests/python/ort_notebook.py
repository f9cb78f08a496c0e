"""A notebook-style script written for onnxruntime, run on bnfold.

The only line changed from the onnxruntime original is the import below
("import onnxruntime as ort"); test_ort_script.py checks that every name the
script takes from `ort` and from its objects is onnxruntime API, runs it on
every model in models/ and compares what it writes with ONNX Runtime's
outputs on the same inputs.

usage: ort_notebook.py MODEL INPUT_DIR OUTPUT_DIR
  reads INPUT_DIR/<input name>.npy, writes OUTPUT_DIR/<output name>.npy
"""

import os
import sys

import numpy as np

import bnfold as ort  # was: import onnxruntime as ort

model_path, input_dir, output_dir = sys.argv[1:4]

options = ort.SessionOptions()
options.intra_op_num_threads = 2
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(model_path, sess_options=options,
                               providers=["CPUExecutionProvider"])
print("providers:", session.get_providers(), "available:", ort.get_available_providers())

meta = session.get_modelmeta()
print(f"{os.path.basename(model_path)}: producer {meta.producer_name!r}, graph {meta.graph_name!r}")

feeds = {}
for node_arg in session.get_inputs():
    print("input ", node_arg.name, node_arg.type, node_arg.shape)
    feeds[node_arg.name] = np.load(os.path.join(input_dir, node_arg.name.replace("/", "_") + ".npy"))

output_names = [o.name for o in session.get_outputs()]
for node_arg in session.get_outputs():
    print("output", node_arg.name, node_arg.type, node_arg.shape)

results = session.run(output_names, feeds)
# The same, the other usual spelling: None for every output.
again = session.run(None, feeds)
for name, value, value_again in zip(output_names, results, again):
    assert np.array_equal(value, value_again), name
    np.save(os.path.join(output_dir, name.replace("/", "_").replace(":", "_") + ".npy"), value)
    print(f"{name}: {value.shape} {value.dtype}, mean {float(np.mean(value)):.6g}")
