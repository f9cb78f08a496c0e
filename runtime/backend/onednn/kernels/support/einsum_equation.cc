#include "runtime/backend/onednn/kernels/support/einsum_equation.h"

#include <algorithm>

#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

namespace {

int LetterLabel(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= 'A' && c <= 'Z') return c - 'A';
  return -1;
}

// One term's labels; `ellipsis_rank` axes for "..." (when present).
StatusOr<std::vector<int>> ParseTerm(const std::string& term, int64_t rank, bool is_output,
                                     int64_t max_ellipsis, int64_t* ellipsis_rank) {
  std::vector<int> labels;
  int64_t letters = 0;
  bool has_ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term.compare(i, 3, "...") == 0) {
      if (has_ellipsis) return InvalidArgument("term '" + term + "' has two ellipses");
      has_ellipsis = true;
      i += 2;
    } else if (LetterLabel(term[i]) >= 0) {
      ++letters;
    } else {
      return InvalidArgument("term '" + term + "' has the character '" + term[i] + "'");
    }
  }
  const int64_t ellipsis = is_output ? max_ellipsis : rank - letters;
  if (!is_output && (has_ellipsis ? ellipsis < 0 : ellipsis != 0)) {
    return InvalidArgument("term '" + term + "' does not match an input of rank " +
                           std::to_string(rank));
  }
  if (ellipsis_rank != nullptr) *ellipsis_rank = has_ellipsis ? ellipsis : 0;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term.compare(i, 3, "...") == 0) {
      // Right-aligned: this term's ellipsis axes are the last of the widest.
      for (int64_t e = 0; e < ellipsis; ++e) {
        labels.push_back(kEinsumEllipsisLabel + static_cast<int>(max_ellipsis - ellipsis + e));
      }
      i += 2;
    } else {
      labels.push_back(LetterLabel(term[i]));
    }
  }
  return labels;
}

}  // namespace

StatusOr<EinsumEquation> ParseEinsum(std::string equation,
                                     const std::vector<std::vector<int64_t>>& dims) {
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != dims.size()) {
    return InvalidArgument("the equation has " + std::to_string(terms.size()) +
                           " input terms for " + std::to_string(dims.size()) + " inputs");
  }
  // The widest ellipsis first, so every term can right-align to it.
  int64_t max_ellipsis = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t e = 0;
    RETURN_IF_ERROR(ParseTerm(terms[i], static_cast<int64_t>(dims[i].size()), false, 0, &e).status());
    max_ellipsis = std::max(max_ellipsis, e);
  }
  if (max_ellipsis > 64) return InvalidArgument("an ellipsis stands for more than 64 axes");
  EinsumEquation eq;
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t e = 0;
    ASSIGN_OR_RETURN(std::vector<int> labels,
                     ParseTerm(terms[i], static_cast<int64_t>(dims[i].size()), false, max_ellipsis, &e));
    eq.inputs.push_back(std::move(labels));
  }
  if (arrow != std::string::npos) {
    ASSIGN_OR_RETURN(eq.output,
                     ParseTerm(equation.substr(arrow + 2), 0, true, max_ellipsis, nullptr));
    std::vector<int> seen;
    for (int label : eq.output) {
      if (std::find(seen.begin(), seen.end(), label) != seen.end()) {
        return InvalidArgument("the output repeats a label");
      }
      bool in_inputs = false;
      for (const std::vector<int>& in : eq.inputs) {
        in_inputs = in_inputs || std::find(in.begin(), in.end(), label) != in.end();
      }
      if (!in_inputs) return InvalidArgument("an output label is in no input");
      seen.push_back(label);
    }
  } else {
    // Implicit output: the ellipsis axes, then the letters used once, in
    // alphabetical order.
    for (int64_t e = 0; e < max_ellipsis; ++e) eq.output.push_back(kEinsumEllipsisLabel + static_cast<int>(e));
    int counts[kEinsumEllipsisLabel] = {};
    for (const std::vector<int>& in : eq.inputs) {
      for (int label : in) {
        if (label < kEinsumEllipsisLabel) ++counts[label];
      }
    }
    for (int label = 0; label < kEinsumEllipsisLabel; ++label) {
      if (counts[label] == 1) eq.output.push_back(label);
    }
  }
  return eq;
}

}  // namespace bnfold::onednn
