// Stand-in for a header that Debian's libtorch-dev does not ship (it packages
// torch/csrc/distributed/c10d but not torch/csrc/distributed/autograd), used only when the real
// one is missing (native/CMakeLists.txt). c10d/reducer.hpp, which distributed.cc includes for
// c10d::Reducer, needs two names from it: the context type, held by pointer only, and its
// gradient callback type, which reducer.hpp checks against its own. The addon never creates,
// sizes or calls into a context, so nothing here can disagree with libtorch's definition.
#pragma once

#include <functional>
#include <memory>

#include <ATen/core/Tensor.h>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace autograd
}  // namespace distributed
}  // namespace torch
