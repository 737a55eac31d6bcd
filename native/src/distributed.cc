// Multi-process training on PyTorch's own c10d: one process group per process (like
// torch.distributed's default group), a c10d::TCPStore for the rendezvous and
// c10d::ProcessGroupGloo (CPU tensors) or c10d::ProcessGroupNCCL (CUDA tensors) for the
// collectives, as torch.distributed picks them. Every call blocks the calling thread until its
// collective is done (training is synchronous anyway) and turns failures -- a peer that died,
// a timeout, a store that never filled -- into JS Errors; the timeouts given to distInit bound
// how long a rank waits for a dead peer.
//
// Built when libtorch ships c10d (DETECTRON_WITH_C10D, set by CMakeLists.txt) with Gloo's
// headers (DETECTRON_WITH_GLOO) and/or NCCL's (DETECTRON_WITH_NCCL, CUDA builds of libtorch
// only); otherwise the bindings exist and throw, so that the addon builds everywhere.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "ops.h"
#include "tensor_handle.h"

#ifdef DETECTRON_WITH_C10D
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef DETECTRON_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DETECTRON_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
// c10d::Reducer (DistributedDataParallel's C++ core) with the constructor of libtorch 1.13, the
// version Debian and Ubuntu ship; other versions changed it, and fall back to all-reducing
// after backward (lib/utils/distributed.ts).
#if TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR == 13
#define DETECTRON_WITH_REDUCER
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif
#endif

namespace dtn {

namespace {

#ifdef DETECTRON_WITH_C10D

// The class both process groups derive from: c10d::ProcessGroup up to libtorch 1.13,
// c10d::Backend (wrapped by a ProcessGroup) from 2.0.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Collectives> pg;
  // "gloo" (CPU tensors) or "nccl" (CUDA tensors).
  std::string backend;
#ifdef DETECTRON_WITH_REDUCER
  // Declared after pg so that it is destroyed first (it holds the group and autograd hooks).
  std::unique_ptr<c10d::Reducer> reducer;
#endif
  int rank = 0;
  int size = 1;
  std::string device;
};

std::unique_ptr<Group> g_group;

Group& Current(const char* what) {
  if (!g_group) throw std::runtime_error(std::string(what) + ": no process group (call initProcessGroup first)");
  return *g_group;
}

#ifdef DETECTRON_WITH_GLOO
bool IsLoopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// The Gloo device: GLOO_SOCKET_IFNAME's interface when set (as torch.distributed does), the
// loopback address for a single-machine job, else the default (this host's address).
std::shared_ptr<::gloo::transport::Device> MakeDevice(const std::string& master, std::string* description) {
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname != nullptr && ifname[0] != '\0') {
    std::string first(ifname);
    first = first.substr(0, first.find(','));
    *description = "interface " + first;
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  if (IsLoopback(master)) {
    *description = "hostname " + master;
    return c10d::ProcessGroupGloo::createDeviceForHostname(master);
  }
  *description = "default";
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

c10::intrusive_ptr<Collectives> MakeGloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                         const std::string& addr, std::chrono::milliseconds timeout,
                                         std::string* description) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(MakeDevice(addr, description));
  options->threads = 2;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
}
#endif

#ifdef DETECTRON_WITH_NCCL
// NCCL finds its transport itself (NCCL_SOCKET_IFNAME and friends, as under torchrun); each
// rank's CUDA device is the one its tensors live on.
c10::intrusive_ptr<Collectives> MakeNccl(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                         std::chrono::milliseconds timeout, std::string* description) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  *description = "NCCL " + std::to_string(NCCL_MAJOR) + "." + std::to_string(NCCL_MINOR) + "." + std::to_string(NCCL_PATCH);
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
}
#endif

c10::intrusive_ptr<Collectives> MakeCollectives(const std::string& backend, const c10::intrusive_ptr<c10d::Store>& store,
                                                int rank, int size, const std::string& addr,
                                                std::chrono::milliseconds timeout, std::string* description) {
#ifdef DETECTRON_WITH_GLOO
  if (backend == "gloo") return MakeGloo(store, rank, size, addr, timeout, description);
#endif
#ifdef DETECTRON_WITH_NCCL
  if (backend == "nccl") return MakeNccl(store, rank, size, timeout, description);
#endif
  if (backend != "gloo" && backend != "nccl") throw std::runtime_error("backend '" + backend + "': expected gloo or nccl");
  throw std::runtime_error("this addon was built without " + backend +
                           (backend == "nccl" ? " (it needs a CUDA libtorch built with NCCL, and nccl.h)"
                                              : " (apt-get install libgloo-dev, then rebuild)"));
}

void Wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string(what) + " failed: " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string(what) + " failed: " + e.what());
  }
}

// distInit(rank, worldSize, masterAddr, masterPort, timeoutMs, backend): the TCPStore (rank 0
// serves it) and the process group ("gloo" or "nccl"); returns a description of its transport.
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  Args a(info);
  if (g_group) throw std::runtime_error("initProcessGroup: a process group already exists (destroy it first)");
  int rank = static_cast<int>(a.Int(0));
  int size = static_cast<int>(a.Int(1));
  std::string addr = a.String(2);
  int64_t port = a.Int(3);
  auto timeout = std::chrono::milliseconds(a.Int(4));
  std::string backend = a.String(5);
  if (size < 1 || rank < 0 || rank >= size) {
    throw std::runtime_error("initProcessGroup: rank " + std::to_string(rank) + " outside world size " + std::to_string(size));
  }
  if (port <= 0 || port > 65535) throw std::runtime_error("initProcessGroup: bad port " + std::to_string(port));
  auto group = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(port);
    opts.isServer = rank == 0;
    opts.numWorkers = static_cast<std::size_t>(size);
    opts.waitWorkers = true;
    opts.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(addr, opts);
    group->store = c10::make_intrusive<c10d::PrefixStore>("detectron", tcp);
    group->pg = MakeCollectives(backend, group->store, rank, size, addr, timeout, &group->device);
  } catch (const c10::Error& e) {
    throw std::runtime_error("initProcessGroup (rank " + std::to_string(rank) + ", " + addr + ":" + std::to_string(port) +
                             "): " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw std::runtime_error("initProcessGroup (rank " + std::to_string(rank) + ", " + addr + ":" + std::to_string(port) +
                             "): " + e.what());
  }
  group->backend = backend;
  group->rank = rank;
  group->size = size;
  std::string device = group->device;
  g_group = std::move(group);
  return Napi::String::New(info.Env(), device);
}

// Runs `op` on one flat buffer per dtype holding all of `tensors`, then copies the results
// back: one collective per dtype instead of one per tensor (DDP's buckets, as one bucket).
template <typename Op>
void Flat(std::vector<at::Tensor>& tensors, Op op) {
  std::vector<at::ScalarType> types;
  for (const auto& t : tensors) {
    if (std::find(types.begin(), types.end(), t.scalar_type()) == types.end()) types.push_back(t.scalar_type());
  }
  for (at::ScalarType type : types) {
    std::vector<at::Tensor> group;
    std::vector<at::Tensor> views;
    for (auto& t : tensors) {
      if (t.scalar_type() != type) continue;
      group.push_back(t);
      views.push_back(t.detach().reshape({-1}));
    }
    at::Tensor flat = views.size() == 1 ? views[0].clone() : at::cat(views);
    std::vector<at::Tensor> io{flat};
    op(io);
    int64_t offset = 0;
    for (auto& t : group) {
      int64_t n = t.numel();
      at::NoGradGuard no_grad;
      t.detach().copy_(flat.narrow(0, offset, n).view(t.sizes()));
      offset += n;
    }
  }
}

// The tensors of argument i, which must live where the group's backend works: Gloo on CPU
// tensors, NCCL on CUDA tensors.
std::vector<at::Tensor> GroupTensors(const Group& g, const Args& a, size_t i, const char* what) {
  std::vector<at::Tensor> ts = a.Tensors(i);
  bool cuda = g.backend == "nccl";
  for (const auto& t : ts) {
    if (t.device().is_cuda() != cuda) {
      throw std::runtime_error(std::string(what) + ": the " + g.backend + " process group takes " +
                               (cuda ? "CUDA" : "CPU") + " tensors, got one on " + t.device().str());
    }
  }
  return ts;
}

// distAllReduce(tensors): sums each tensor over the ranks, in place.
Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  Args a(info);
  Group& g = Current("allReduce");
  std::vector<at::Tensor> ts = GroupTensors(g, a, 0, "allReduce");
  Flat(ts, [&](std::vector<at::Tensor>& io) {
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    Wait(g.pg->allreduce(io, opts), "allReduce");
  });
  return info.Env().Undefined();
}

// distBroadcast(tensors, root): every rank's tensors become root's, in place.
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  Args a(info);
  Group& g = Current("broadcast");
  std::vector<at::Tensor> ts = GroupTensors(g, a, 0, "broadcast");
  int64_t root = a.Has(1) ? a.Int(1) : 0;
  if (root < 0 || root >= g.size) throw std::runtime_error("broadcast: root " + std::to_string(root) + " outside the group");
  Flat(ts, [&](std::vector<at::Tensor>& io) {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.rootTensor = 0;
    Wait(g.pg->broadcast(io, opts), "broadcast");
  });
  return info.Env().Undefined();
}

Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  Group& g = Current("barrier");
  Wait(g.pg->barrier(), "barrier");
  return info.Env().Undefined();
}

// distDestroy(): drops the process group and the store (no-op without one).
Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  g_group.reset();
  return info.Env().Undefined();
}

#ifdef DETECTRON_WITH_REDUCER

// distReducerCreate(params, bucketBytes, firstBucketBytes): DDP's reducer over the trainable
// parameters, in buckets laid out as DistributedDataParallel does (reverse order of
// registration, which is roughly the order backward produces gradients). Once a backward is
// announced with distReducerPrepare, each bucket is all-reduced (and divided by the world
// size) as soon as its last gradient is accumulated, overlapping communication with the rest
// of backward; at the end of backward every parameter's .grad holds the mean over ranks.
// Unused parameters are found by walking the graph from the loss (find_unused_parameters):
// a branch may see no input on one rank (no foreground RoI for the mask head).
Napi::Value DistReducerCreate(const Napi::CallbackInfo& info) {
  Args a(info);
  Group& g = Current("reducer");
  std::vector<at::Tensor> params = GroupTensors(g, a, 0, "reducer");
  int64_t cap = a.Int(1);
  int64_t first = a.Int(2);
  if (params.empty()) throw std::runtime_error("reducer: no trainable parameters");
  for (const auto& p : params) {
    if (!p.requires_grad()) throw std::runtime_error("reducer: every parameter given must require grad");
  }
  std::vector<bool> sparse(params.size(), false);
  std::vector<std::vector<size_t>> buckets;
  std::vector<size_t> limits;
  std::tie(buckets, limits) = c10d::compute_bucket_assignment_by_size(
      params, {static_cast<size_t>(first), static_cast<size_t>(cap)}, sparse);
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  g.reducer.reset();
  g.reducer = std::make_unique<c10d::Reducer>(params, buckets, limits, g.pg, sparse, cap,
                                              /*find_unused_parameters=*/true, /*gradient_as_bucket_view=*/false,
                                              std::unordered_map<size_t, std::string>(), first);
  return Napi::Number::New(info.Env(), static_cast<double>(buckets.size()));
}

// distReducerPrepare(outputs): the next backward (from `outputs`) reduces gradients. Without
// this call a backward only accumulates locally (gradient accumulation, DDP's no_sync).
Napi::Value DistReducerPrepare(const Napi::CallbackInfo& info) {
  Args a(info);
  Group& g = Current("reducer");
  if (!g.reducer) throw std::runtime_error("reducer: none created (distReducerCreate)");
  std::vector<at::Tensor> outputs = a.Tensors(0);
  try {
    g.reducer->prepare_for_backward(outputs);
  } catch (const c10::Error& e) {
    throw std::runtime_error(std::string("reducer: ") + e.what_without_backtrace());
  }
  return info.Env().Undefined();
}

#else

Napi::Value DistReducerCreate(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value DistReducerPrepare(const Napi::CallbackInfo& info) {
  throw std::runtime_error("reducer: this libtorch's c10d::Reducer is not bound (libtorch " TORCH_VERSION ")");
}

#endif

// distInfo(): {available, backends, initialized, rank, worldSize, backend, device, reducer}
Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", true);
  Napi::Array backends = Napi::Array::New(info.Env());
#ifdef DETECTRON_WITH_GLOO
  backends.Set(backends.Length(), "gloo");
#endif
#ifdef DETECTRON_WITH_NCCL
  backends.Set(backends.Length(), "nccl");
#endif
  o.Set("backends", backends);
  o.Set("initialized", g_group != nullptr);
  o.Set("backend", g_group ? g_group->backend : std::string());
  o.Set("rank", g_group ? g_group->rank : 0);
  o.Set("worldSize", g_group ? g_group->size : 1);
  o.Set("device", g_group ? g_group->device : std::string());
#ifdef DETECTRON_WITH_REDUCER
  o.Set("reducer", true);
#else
  o.Set("reducer", false);
#endif
  return o;
}

#else  // !DETECTRON_WITH_C10D

Napi::Value Unavailable(const Napi::CallbackInfo& info) {
  throw std::runtime_error("this addon was built without c10d (libtorch's distributed headers, or Gloo's, were not found)");
}

Napi::Value DistInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", false);
  o.Set("backends", Napi::Array::New(info.Env()));
  o.Set("initialized", false);
  o.Set("backend", "");
  o.Set("rank", 0);
  o.Set("worldSize", 1);
  o.Set("device", "");
  o.Set("reducer", false);
  return o;
}

#define DistInit Unavailable
#define DistReducerCreate Unavailable
#define DistReducerPrepare Unavailable
#define DistAllReduce Unavailable
#define DistBroadcast Unavailable
#define DistBarrier Unavailable
Napi::Value DistDestroy(const Napi::CallbackInfo& info) { return info.Env().Undefined(); }

#endif

}  // namespace

void RegisterDistributed(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "distInit", DistInit);
  Export(env, exports, "distAllReduce", DistAllReduce);
  Export(env, exports, "distBroadcast", DistBroadcast);
  Export(env, exports, "distBarrier", DistBarrier);
  Export(env, exports, "distDestroy", DistDestroy);
  Export(env, exports, "distReducerCreate", DistReducerCreate);
  Export(env, exports, "distReducerPrepare", DistReducerPrepare);
  Export(env, exports, "distInfo", DistInfo);
}

}  // namespace dtn
