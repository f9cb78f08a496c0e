#include "runtime/backend/onednn/executor.h"

#include <chrono>

#include "runtime/backend/onednn/image_loop.h"
#include "runtime/backend/onednn/memory.h"
#include "runtime/common/status_macros.h"

namespace bnfold::onednn {

ExecState::ExecState(std::shared_ptr<const Plan> plan)
    : plan_(std::move(plan)), stream_(CpuEngine()) {
  arena_ = AllocateAligned(plan_->arena_bytes);
  scratchpad_ = AllocateAligned(plan_->scratchpad_bytes);
  std::vector<void*> pointers(plan_->values.size(), nullptr);
  for (size_t i = 0; i < plan_->values.size(); ++i) {
    const PlanValue& v = plan_->values[i];
    if (v.storage == PlanValue::Storage::kArena) {
      pointers[i] = static_cast<char*>(arena_.get()) + v.arena_offset;
    } else if (v.storage == PlanValue::Storage::kConstant) {
      pointers[i] = const_cast<void*>(v.constant_data());
    } else if (v.storage == PlanValue::Storage::kAlias) {
      pointers[i] = pointers[v.alias_of];  // placed before its views
    }
  }
  // The value whose storage `id` uses: itself, or the one it views.
  auto owner = [this](int id) -> const PlanValue& {
    const PlanValue& v = plan_->values[id];
    return v.storage == PlanValue::Storage::kAlias ? plan_->values[v.alias_of] : v;
  };
  // Each step's pointer arrays are fixed now; only fed inputs are patched
  // per run.
  for (size_t s = 0; s < plan_->steps.size(); ++s) {
    const PlanStep& step = plan_->steps[s];
    StepPointers sp;
    for (int id : step.inputs) {
      if (id >= 0 && owner(id).storage == PlanValue::Storage::kExternal) {
        input_patches_.push_back({s, sp.inputs.size(), owner(id).input_slot});
      }
      sp.inputs.push_back(id >= 0 ? pointers[id] : nullptr);
    }
    for (int id : step.outputs) sp.outputs.push_back(id >= 0 ? pointers[id] : nullptr);
    step_pointers_.push_back(std::move(sp));
    states_.push_back(step.kernel->CreateState(CpuEngine()));
  }
  for (int id : plan_->outputs) {
    const PlanValue& v = owner(id);
    output_pointers_.push_back(pointers[id]);
    output_slots_.push_back(v.storage == PlanValue::Storage::kExternal ? v.input_slot : -1);
  }
}

ExecState::~ExecState() = default;

Status ExecState::Run(const std::vector<const void*>& inputs) {
  if (inputs.size() != plan_->inputs.size()) {
    return Internal("ExecState::Run: wrong number of inputs");
  }
  for (const InputPatch& patch : input_patches_) {
    step_pointers_[patch.step].inputs[patch.index] = inputs[patch.slot];
  }
  for (size_t i = 0; i < output_slots_.size(); ++i) {
    if (output_slots_[i] >= 0) output_pointers_[i] = inputs[output_slots_[i]];
  }
  // The steps before the image loop, the loop image by image, the steps
  // after it (without a loop, all of them on the whole batch).
  const ImageLoop& loop = plan_->image_loop;
  const size_t steps = plan_->steps.size();
  const size_t begin = loop.active() ? loop.begin : steps, end = loop.active() ? loop.end : steps;
  const auto run_step = profiling_ ? &ExecState::RunStepProfiled : &ExecState::RunStep;
  if (profiling_) step_ms_.assign(steps, 0.0);
  for (size_t s = 0; s < begin; ++s) RETURN_IF_ERROR((this->*run_step)(s, 0));
  for (int64_t image = 0; image < loop.images; ++image) {
    for (size_t s = begin; s < end; ++s) RETURN_IF_ERROR((this->*run_step)(s, image));
  }
  for (size_t s = end; s < steps; ++s) RETURN_IF_ERROR((this->*run_step)(s, 0));
  stream_.wait();
  named_ = profiling_;
  return Status::Ok();
}

void ExecState::EnableProfiling() {
  profiling_ = true;
  step_implementations_.assign(plan_->steps.size(), "");
}

Status ExecState::RunStepProfiled(size_t s, int64_t image) {
  const bool name_it = !named_ && image == 0;
  std::vector<std::string> primitives;
  if (name_it) SetPrimitiveNameSink(&primitives);
  const auto start = std::chrono::steady_clock::now();
  Status status = RunStep(s, image);
  step_ms_[s] +=
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!name_it) return status;
  SetPrimitiveNameSink(nullptr);
  std::string& name = step_implementations_[s];
  name.clear();
  for (const std::string& p : primitives) {
    if (name.find(p) == std::string::npos) name += (name.empty() ? "" : ", ") + p;
  }
  if (name.empty()) {
    const char* own = plan_->steps[s].kernel->Implementation();
    name = own ? own : "bnfold";
  }
  return status;
}

// Runs step `s`; inside the image loop on image `image` of its inputs and
// outputs.
Status ExecState::RunStep(size_t s, int64_t image) {
  const PlanStep& step = plan_->steps[s];
  const StepPointers& sp = step_pointers_[s];
  PointerExecContext whole(sp.inputs.data(), sp.inputs.size(), sp.outputs.data(),
                           sp.outputs.size(), scratchpad_.get(), &stream_, states_[s].get());
  ImageContext one(whole, image, step.input_image_strides, step.output_image_strides,
                   states_[s].get());
  try {
    Status status = step.kernel->Execute(image > 0 ? static_cast<ExecContext&>(one) : whole);
    if (!status.ok()) return status.WithContext(step.label);
  } catch (const dnnl::error& e) {
    return Internal(step.label + ": oneDNN error: " + e.what());
  }
  return Status::Ok();
}

const void* ExecState::output(size_t i) const { return output_pointers_[i]; }

}  // namespace bnfold::onednn
