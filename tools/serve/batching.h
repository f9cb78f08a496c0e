// Dynamic batching: requests to one model whose inputs differ only in their
// first dimension run as one batch, their rows concatenated, and each gets
// its rows of every output back (views of the batch's outputs, no copy).
//
// Only sound for models whose rows are independent (a per-sample network:
// no op mixes samples), which the server cannot check: batching is opt-in
// (`bnfold serve --max-batch N`), and only models that declare a free first
// dimension on every input and output take part. A batch whose outputs do
// not have the batch's rows as their first dimension is refused (the
// requests then run one by one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bnfold/session.h"
#include "bnfold/status.h"
#include "bnfold/tensor.h"

namespace bnfold::serve {

// Whether the model declares a free first dimension on every input and
// every output (a batch dimension); a model with a fixed first dimension
// somewhere is never batched.
bool BatchMajor(const Session& session);

// What requests must share to be batched: each input's name, type and dims
// after the first, and the outputs asked for; "" when the request cannot be
// batched (an input without dims, or inputs with different first dims).
// `rows` receives the first dim.
std::string BatchKey(const std::vector<NamedTensor>& feeds,
                     const std::vector<NamedTensor>& requested_outputs, int64_t* rows);

// The inputs of requests with the same key, concatenated along dim 0.
StatusOr<std::vector<NamedTensor>> ConcatenateRows(
    const std::vector<const std::vector<NamedTensor>*>& requests);

// Splits a batch's outputs by `rows` (the requests' row counts, in order)
// into views that keep the batch's buffers alive.
StatusOr<std::vector<std::vector<NamedTensor>>> SplitRows(std::vector<NamedTensor> outputs,
                                                          const std::vector<int64_t>& rows);

}  // namespace bnfold::serve
