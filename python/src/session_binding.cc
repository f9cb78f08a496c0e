// bnfold._bnfold.Session: the C++ Session for the Python InferenceSession
// (python/bnfold/session.py), which adds onnxruntime's names around it.
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "python/src/bindings.h"
#include "python/src/errors.h"
#include "python/src/numpy_tensor.h"

namespace py = pybind11;

namespace bnfold::python {

namespace {

SessionOptions MakeOptions(int threads, bool optimize, bool fuse, bool profile,
                           std::vector<std::string> passes,
                           std::optional<uint64_t> max_memory_bytes) {
  SessionOptions options;
  if (max_memory_bytes) options.max_memory_bytes = *max_memory_bytes;
  options.threads = threads;
  options.optimize = optimize;
  options.fuse = fuse;
  options.profile = profile;
  options.passes = std::move(passes);
  return options;
}

// (name, "tensor(float)", [dims: int, or str for a symbolic dim, or None])
py::tuple DescribeTensor(const TensorInfo& info) {
  py::list shape;
  for (size_t i = 0; i < info.shape.size(); ++i) {
    const std::string& symbol = i < info.dim_names.size() ? info.dim_names[i] : std::string();
    if (info.shape[i] >= 0) {
      shape.append(info.shape[i]);
    } else if (!symbol.empty()) {
      shape.append(symbol);
    } else {
      shape.append(py::none());
    }
  }
  return py::make_tuple(info.name, std::string("tensor(") + DataTypeName(info.dtype) + ")",
                        shape);
}

py::list DescribeTensors(const std::vector<TensorInfo>& infos) {
  py::list out;
  for (const TensorInfo& info : infos) out.append(DescribeTensor(info));
  return out;
}

class PySession {
 public:
  PySession(py::object model, int threads, bool optimize, bool fuse, bool profile,
            std::vector<std::string> passes, std::optional<uint64_t> max_memory_bytes) {
    const SessionOptions options =
        MakeOptions(threads, optimize, fuse, profile, std::move(passes), max_memory_bytes);
    StatusOr<std::unique_ptr<Session>> session = Status(Internal("not opened"));
    if (py::isinstance<py::bytes>(model)) {
      // The bytes stay alive (and immutable) in `model` while the GIL is
      // released; no copy.
      const std::string_view bytes = model.cast<std::string_view>();
      py::gil_scoped_release release;
      session = Session::OpenFromBytes(bytes, options);
    } else {
      const std::string path = model.cast<std::string>();
      py::gil_scoped_release release;
      session = Session::Open(path, options);
    }
    session_ = ValueOrThrow(std::move(session));
    for (const TensorInfo& info : session_->inputs()) input_types_[info.name] = info.dtype;
    for (const TensorInfo& info : session_->overridable_initializers()) {
      input_types_[info.name] = info.dtype;
    }
  }

  py::list Inputs() const { return DescribeTensors(session_->inputs()); }
  py::list Outputs() const { return DescribeTensors(session_->outputs()); }
  py::list Overridable() const { return DescribeTensors(session_->overridable_initializers()); }

  py::dict Metadata() const {
    const ModelMetadata& m = session_->metadata();
    py::dict custom;
    for (const auto& [key, value] : m.custom) custom[py::str(key)] = value;
    py::dict out;
    out["producer_name"] = m.producer_name;
    out["producer_version"] = m.producer_version;
    out["domain"] = m.domain;
    out["version"] = m.model_version;
    out["description"] = m.description;
    out["graph_name"] = m.graph_name;
    out["graph_description"] = m.graph_description;
    out["custom_metadata_map"] = custom;
    return out;
  }

  // `output_names`: None or empty for every output, in graph order.
  py::list Run(py::object output_names, py::dict feeds) const {
    std::vector<Feed> held;
    held.reserve(feeds.size());
    for (auto item : feeds) {
      const std::string name = py::str(item.first).cast<std::string>();
      auto it = input_types_.find(name);
      held.push_back(MakeFeed(name, item.second,
                              it == input_types_.end() ? DataType::kUndefined : it->second));
    }
    std::vector<NamedTensor> inputs;
    inputs.reserve(held.size());
    for (const Feed& f : held) inputs.push_back(f.tensor);
    std::vector<NamedTensor> outputs;
    if (!output_names.is_none()) {
      for (py::handle n : output_names) outputs.push_back({py::str(n).cast<std::string>(), Tensor()});
    }
    Status status;
    {
      py::gil_scoped_release release;
      status = session_->Run(inputs, &outputs);
    }
    ThrowIfError(status);
    py::list result;
    for (NamedTensor& out : outputs) result.append(ToNumpy(std::move(out.tensor)));
    return result;
  }

  py::list TakeProfile() const {
    std::vector<PlanProfile> profiles;
    {
      py::gil_scoped_release release;
      profiles = session_->TakeProfile();
    }
    py::list out;
    for (const PlanProfile& plan : profiles) {
      py::list inputs, steps;
      for (const TensorInfo& in : plan.inputs) inputs.append(DescribeTensor(in));
      for (const StepProfile& step : plan.steps) {
        py::dict s;
        s["label"] = step.label;
        s["implementation"] = step.implementation;
        s["output_shape"] = step.output_shape;
        s["output_layout"] = step.output_layout;
        s["median_ms"] = step.median_ms;
        s["mean_ms"] = step.mean_ms;
        steps.append(s);
      }
      py::dict p;
      p["inputs"] = inputs;
      p["runs"] = plan.runs;
      p["steps"] = steps;
      out.append(p);
    }
    return out;
  }

  py::dict Stats() const {
    const SessionStats stats = session_->stats();
    py::dict out;
    out["plans"] = stats.plans;
    out["idle_contexts"] = stats.idle_contexts;
    out["batchnorm_before"] = session_->batchnorm_count_before();
    out["batchnorm_after"] = session_->batchnorm_count_after();
    return out;
  }

 private:
  std::unique_ptr<Session> session_;
  std::unordered_map<std::string, DataType> input_types_;
};

}  // namespace

void BindSession(py::module_& m) {
  py::class_<PySession>(m, "Session")
      .def(py::init<py::object, int, bool, bool, bool, std::vector<std::string>,
                    std::optional<uint64_t>>(),
           py::arg("model"), py::arg("threads") = 0, py::arg("optimize") = true,
           py::arg("fuse") = true, py::arg("profile") = false,
           py::arg("passes") = std::vector<std::string>(),
           py::arg("max_memory_bytes") = std::nullopt)
      .def("inputs", &PySession::Inputs)
      .def("outputs", &PySession::Outputs)
      .def("overridable_initializers", &PySession::Overridable)
      .def("metadata", &PySession::Metadata)
      .def("run", &PySession::Run, py::arg("output_names"), py::arg("feeds"))
      .def("take_profile", &PySession::TakeProfile)
      .def("stats", &PySession::Stats);

  m.def(
      "_feed", [](const std::string& name, py::handle value, const std::string& type) {
        DataType expected = DataType::kUndefined;
        if (!type.empty()) expected = TypeOfNumpy(py::dtype(type));
        Feed feed = MakeFeed(name, value, expected);
        return py::make_tuple(reinterpret_cast<uintptr_t>(feed.tensor.tensor.data()), feed.copied);
      },
      "For tests: (address of the buffer a run would read, whether it is a copy).");
}

}  // namespace bnfold::python
