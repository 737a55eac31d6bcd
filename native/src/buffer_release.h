// Tensors made without a copy from a JS ArrayBuffer keep that buffer alive through a
// napi reference. libtorch may free the storage on any thread, but napi references may
// only be deleted on the JS thread, so the storage deleter queues the reference here
// and the JS thread drains the queue on its next call into the addon.
#pragma once

#include <napi.h>

namespace dtn {

void QueueBufferRelease(napi_env env, napi_ref ref);
void DrainBufferReleases(napi_env env);

}  // namespace dtn
