// The ONNX backend test protocol on one case directory: model.onnx plus
// test_data_set_*/input_<i>.pb fed in graph-input order, outputs compared
// with output_<i>.pb like numpy's assert_allclose(rtol=1e-3, atol=1e-7).
// Used by `bnfold check-case` and by the conformance test.
#pragma once

#include <string>

namespace bnfold::cli {

struct CaseResult {
  std::string dir;
  std::string status;  // pass | fail | unsupported | error
  std::string reason;
  double max_abs_err = 0.0;
};

CaseResult RunBackendTestCase(const std::string& dir, bool optimize);

}  // namespace bnfold::cli
