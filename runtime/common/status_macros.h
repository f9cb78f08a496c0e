// Internal helpers to propagate a Status through the layers.
#pragma once

#include "bnfold/status.h"

#define BNFOLD_CONCAT_INNER(a, b) a##b
#define BNFOLD_CONCAT(a, b) BNFOLD_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::bnfold::Status _bnfold_status = (expr);        \
    if (!_bnfold_status.ok()) return _bnfold_status; \
  } while (false)

// `ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a StatusOr or returns
// its Status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(BNFOLD_CONCAT(_bnfold_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
