// Compile cost linear in graph size (issue 15), without timing anything:
// load + optimize + compile + run once graphs of N and 4N nodes through the
// Session API and compare the work counted by the loops that must stay
// linear (runtime/common/work_counter.h). Linear work grows 4x, quadratic
// work 16x; the bound is 6x. The counts do not depend on the machine's load,
// so the test cannot flake on a busy machine.
//
// The outputs are checked against values computed here, so the big plans
// (arena placed best-fit above kGreedyArenaValues) are proven right too.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "passes/pass.h"
#include "runtime/common/work_counter.h"
#include "runtime/constant_evaluator.h"
#include "runtime/onnx/loader.h"
#include "tests/test_util/scale_graphs.h"

namespace bnfold {
namespace {

using testing::ScaleGraph;

const std::vector<float> kX = {-1.0f, -0.5f, -0.25f, 0.0f, 0.125f, 0.5f, 1.0f, 2.0f};

// What y should be for input kX, computed as the graph does, in float.
std::vector<float> Expected(ScaleGraph kind, int64_t n) {
  std::vector<float> y = kX;
  for (float& v : y) {
    if (kind == ScaleGraph::kRelu) {
      v = std::max(v, 0.0f);
    } else if (kind == ScaleGraph::kAdd) {
      for (int64_t i = 0; i < n; ++i) v += static_cast<float>(1e-3 * static_cast<double>(i % 7 - 3));
    } else {
      v = std::max(v, 0.0f) * static_cast<float>(n / 2);  // sums of equal terms: exact
    }
  }
  return y;
}

// The compile work of one end-to-end run (open, optimize, compile, run
// once) of `kind` at size n; checks the output.
uint64_t EndToEndWork(ScaleGraph kind, int64_t n) {
  const std::string bytes = testing::ScaleGraphBytes(kind, n);
  const uint64_t before = CompileWork();
  SessionOptions options;
  options.threads = 1;
  StatusOr<std::unique_ptr<Session>> session = Session::OpenFromBytes(bytes, options);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return 0;
  StatusOr<Tensor> x = Tensor::Allocate(DataType::kFloat, {1, 8});
  EXPECT_TRUE(x.ok());
  std::copy(kX.begin(), kX.end(), static_cast<float*>(x->data()));
  std::vector<NamedTensor> outputs;
  Status status = (*session)->Run({{"x", std::move(*x)}}, &outputs);
  EXPECT_TRUE(status.ok()) << status.ToString();
  const uint64_t work = CompileWork() - before;
  if (!status.ok() || outputs.size() != 1) return work;
  const std::vector<float> expected = Expected(kind, n);
  const float* y = static_cast<const float*>(outputs[0].tensor.data());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(y[i], expected[i], 1e-4f * std::max(1.0f, std::fabs(expected[i])))
        << testing::ScaleGraphName(kind) << " " << n << " element " << i;
  }
  return work;
}

class ScaleWorkTest : public ::testing::TestWithParam<ScaleGraph> {};

TEST_P(ScaleWorkTest, WorkGrowsLinearlyFromNTo4N) {
  // Both sizes above kGreedyArenaValues: the same placement on both.
  constexpr int64_t kN = 5000;
  const uint64_t small = EndToEndWork(GetParam(), kN);
  const uint64_t large = EndToEndWork(GetParam(), 4 * kN);
  // Every node is sorted and every value placed at least once.
  EXPECT_GE(small, static_cast<uint64_t>(kN));
  EXPECT_LE(large, 6 * small) << "work " << small << " at N = " << kN << ", " << large
                              << " at 4N: grows faster than the graph";
}

INSTANTIATE_TEST_SUITE_P(Graphs, ScaleWorkTest,
                         ::testing::Values(ScaleGraph::kRelu, ScaleGraph::kAdd, ScaleGraph::kWide),
                         [](const auto& info) { return testing::ScaleGraphName(info.param); });

// The default pipeline sorts the graph a bounded number of times, the same
// for N and 4N nodes (a sort per pass that changed something at most, not
// one per node or per rewrite).
TEST(ScaleWorkTest, PipelineSortsABoundedNumberOfTimes) {
  std::vector<size_t> sorts;
  for (int64_t n : {1000, 4000}) {
    StatusOr<onnx_io::LoadedModel> loaded = onnx_io::LoadModelBytes(
        testing::ScaleGraphBytes(ScaleGraph::kAdd, n), "", "add");
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ir::Graph& graph = *loaded->model.graph;
    const size_t after_load = graph.sort_count();
    StatusOr<passes::PassManager> manager =
        passes::PassManager::Create({}, RuntimePassOptions());
    ASSERT_TRUE(manager.ok()) << manager.status().ToString();
    ASSERT_TRUE(manager->Run(graph, nullptr).ok());
    sorts.push_back(graph.sort_count() - after_load);
  }
  EXPECT_EQ(sorts[0], sorts[1]);
  // Nothing in this graph for the passes to rewrite: the loader's sort stands.
  EXPECT_EQ(sorts[0], 0u);
}

}  // namespace
}  // namespace bnfold
