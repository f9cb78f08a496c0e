// bnfold.optimize / verify / inspect: the CLI's subcommands as functions,
// returning the CLI's --json documents (tools/json_reports.h,
// tools/verify.h) for python/bnfold/toolkit.py to parse, so that the numbers
// are the CLI's to the last digit.
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bnfold/optimizer.h"
#include "bnfold/session.h"
#include "python/src/bindings.h"
#include "python/src/errors.h"
#include "python/src/numpy_tensor.h"
#include "tools/json_reports.h"
#include "tools/verify.h"

namespace py = pybind11;

namespace bnfold::python {

namespace {

// A model argument: a path (str) or a serialized ModelProto (bytes). The
// bytes view stays valid while `model` is alive, GIL or not.
struct ModelArg {
  explicit ModelArg(const py::object& model) {
    if (py::isinstance<py::bytes>(model)) {
      bytes = model.cast<std::string_view>();
      in_memory = true;
    } else {
      path = model.cast<std::string>();
    }
  }
  bool in_memory = false;
  std::string path;
  std::string_view bytes;
  std::string name() const { return in_memory ? "<memory>" : path; }
};

// (serialized optimized model, optimize --json)
py::tuple Optimize(const py::object& model, const std::string& output_path,
                   std::vector<std::string> passes) {
  const ModelArg arg(model);
  OptimizeOptions options;
  options.passes = std::move(passes);
  std::string optimized;
  StatusOr<OptimizeReport> report = Status(Internal("not run"));
  {
    py::gil_scoped_release release;
    if (arg.in_memory) {
      report = OptimizeModelBytes(arg.bytes, output_path, &optimized, options);
    } else if (output_path.empty()) {
      report = OptimizeModelToBytes(arg.path, &optimized, options);
    } else {
      report = OptimizeModel(arg.path, output_path, options);
    }
  }
  const OptimizeReport r = ValueOrThrow(std::move(report));
  py::object bytes = py::none();
  if (!optimized.empty()) bytes = py::bytes(optimized);
  return py::make_tuple(bytes, cli::OptimizeJson(output_path, r));
}

std::string Inspect(const py::object& model, std::vector<std::string> passes) {
  const ModelArg arg(model);
  InspectOptions options;
  options.passes = std::move(passes);
  StatusOr<ModelInfo> info = Status(Internal("not run"));
  {
    py::gil_scoped_release release;
    info = arg.in_memory ? InspectModelBytes(arg.bytes, options) : InspectModel(arg.path, options);
  }
  return cli::InspectJson(arg.name(), ValueOrThrow(std::move(info)));
}

std::string Verify(const py::object& model, const py::dict& inputs, bool random_inputs,
                   int64_t batch, int64_t seeds, double rtol, double atol,
                   std::vector<std::string> passes, int threads) {
  const ModelArg arg(model);
  std::vector<Feed> held;
  for (auto item : inputs) {
    held.push_back(MakeFeed(py::str(item.first).cast<std::string>(), item.second,
                            DataType::kUndefined));
  }
  std::vector<NamedTensor> given;
  for (const Feed& f : held) given.push_back(f.tensor);
  SessionOptions options;
  options.threads = threads;
  options.passes = std::move(passes);
  const cli::VerifySettings settings{batch, seeds, rtol, atol};
  const cli::SessionOpener open = [&arg](const SessionOptions& o) {
    return arg.in_memory ? Session::OpenFromBytes(arg.bytes, o) : Session::Open(arg.path, o);
  };
  StatusOr<cli::VerifyResult> result = Status(Internal("not run"));
  {
    py::gil_scoped_release release;
    result = cli::VerifyModel(open, options, given, random_inputs, settings, arg.name());
  }
  return cli::VerifyJson(ValueOrThrow(std::move(result)), settings);
}

}  // namespace

void BindToolkit(py::module_& m) {
  m.def("available_passes", &AvailablePasses,
        "Names of the graph passes, in the order the default pipeline runs them.");
  m.def("optimize", &Optimize, py::arg("model"), py::arg("output_path"), py::arg("passes"));
  m.def("inspect", &Inspect, py::arg("model"), py::arg("passes"));
  m.def("verify", &Verify, py::arg("model"), py::arg("inputs"), py::arg("random_inputs"),
        py::arg("batch"), py::arg("seeds"), py::arg("rtol"), py::arg("atol"), py::arg("passes"),
        py::arg("threads"));
}

}  // namespace bnfold::python
