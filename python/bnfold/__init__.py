"""bnfold: an ONNX inference runtime for the CPU that folds BatchNormalization.

- onnxruntime's inference API: `import bnfold as ort` and code written for
  onnxruntime runs unchanged (InferenceSession, SessionOptions,
  GraphOptimizationLevel, NodeArg, get_available_providers, ...); see
  bnfold.session for the few differences.
- The folding toolkit: bnfold.optimize / verify / inspect return what the
  CLI prints with --json.

Errors raise bnfold.Error subclasses (InvalidArgument, InvalidModel,
Unsupported, NotFound, IoError, InternalError) whose messages are the CLI's:
the file, the node and the reason.
"""

from ._bnfold import (Error, InternalError, InvalidArgument, InvalidModel, IoError, NotFound,
                      Unsupported, __version__)
from .session import (ExecutionMode, GraphOptimizationLevel, InferenceSession, ModelMetadata,
                      NodeArg, RunOptions, SessionOptions, get_all_providers,
                      get_available_providers, get_device)
from .toolkit import available_passes, inspect, optimize, verify

# onnxruntime's exception names (onnxruntime.capi.onnxruntime_pybind11_state).
Fail = Error
InvalidGraph = InvalidModel
NotImplemented = Unsupported  # noqa: A001 -- onnxruntime's name
NoSuchFile = NotFound
RuntimeException = InternalError

__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "ExecutionMode",
    "NodeArg", "ModelMetadata", "get_available_providers", "get_all_providers", "get_device",
    "optimize", "verify", "inspect", "available_passes",
    "Error", "InvalidArgument", "InvalidModel", "Unsupported", "NotFound", "IoError",
    "InternalError", "__version__",
]
