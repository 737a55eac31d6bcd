// Every binding runs its body through Guarded(), so that a libtorch error (a bad shape,
// a dtype mismatch, an unsupported device) becomes a JS Error carrying libtorch's own
// message instead of terminating the process.
#pragma once

#include <c10/util/Exception.h>
#include <napi.h>

#include <stdexcept>
#include <string>

namespace dtn {

template <typename Fn>
Napi::Value Guarded(const Napi::CallbackInfo& info, Fn&& fn) {
  Napi::Env env = info.Env();
  try {
    return fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}

// Registers `fn` under `name` on `exports`, wrapped in Guarded().
template <typename Fn>
void Export(Napi::Env env, Napi::Object exports, const char* name, Fn fn) {
  exports.Set(name, Napi::Function::New(
                        env, [fn](const Napi::CallbackInfo& info) { return Guarded(info, fn); }, name));
}

}  // namespace dtn
