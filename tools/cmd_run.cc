// bnfold run MODEL [--input NAME=FILE]... [--random-inputs] [--batch N]
//                  [--seed S] [--threads T] [--no-optimize] [--output-dir DIR]
//                  [--strict] [--max-memory SIZE]
#include <sys/stat.h>

#include <iostream>

#include "bnfold/session.h"
#include "bnfold/tensor_io.h"
#include "tools/cli.h"

namespace bnfold::cli {

int RunCommand(const std::vector<std::string>& argv) {
  StatusOr<Args> args = Args::Parse(
      argv, {"--input", "--batch", "--seed", "--threads", "--output-dir", "--max-memory"},
      {"--random-inputs", "--no-optimize", "--strict", "--json"});
  if (!args.ok()) return ReportError("run", args.status());
  if (args->positional().size() != 1) {
    return ReportError("run", InvalidArgument("usage: bnfold run MODEL [--input NAME=FILE]... "
                                              "[--random-inputs] [--batch N] [--seed S] "
                                              "[--threads T] [--no-optimize] [--output-dir DIR] [--strict] "
                                              "[--max-memory SIZE]"));
  }
  StatusOr<int64_t> batch = args->GetInt("--batch", 1);
  StatusOr<int64_t> seed = args->GetInt("--seed", 0);
  StatusOr<int64_t> threads = args->GetInt("--threads", 0);
  for (const Status& s : {batch.status(), seed.status(), threads.status()}) {
    if (!s.ok()) return ReportError("run", s);
  }
  if (*batch < 1) return ReportError("run", InvalidArgument("--batch must be at least 1"));
  SessionOptions options;
  options.threads = static_cast<int>(*threads);
  options.optimize = !args->Has("--no-optimize");
  options.strict = args->Has("--strict");
  if (Status s = ApplyMaxMemory(*args, &options); !s.ok()) return ReportError("run", s);
  StatusOr<std::unique_ptr<Session>> session = Session::Open(args->positional()[0], options);
  if (!session.ok()) return ReportError("run", session.status());
  PrintWarnings("run", (*session)->warnings());

  StatusOr<std::vector<NamedTensor>> inputs = InputsFromFlags(args->GetAll("--input"));
  if (!inputs.ok()) return ReportError("run", inputs.status());
  if (args->Has("--random-inputs")) {
    StatusOr<std::vector<NamedTensor>> random =
        RandomInputs(**session, *batch, static_cast<uint64_t>(*seed));
    if (!random.ok()) return ReportError("run", random.status().WithContext(args->positional()[0]));
    for (NamedTensor& r : *random) {
      bool given = false;
      for (const NamedTensor& in : *inputs) given = given || in.name == r.name;
      if (!given) inputs->push_back(std::move(r));
    }
  }
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run(*inputs, &outputs);
  if (!status.ok()) return ReportError("run", status);

  const std::string dir = args->Get("--output-dir");
  if (!dir.empty()) {
    ::mkdir(dir.c_str(), 0755);
    for (size_t i = 0; i < outputs.size(); ++i) {
      Status written = WriteTensorFile(dir + "/output_" + std::to_string(i) + ".pb",
                                       outputs[i].name, outputs[i].tensor);
      if (!written.ok()) return ReportError("run", written);
    }
  }
  if (args->Has("--json")) {
    Json json;
    json.BeginObject().Key("outputs").BeginArray();
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& t = outputs[i].tensor;
      json.BeginObject().Key("name").String(outputs[i].name);
      json.Key("dtype").String(DataTypeName(t.dtype())).Key("shape").BeginArray();
      for (int64_t d : t.shape()) json.Int(d);
      json.EndArray().Key("values").BeginArray();
      for (int64_t k = 0; k < std::min<int64_t>(t.num_elements(), 16); ++k) {
        json.Number(t.GetAsDouble(k));
      }
      json.EndArray();
      if (!dir.empty()) json.Key("file").String(dir + "/output_" + std::to_string(i) + ".pb");
      json.EndObject();
    }
    json.EndArray().EndObject();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  for (const NamedTensor& out : outputs) {
    const Tensor& t = out.tensor;
    std::cout << out.name << ": " << DataTypeName(t.dtype()) << " " << ShapeToString(t.shape())
              << " [";
    for (int64_t k = 0; k < std::min<int64_t>(t.num_elements(), 8); ++k) {
      std::cout << (k ? ", " : "") << t.GetAsDouble(k);
    }
    std::cout << (t.num_elements() > 8 ? ", ...]" : "]") << "\n";
  }
  return kExitOk;
}

}  // namespace bnfold::cli
