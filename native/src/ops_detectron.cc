#include "ops.h"
namespace dtn {
void RegisterDetectronOps(Napi::Env, Napi::Object) {}
}  // namespace dtn
