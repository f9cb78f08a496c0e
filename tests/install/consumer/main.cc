// Runs a model given on the command line through the installed library on
// the input -1, -0.5, 0, 0.5, 1, -1, ... and checks the sum of the first
// output against the value the caller expects (argv[2]).
#include <bnfold/session.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  auto session = bnfold::Session::Open(argv[1], {.threads = 1});
  if (!session.ok()) {
    std::fprintf(stderr, "%s\n", session.status().message().c_str());
    return 2;
  }
  const bnfold::TensorInfo& in = (*session)->inputs().at(0);
  std::vector<int64_t> shape;
  for (int64_t d : in.shape) shape.push_back(d < 0 ? 1 : d);
  auto input = bnfold::Tensor::Allocate(in.dtype, shape);
  if (!input.ok()) return 2;
  for (int64_t i = 0; i < input->num_elements(); ++i) input->SetFromDouble(i, -1.0 + 0.5 * (i % 5));
  std::vector<bnfold::NamedTensor> outputs;
  bnfold::Status status = (*session)->Run({{in.name, *input}}, &outputs);
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.message().c_str());
    return 2;
  }
  double got = 0.0;
  for (int64_t i = 0; i < outputs.at(0).tensor.num_elements(); ++i) {
    got += outputs[0].tensor.GetAsDouble(i);
  }
  const double want = std::atof(argv[2]);
  std::printf("sum(%s) = %g (expected %g)\n", outputs[0].name.c_str(), got, want);
  return std::fabs(got - want) <= 1e-6 ? 0 : 1;
}
