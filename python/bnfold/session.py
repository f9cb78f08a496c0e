"""onnxruntime's inference API on bnfold.

Code written for onnxruntime runs by changing the import:

    import bnfold as ort
    sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
    (logits,) = sess.run(None, {sess.get_inputs()[0].name: x})

What differs from onnxruntime, on purpose:
- Inputs whose numpy dtype is not the model's are converted when numpy's
  'same_kind' casting allows it (float64 -> float32), instead of refused.
- There is one execution provider, the CPU (oneDNN); `providers` is accepted
  and reported as ["CPUExecutionProvider"].
- `graph_optimization_level`: ORT_DISABLE_ALL runs the graph exactly as
  written (no passes, one step per node); every other level runs bnfold's
  passes (BatchNormalization folding and friends) and fused steps.
- `optimized_model_filepath` writes the folded model (atomically), as
  `bnfold optimize` would.
- The profile written by `end_profiling()` has one event per plan step with
  its mean time over the profiled runs (not one event per run).
"""

import datetime
import enum
import json
import os
import tempfile
import time

from . import _bnfold


class GraphOptimizationLevel(enum.IntEnum):
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class ExecutionMode(enum.IntEnum):
    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1


class SessionOptions:
    """onnxruntime.SessionOptions: the settings bnfold uses, and the others
    accepted (and ignored) so that existing code runs. Unknown attributes
    raise AttributeError, as onnxruntime's do."""

    __slots__ = (
        "intra_op_num_threads", "inter_op_num_threads", "graph_optimization_level",
        "optimized_model_filepath", "enable_profiling", "profile_file_prefix",
        "execution_mode", "execution_order", "log_severity_level", "log_verbosity_level",
        "logid", "enable_cpu_mem_arena", "enable_mem_pattern", "enable_mem_reuse",
        "use_deterministic_compute", "passes", "max_memory_bytes", "_config",
    )

    def __init__(self):
        self.intra_op_num_threads = 0  # 0: every core
        self.inter_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.optimized_model_filepath = ""
        self.enable_profiling = False
        self.profile_file_prefix = "onnxruntime_profile_"
        self.execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self.execution_order = 0
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self.enable_cpu_mem_arena = True
        self.enable_mem_pattern = True
        self.enable_mem_reuse = True
        self.use_deterministic_compute = False
        # bnfold's own: pass names to run (None: the default pipeline).
        self.passes = None
        # bnfold's own: bytes one compiled plan may hold (constants, arena,
        # scratchpad; see SessionOptions::max_memory_bytes). None: the
        # default (64 GiB); 0: no cap.
        self.max_memory_bytes = None
        self._config = {}

    def add_session_config_entry(self, key, value):
        self._config[str(key)] = str(value)

    def get_session_config_entry(self, key):
        if key not in self._config:
            raise _bnfold.InvalidArgument(f"SessionOptions has no config entry '{key}'")
        return self._config[key]

    def add_free_dimension_override_by_name(self, name, value):
        raise _bnfold.Unsupported("free dimension overrides are not supported; "
                                  "bnfold compiles a plan per input shape instead")


class RunOptions:
    """onnxruntime.RunOptions, accepted; bnfold runs have no per-run settings."""

    __slots__ = ("log_severity_level", "log_verbosity_level", "logid", "terminate",
                 "only_execute_path_to_fetches")

    def __init__(self):
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.logid = ""
        self.terminate = False
        self.only_execute_path_to_fetches = False


class NodeArg:
    """A graph input or output: name, type ("tensor(float)") and shape (ints;
    strings for symbolic dims such as "batch"; None for unnamed free dims)."""

    __slots__ = ("name", "type", "shape")

    def __init__(self, name, type, shape):
        self.name = name
        self.type = type
        self.shape = shape

    def __repr__(self):
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"

    def __eq__(self, other):
        return (isinstance(other, NodeArg) and
                (self.name, self.type, self.shape) == (other.name, other.type, other.shape))


class ModelMetadata:
    """What the model says about itself, as onnxruntime.ModelMetadata."""

    __slots__ = ("producer_name", "graph_name", "domain", "description", "graph_description",
                 "version", "custom_metadata_map", "producer_version")

    def __init__(self, fields):
        for key in self.__slots__:
            setattr(self, key, fields[key])


def _model_argument(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        return path_or_bytes
    if isinstance(path_or_bytes, (bytearray, memoryview)):
        return bytes(path_or_bytes)
    if isinstance(path_or_bytes, (str, os.PathLike)):
        return os.fspath(path_or_bytes)
    if hasattr(path_or_bytes, "SerializeToString"):  # onnx.ModelProto
        return path_or_bytes.SerializeToString()
    raise TypeError(f"expected a path, bytes or an onnx.ModelProto, got {type(path_or_bytes).__name__}")


def _write_atomically(path, data, mode):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class InferenceSession:
    """onnxruntime.InferenceSession on bnfold. `run` releases the GIL, and
    concurrent `run` calls on one session from several threads are safe."""

    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None,
                 **kwargs):
        self._model = _model_argument(path_or_bytes)
        self._sess_options = sess_options if sess_options is not None else SessionOptions()
        options = self._sess_options
        if int(options.intra_op_num_threads) < 0:
            raise _bnfold.InvalidArgument("intra_op_num_threads must be >= 0")
        optimize = options.graph_optimization_level != GraphOptimizationLevel.ORT_DISABLE_ALL
        self._passes = list(options.passes or [])
        self._session = _bnfold.Session(
            self._model, threads=int(options.intra_op_num_threads), optimize=optimize,
            fuse=optimize, profile=bool(options.enable_profiling), passes=self._passes,
            max_memory_bytes=options.max_memory_bytes)
        self._profiling_start_ns = time.time_ns()
        if options.optimized_model_filepath:
            self._write_optimized(os.fspath(options.optimized_model_filepath), optimize)
        self._providers = ["CPUExecutionProvider"]
        self._inputs = [NodeArg(*t) for t in self._session.inputs()]
        self._outputs = [NodeArg(*t) for t in self._session.outputs()]
        self._overridable = [NodeArg(*t) for t in self._session.overridable_initializers()]

    def _write_optimized(self, path, optimize):
        if not optimize:
            # ORT_DISABLE_ALL: the model runs as written, so that is what is saved.
            if isinstance(self._model, bytes):
                _write_atomically(path, self._model, "wb")
            else:
                with open(self._model, "rb") as f:
                    _write_atomically(path, f.read(), "wb")
            return
        _bnfold.optimize(self._model, path, self._passes)

    def run(self, output_names, input_feed, run_options=None):
        """Outputs named in `output_names` (all, in graph order, for None or
        []), as numpy arrays."""
        names = list(output_names) if output_names else None
        return self._session.run(names, input_feed)

    def get_inputs(self):
        return list(self._inputs)

    def get_outputs(self):
        return list(self._outputs)

    def get_overridable_initializers(self):
        return list(self._overridable)

    def get_modelmeta(self):
        return ModelMetadata(self._session.metadata())

    def get_providers(self):
        return list(self._providers)

    def get_provider_options(self):
        return {"CPUExecutionProvider": {}}

    def set_providers(self, providers=None, provider_options=None):
        pass

    def disable_fallback(self):
        pass

    def enable_fallback(self):
        pass

    def get_session_options(self):
        return self._sess_options

    def get_profiling_start_time_ns(self):
        return self._profiling_start_ns

    def end_profiling(self):
        """Writes the profile of the runs since the session opened (or the last
        end_profiling) as a Chrome-trace JSON file and returns its name ("" when
        profiling is off)."""
        if not self._sess_options.enable_profiling:
            return ""
        events = []
        for plan_index, plan in enumerate(self._session.take_profile()):
            start_us = 0.0
            shapes = {name: shape for name, _, shape in plan["inputs"]}
            for step in plan["steps"]:
                duration_us = step["mean_ms"] * 1000.0
                events.append({
                    "cat": "Node", "ph": "X", "pid": os.getpid(), "tid": plan_index,
                    "name": step["label"], "ts": round(start_us, 3), "dur": round(duration_us, 3),
                    "args": {
                        "provider": "bnfold", "implementation": step["implementation"],
                        "output_shape": step["output_shape"], "output_layout": step["output_layout"],
                        "median_ms": step["median_ms"], "mean_ms": step["mean_ms"],
                        "runs": plan["runs"], "input_shapes": shapes,
                    },
                })
                start_us += duration_us
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
        path = f"{self._sess_options.profile_file_prefix}_{stamp}.json"
        _write_atomically(path, json.dumps(events, indent=1), "w")
        return path

    # bnfold's own.
    def stats(self):
        """{"plans": compiled plans cached, "idle_contexts", "batchnorm_before", "batchnorm_after"}."""
        return self._session.stats()


def get_available_providers():
    return ["CPUExecutionProvider"]


def get_all_providers():
    return ["CPUExecutionProvider"]


def get_device():
    return "CPU"
