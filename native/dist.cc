// Distributed data parallelism on PyTorch's own c10d: TCPStore rendezvous and the Gloo (CPU) or
// NCCL (CUDA) process group; no collective code of our own. One file holds every c10d call, so the
// libtorch 1.13 / 2.x difference (ProcessGroupGloo is a ProcessGroup in 1.13, a Backend in 2.x)
// stays here: both expose the same collective methods on the backend object, which is what we hold.
//
// Ordering: every rank must issue collectives in the same order. They are enqueued on the JS main
// thread, in call order (enqueueing does not block: Gloo runs the collective on its own threads);
// only the wait for completion runs on the libuv pool, so JS gets a promise and the thread stays free.
#include "common.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#if defined(SDD_WITH_GLOO)
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if defined(SDD_WITH_NCCL)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace sdd {
namespace {

#if defined(SDD_WITH_GLOO)
using WorkPtr = c10::intrusive_ptr<c10d::Work>;

// A process group: the store it met its peers through and the backend that runs the collectives.
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  std::string backend;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
  void* owner = nullptr;  // the napi_env that created it
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#if defined(SDD_WITH_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  WorkPtr allreduce(std::vector<at::Tensor>& t, const c10d::AllreduceOptions& o) {
#if defined(SDD_WITH_NCCL)
    if (nccl) return nccl->allreduce(t, o);
#endif
    return gloo->allreduce(t, o);
  }
  WorkPtr broadcast(std::vector<at::Tensor>& t, const c10d::BroadcastOptions& o) {
#if defined(SDD_WITH_NCCL)
    if (nccl) return nccl->broadcast(t, o);
#endif
    return gloo->broadcast(t, o);
  }
  WorkPtr allgather(std::vector<std::vector<at::Tensor>>& out, std::vector<at::Tensor>& in) {
#if defined(SDD_WITH_NCCL)
    if (nccl) return nccl->allgather(out, in);
#endif
    return gloo->allgather(out, in);
  }
  WorkPtr reduceScatter(std::vector<at::Tensor>& out, std::vector<std::vector<at::Tensor>>& in, const c10d::ReduceScatterOptions& o) {
#if defined(SDD_WITH_NCCL)
    if (nccl) return nccl->reduce_scatter(out, in, o);
#endif
    return gloo->reduce_scatter(out, in, o);
  }
  WorkPtr barrier() {
#if defined(SDD_WITH_NCCL)
    if (nccl) return nccl->barrier();
#endif
    return gloo->barrier();
  }
};

// Groups by id. Process-wide (a group is shared by the threads of a process, like torch's default
// group); destroyed by destroyProcessGroup or, at the latest, when the last environment shuts down.
std::mutex groupsMutex;
std::map<int, std::shared_ptr<Group>> groups;
int nextGroupId = 1;

// The live group with this id, or null.
std::shared_ptr<Group> FindGroup(int id) {
  std::lock_guard<std::mutex> lock(groupsMutex);
  auto it = groups.find(id);
  return it == groups.end() ? nullptr : it->second;
}

std::shared_ptr<Group> GetGroup(const Napi::Value& v) {
  auto g = FindGroup(static_cast<int>(ToInt(v, "process group")));
  if (!g)
    throw Napi::Error::New(v.Env(), "the process group was destroyed (destroyProcessGroup) or never initialised: call dist.initProcessGroup() first");
  return g;
}

c10d::ReduceOp ToReduceOp(const Napi::Value& v) {
  const std::string op = ToString(v, "reduce op");
  if (op == "sum") return c10d::ReduceOp::SUM;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  throw Napi::Error::New(v.Env(), "reduce op: expected 'sum', 'product', 'min', 'max' or 'avg', got '" + op + "'");
}

// Waits for enqueued collectives on the libuv pool, then runs `after` there (e.g. averaging and
// copying buckets back) and resolves with `result` made on the main thread.
class WaitWorker : public Napi::AsyncWorker {
 public:
  using After = std::function<void()>;
  using Result = std::function<Napi::Value(Napi::Env)>;
  WaitWorker(Napi::Env env, std::string what, std::vector<WorkPtr> works, std::chrono::milliseconds timeout, After after, Result result)
      : Napi::AsyncWorker(env, "sdd.dist.wait"), deferred_(Napi::Promise::Deferred::New(env)), what_(std::move(what)),
        works_(std::move(works)), timeout_(timeout), after_(std::move(after)), result_(std::move(result)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      for (auto& w : works_) {
        if (!w->wait(timeout_)) throw std::runtime_error("timed out after " + std::to_string(timeout_.count()) + " ms");
      }
#if defined(SDD_WITH_NCCL)
      // NCCL work completes on a stream: results are read by the host after this promise.
      if (c10::cuda::device_count() > 0) c10::cuda::device_synchronize();
#endif
      if (after_) after_();
    } catch (...) {
      std::string msg = InFlightErrorMessage();
      SetError(what_ + " failed: " + msg + HintFor(msg));
    }
    works_.clear();
  }
  void OnOK() override { deferred_.Resolve(result_ ? result_(Env()) : Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  static std::string HintFor(const std::string& msg) {
    if (msg.find("Connection closed") != std::string::npos || msg.find("Connection reset") != std::string::npos ||
        msg.find("closed by peer") != std::string::npos)
      return " (another rank exited or was killed: see its output; the launcher stops the remaining ranks)";
    if (msg.find("imed out") != std::string::npos)
      return " (a rank did not reach this collective: it may be stuck, dead, or running a different number of steps)";
    return "";
  }
  Napi::Promise::Deferred deferred_;
  std::string what_;
  std::vector<WorkPtr> works_;
  std::chrono::milliseconds timeout_;
  After after_;
  Result result_;
};

Napi::Value Queue(Napi::Env env, std::string what, std::vector<WorkPtr> works, std::chrono::milliseconds timeout,
                  WaitWorker::After after = nullptr, WaitWorker::Result result = nullptr) {
  auto* w = new WaitWorker(env, std::move(what), std::move(works), timeout, std::move(after), std::move(result));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

void CheckDense(Napi::Env env, const at::Tensor& t, const char* what, const Group& g) {
  if (!t.is_contiguous()) throw Napi::Error::New(env, std::string(what) + ": collectives need a contiguous tensor (call .contiguous())");
  if (g.backend == "gloo" && !t.device().is_cpu())
    throw Napi::Error::New(env, std::string(what) + ": the gloo backend takes CPU tensors; use backend 'nccl' for CUDA tensors");
  if (g.backend == "nccl" && !t.device().is_cuda())
    throw Napi::Error::New(env, std::string(what) + ": the nccl backend takes CUDA tensors");
}

// ------------------------------------------------------------------------------ rendezvous
// distInit({ backend, masterAddr, masterPort, rank, worldSize, timeoutMs, bindAddr }) -> Promise<id>.
// Connecting blocks until every rank has arrived (or the timeout): it runs on the libuv pool.
class InitWorker : public Napi::AsyncWorker {
 public:
  InitWorker(Napi::Env env, Napi::Object o)
      : Napi::AsyncWorker(env, "sdd.dist.init"), deferred_(Napi::Promise::Deferred::New(env)) {
    backend_ = ToString(o.Get("backend"), "backend");
    addr_ = ToString(o.Get("masterAddr"), "masterAddr");
    port_ = static_cast<int>(ToInt(o.Get("masterPort"), "masterPort"));
    rank_ = static_cast<int>(ToInt(o.Get("rank"), "rank"));
    size_ = static_cast<int>(ToInt(o.Get("worldSize"), "worldSize"));
    timeout_ = std::chrono::milliseconds(ToInt(o.Get("timeoutMs"), "timeoutMs"));
    bind_ = ToString(o.Get("bindAddr"), "bindAddr");
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    auto g = std::make_shared<Group>();
    g->backend = backend_;
    g->rank = rank_;
    g->size = size_;
    g->timeout = timeout_;
    const std::string where = addr_ + ":" + std::to_string(port_);
    try {
      c10d::TCPStoreOptions so;
      so.port = static_cast<std::uint16_t>(port_);
      so.isServer = rank_ == 0;
      so.numWorkers = size_;
      so.waitWorkers = true;
      so.timeout = timeout_;
      g->store = c10::make_intrusive<c10d::TCPStore>(addr_, so);
    } catch (...) {
      std::string msg = InFlightErrorMessage();
      std::string hint;
      if (msg.find("ddress already in use") != std::string::npos || msg.find("errno: 98") != std::string::npos)
        hint = " — the port is taken by another program or an earlier run: choose another MASTER_PORT (--master-port)";
      else if (rank_ == 0)
        hint = " — rank 0 waited for " + std::to_string(size_ - 1) + " other rank(s); a rank that never arrives, or a wrong WORLD_SIZE, ends here";
      else
        hint = " — is rank 0 running and listening on " + where + "? Are MASTER_ADDR/MASTER_PORT the same on every rank?";
      SetError("dist.initProcessGroup (rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ", store at " + where + "): " + msg + hint);
      return;
    }
    try {
      // Every rank states its world size and rank: a mismatch is named instead of hanging.
      auto bytes = [](const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); };
      if (rank_ == 0) g->store->set("sdd/worldSize", bytes(std::to_string(size_)));
      auto ws = g->store->get("sdd/worldSize");
      const std::string ws0(ws.begin(), ws.end());
      if (ws0 != std::to_string(size_)) {
        SetError("dist.initProcessGroup: WORLD_SIZE differs between ranks: rank 0 has " + ws0 + ", rank " + std::to_string(rank_) +
                 " has " + std::to_string(size_) + " (every rank must be started with the same WORLD_SIZE)");
        return;
      }
      if (g->store->add("sdd/rank/" + std::to_string(rank_), 1) != 1) {
        SetError("dist.initProcessGroup: rank " + std::to_string(rank_) + " joined twice (two processes have RANK=" + std::to_string(rank_) + ")");
        return;
      }
      auto prefixed = c10::make_intrusive<c10d::PrefixStore>("sdd/" + backend_, g->store);
      if (backend_ == "gloo") {
        auto opts = c10d::ProcessGroupGloo::Options::create(timeout_);
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(bind_));
        opts->threads = 2;
        g->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, rank_, size_, opts);
      } else {
#if defined(SDD_WITH_NCCL)
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = timeout_;
        g->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank_, size_, opts);
#else
        SetError("dist.initProcessGroup: this build of sdd-torch has no NCCL (libtorch without CUDA/NCCL headers): use backend 'gloo'");
        return;
#endif
      }
    } catch (...) {
      std::string msg = InFlightErrorMessage();
      const bool timedOut = msg.find("imeout") != std::string::npos || msg.find("imed out") != std::string::npos;
      SetError("dist.initProcessGroup (rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ", " + backend_ + " over " + bind_ +
               "): " + msg +
               (timedOut ? " — not every rank arrived within " + std::to_string(timeout_.count()) +
                               " ms: a rank that never started or crashed, or ranks with different WORLD_SIZE or MASTER_ADDR/MASTER_PORT"
                         : " — every rank must reach initProcessGroup within the timeout and be reachable at its address"));
      return;
    }
    group_ = std::move(g);
  }
  void OnOK() override {
    int id;
    {
      std::lock_guard<std::mutex> lock(groupsMutex);
      id = nextGroupId++;
      group_->owner = static_cast<void*>(static_cast<napi_env>(Env()));
      groups[id] = std::move(group_);
    }
    deferred_.Resolve(Napi::Number::New(Env(), id));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string backend_, addr_, bind_;
  int port_ = 0, rank_ = 0, size_ = 1;
  std::chrono::milliseconds timeout_{0};
  std::shared_ptr<Group> group_;
};

Napi::Value DistInit(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "distInit: expected an options object");
  auto* w = new InitWorker(info.Env(), info[0].As<Napi::Object>());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// distDestroy(id): destroys the group (its threads stop; later calls with the id throw).
Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  int id = static_cast<int>(ToInt(info[0], "process group"));
  std::shared_ptr<Group> g;
  {
    std::lock_guard<std::mutex> lock(groupsMutex);
    auto it = groups.find(id);
    if (it == groups.end()) return info.Env().Undefined();
    g = std::move(it->second);
    groups.erase(it);
  }
  g.reset();
  return info.Env().Undefined();
}

// ------------------------------------------------------------------------------ collectives
// distAllReduce(id, tensor, op) -> Promise<void>: in place; 'avg' is a sum divided by the world size.
Napi::Value DistAllReduce(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  at::Tensor t = Unwrap(info[1]);
  CheckDense(info.Env(), t, "allReduce", *g);
  const bool average = ToString(info[2], "reduce op") == "avg";
  c10d::AllreduceOptions o;
  o.reduceOp = average ? c10d::ReduceOp(c10d::ReduceOp::SUM) : ToReduceOp(info[2]);
  std::vector<at::Tensor> ts{t};
  auto work = g->allreduce(ts, o);
  const int size = g->size;
  return Queue(info.Env(), "allReduce", {work}, g->timeout, average ? WaitWorker::After([t, size]() mutable {
    if (at::isIntegralType(t.scalar_type(), true)) t.div_(size, "trunc"); else t.div_(size);
  }) : nullptr);
}

// distBroadcast(id, tensors[], src) -> Promise<void>: in place, one collective per tensor, in order.
Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  std::vector<at::Tensor> list = ToTensorList(info[1], "tensors");
  const int64_t src = ToInt(info[2], "src");
  std::vector<WorkPtr> works;
  for (auto& t : list) {
    CheckDense(info.Env(), t, "broadcast", *g);
    c10d::BroadcastOptions o;
    o.rootRank = src;
    std::vector<at::Tensor> ts{t};
    works.push_back(g->broadcast(ts, o));
  }
  return Queue(info.Env(), "broadcast", std::move(works), g->timeout);
}

// distAllGather(id, tensor) -> Promise<Tensor[]> (one per rank, rank order).
Napi::Value DistAllGather(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  at::Tensor t = Unwrap(info[1]);
  CheckDense(info.Env(), t, "allGather", *g);
  auto out = std::make_shared<std::vector<std::vector<at::Tensor>>>(1);
  for (int r = 0; r < g->size; r++) (*out)[0].push_back(at::empty_like(t));
  std::vector<at::Tensor> in{t};
  auto work = g->allgather(*out, in);
  return Queue(info.Env(), "allGather", {work}, g->timeout, nullptr, [out](Napi::Env env) { return WrapList(env, (*out)[0]); });
}

// distReduceScatter(id, output, inputs[], op) -> Promise<void>: output = reduction over ranks of
// inputs[rank]. Gloo in libtorch 1.13 has no reduce_scatter: there it is an all-reduce of the
// concatenated inputs, keeping this rank's part (same result, worldSize times the traffic).
Napi::Value DistReduceScatter(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  at::Tensor out = Unwrap(info[1], "output");
  std::vector<at::Tensor> in = ToTensorList(info[2], "inputs");
  CheckDense(info.Env(), out, "reduceScatter output", *g);
  if (static_cast<int>(in.size()) != g->size)
    throw Napi::Error::New(info.Env(), "reduceScatter: expected one input per rank (" + std::to_string(g->size) + "), got " + std::to_string(in.size()));
  for (auto& t : in) {
    CheckDense(info.Env(), t, "reduceScatter input", *g);
    if (t.sizes() != out.sizes() || t.scalar_type() != out.scalar_type())
      throw Napi::Error::New(info.Env(), "reduceScatter: every input must have the output's shape and dtype");
  }
  c10d::ReduceScatterOptions o;
  o.reduceOp = ToReduceOp(info[3]);
  if (g->backend == "gloo") {
    at::Tensor flat = at::cat(in).contiguous();
    c10d::AllreduceOptions ao;
    ao.reduceOp = o.reduceOp;
    std::vector<at::Tensor> ts{flat};
    auto work = g->allreduce(ts, ao);
    const int rank = g->rank;
    return Queue(info.Env(), "reduceScatter", {work}, g->timeout, [flat, out, rank]() mutable {
      out.copy_(flat.narrow(0, rank * out.size(0), out.size(0)).view_as(out));
    });
  }
  std::vector<at::Tensor> outs{out};
  std::vector<std::vector<at::Tensor>> ins{in};
  auto work = g->reduceScatter(outs, ins, o);
  return Queue(info.Env(), "reduceScatter", {work}, g->timeout);
}

Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  return Queue(info.Env(), "barrier", {g->barrier()}, g->timeout);
}

// ------------------------------------------------------------------------------ data parallelism
// The gradient exchange of DistributedDataParallel, overlapped with backward. Parameters go into
// buckets of about bucketBytes in reverse registration order (backward produces the last layers'
// gradients first). A hook on each parameter copies its gradient into its bucket's flat buffer as
// soon as autograd computes it; the bucket's all-reduce starts (on Gloo's threads) the moment its
// last gradient is in, while backward goes on with earlier layers. finish() starts the buckets
// still incomplete (a parameter without a gradient this step contributes zeros, as torch's DDP with
// find_unused_parameters does), waits for all of them on the libuv pool, divides by the world size
// and writes the averages into the parameters' .grad.
struct Ddp {
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> params;   // indices into Ddp::params
    std::vector<int64_t> offsets;  // per slot: where its gradient starts in flat
    std::vector<bool> got;         // per slot: gradient arrived this step
    size_t ready = 0;
    WorkPtr work;
  };
  std::shared_ptr<Group> group;
  std::vector<at::Tensor> params;
  std::vector<std::pair<size_t, size_t>> where;  // per param: bucket, slot
  std::vector<Bucket> buckets;
  std::vector<unsigned> hooks;
  std::mutex mutex;
  bool armed = false;
  int64_t overlapped = 0;  // buckets started during the last backward

  void Launch(Bucket& b) {
    std::vector<at::Tensor> ts{b.flat};
    b.work = group->allreduce(ts, c10d::AllreduceOptions());
  }
  // autograd hook: runs on the thread that runs backward
  void OnGrad(size_t i, const at::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    auto [bi, slot] = where[i];
    Bucket& b = buckets[bi];
    if (b.got[slot]) return;  // already in (a second backward before finish: ignored)
    at::NoGradGuard ng;
    b.flat.narrow(0, b.offsets[slot], grad.numel()).copy_(grad.reshape({-1}));
    b.got[slot] = true;
    if (++b.ready == b.params.size() && !b.work) {
      Launch(b);
      overlapped++;
    }
  }
};

std::mutex ddpMutex;
std::map<int, std::shared_ptr<Ddp>> ddps;
int nextDdpId = 1;

std::shared_ptr<Ddp> GetDdp(const Napi::Value& v) {
  int id = static_cast<int>(ToInt(v, "DistributedDataParallel"));
  std::lock_guard<std::mutex> lock(ddpMutex);
  auto it = ddps.find(id);
  if (it == ddps.end()) throw Napi::Error::New(v.Env(), "DistributedDataParallel was disposed");
  return it->second;
}

// distDdpCreate(groupId, params[], bucketBytes) -> id (registers the gradient hooks).
Napi::Value DistDdpCreate(const Napi::CallbackInfo& info) {
  auto g = GetGroup(info[0]);
  std::vector<at::Tensor> all = ToTensorList(info[1], "parameters");
  const int64_t bucketBytes = std::max<int64_t>(1, ToInt(info[2], "bucketBytes"));
  auto d = std::make_shared<Ddp>();
  d->group = g;
  for (auto& p : all)
    if (p.requires_grad()) d->params.push_back(p);
  d->where.resize(d->params.size());
  // reverse order; a bucket holds one dtype and device
  Ddp::Bucket cur;
  int64_t numel = 0;
  auto close = [&]() {
    if (cur.params.empty()) return;
    cur.flat = at::zeros({numel}, d->params[cur.params[0]].options().requires_grad(false));
    cur.got.assign(cur.params.size(), false);
    d->buckets.push_back(std::move(cur));
    cur = Ddp::Bucket();
    numel = 0;
  };
  for (size_t k = d->params.size(); k-- > 0;) {
    const at::Tensor& p = d->params[k];
    CheckDense(info.Env(), p, "parameter", *g);
    if (!cur.params.empty()) {
      const at::Tensor& first = d->params[cur.params[0]];
      if (first.scalar_type() != p.scalar_type() || first.device() != p.device()) close();
    }
    d->where[k] = {d->buckets.size(), cur.params.size()};
    cur.params.push_back(k);
    cur.offsets.push_back(numel);
    numel += p.numel();
    if (numel * static_cast<int64_t>(p.element_size()) >= bucketBytes) close();  // one dtype per bucket
  }
  close();
  std::weak_ptr<Ddp> weak = d;
  for (size_t i = 0; i < d->params.size(); i++) {
    d->hooks.push_back(d->params[i].register_hook([weak, i](const at::Tensor& grad) {
      if (auto dd = weak.lock()) dd->OnGrad(i, grad);
    }));
  }
  int id;
  {
    std::lock_guard<std::mutex> lock(ddpMutex);
    id = nextDdpId++;
    ddps[id] = d;
  }
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("id", id);
  o.Set("buckets", static_cast<double>(d->buckets.size()));
  return o;
}

// distDdpPrepare(id): the next backward's gradients start their buckets as they arrive.
Napi::Value DistDdpPrepare(const Napi::CallbackInfo& info) {
  auto d = GetDdp(info[0]);
  std::lock_guard<std::mutex> lock(d->mutex);
  TORCH_CHECK(std::none_of(d->buckets.begin(), d->buckets.end(), [](const Ddp::Bucket& b) { return b.work.defined(); }),
              "DistributedDataParallel: the previous step's gradients were not averaged yet (await averageGradients() first)");
  for (auto& b : d->buckets) {
    std::fill(b.got.begin(), b.got.end(), false);
    b.ready = 0;
  }
  d->overlapped = 0;
  d->armed = true;
  return info.Env().Undefined();
}

// distDdpFinish(id) -> Promise<{ buckets, bytes, overlapped }>: see struct Ddp.
Napi::Value DistDdpFinish(const Napi::CallbackInfo& info) {
  auto d = GetDdp(info[0]);
  std::vector<WorkPtr> works;
  int64_t overlapped, total = 0;
  {
    std::lock_guard<std::mutex> lock(d->mutex);
    const bool wasArmed = d->armed;
    d->armed = false;
    at::NoGradGuard ng;
    for (auto& b : d->buckets) {
      if (!b.work) {
        for (size_t slot = 0; slot < b.params.size(); slot++) {
          if (wasArmed && b.got[slot]) continue;
          // not seen by a hook (prepare() not called, or no gradient this step): take .grad as it is
          at::Tensor& p = d->params[b.params[slot]];
          const at::Tensor& grad = p.grad();
          auto view = b.flat.narrow(0, b.offsets[slot], p.numel());
          if (grad.defined()) view.copy_(grad.reshape({-1})); else view.zero_();
        }
        d->Launch(b);
      }
      works.push_back(b.work);
      total += b.flat.numel() * static_cast<int64_t>(b.flat.element_size());
    }
    overlapped = wasArmed ? d->overlapped : 0;
  }
  const int size = d->group->size;
  const double count = static_cast<double>(d->buckets.size());
  return Queue(info.Env(), "averageGradients", std::move(works), d->group->timeout, [d, size]() {
    std::lock_guard<std::mutex> lock(d->mutex);
    at::NoGradGuard ng;
    for (auto& b : d->buckets) {
      b.work.reset();
      b.flat.div_(size);
      for (size_t slot = 0; slot < b.params.size(); slot++) {
        at::Tensor& p = d->params[b.params[slot]];
        auto avg = b.flat.narrow(0, b.offsets[slot], p.numel()).view_as(p);
        at::Tensor& grad = p.mutable_grad();
        if (grad.defined()) grad.copy_(avg); else grad = avg.clone();
      }
    }
  }, [count, total, overlapped](Napi::Env env) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("buckets", count);
    o.Set("bytes", static_cast<double>(total));
    o.Set("overlapped", static_cast<double>(overlapped));
    return o;
  });
}

// distDdpDispose(id): removes the hooks.
Napi::Value DistDdpDispose(const Napi::CallbackInfo& info) {
  int id = static_cast<int>(ToInt(info[0], "DistributedDataParallel"));
  std::shared_ptr<Ddp> d;
  {
    std::lock_guard<std::mutex> lock(ddpMutex);
    auto it = ddps.find(id);
    if (it == ddps.end()) return info.Env().Undefined();
    d = std::move(it->second);
    ddps.erase(it);
  }
  for (size_t i = 0; i < d->params.size(); i++) d->params[i].remove_hook(d->hooks[i]);
  return info.Env().Undefined();
}

// Differentiable sum over ranks, run synchronously on the calling thread (SyncBatchNorm needs the
// result inside forward and backward). Its gradient is the sum over ranks of the gradients: each
// rank's input feeds every rank's output.
struct AllReduceSumFn : public torch::autograd::Function<AllReduceSumFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t groupId) {
    ctx->saved_data["group"] = groupId;
    return SumNow(static_cast<int>(groupId), x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {SumNow(static_cast<int>(ctx->saved_data["group"].toInt()), grads[0]), at::Tensor()};
  }
  static at::Tensor SumNow(int groupId, const at::Tensor& x) {
    auto g = FindGroup(groupId);
    TORCH_CHECK(g, "SyncBatchNorm: its process group was destroyed: convertSyncBatchNorm again with a live group");
    std::vector<at::Tensor> ts{x.detach().clone().contiguous()};
    auto work = g->allreduce(ts, c10d::AllreduceOptions());
    TORCH_CHECK(work->wait(g->timeout), "SyncBatchNorm: the statistics all-reduce timed out after ", g->timeout.count(), " ms");
    return ts[0];
  }
};

// Cleanup hook of an environment (main thread or worker): its groups go with it.
void DestroyGroupsOf(void* env) {
  std::vector<std::shared_ptr<Group>> doomed;
  {
    std::lock_guard<std::mutex> lock(groupsMutex);
    for (auto it = groups.begin(); it != groups.end();) {
      if (it->second->owner == env) {
        doomed.push_back(std::move(it->second));
        it = groups.erase(it);
      } else {
        ++it;
      }
    }
  }
}
#endif  // SDD_WITH_GLOO

// distBackends() -> { gloo, nccl }: what this build can run.
Napi::Value DistBackends(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
#if defined(SDD_WITH_GLOO)
  o.Set("gloo", true);
#else
  o.Set("gloo", false);
#endif
#if defined(SDD_WITH_NCCL)
  o.Set("nccl", true);
#else
  o.Set("nccl", false);
#endif
  return o;
}

}  // namespace

#if defined(SDD_WITH_GLOO)
at::Tensor SyncBatchNormTrain(int group, const at::Tensor& x, const c10::optional<at::Tensor>& weight,
                              const c10::optional<at::Tensor>& bias, const c10::optional<at::Tensor>& runningMean,
                              const c10::optional<at::Tensor>& runningVar, double momentum, double eps) {
  TORCH_CHECK(x.dim() >= 2, "SyncBatchNorm: expected an input [N, C, ...], got ", x.dim(), "-D");
  const int64_t C = x.size(1);
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); d++) dims.push_back(d);
  std::vector<int64_t> shape(x.dim(), 1);
  shape[1] = C;
  // local sums in float64 (E[x^2] - E[x]^2 loses digits in float32), then summed over the ranks
  at::Tensor xd = x.to(at::kDouble);
  at::Tensor count = at::full({1}, static_cast<double>(x.numel() / std::max<int64_t>(C, 1)), xd.options());
  at::Tensor local = at::cat({xd.sum(dims), (xd * xd).sum(dims), count});
  at::Tensor global = AllReduceSumFn::apply(local, static_cast<int64_t>(group));
  const double n = global.select(0, 2 * C).item<double>();
  TORCH_CHECK(n > 1, "SyncBatchNorm: expected more than 1 value per channel over all ranks, got ", n);
  at::Tensor mean = global.narrow(0, 0, C) / n;
  at::Tensor var = global.narrow(0, C, C) / n - mean * mean;
  {
    at::NoGradGuard ng;
    if (runningMean && runningMean->defined()) runningMean->mul_(1 - momentum).add_(mean.detach().to(runningMean->scalar_type()), momentum);
    if (runningVar && runningVar->defined())
      runningVar->mul_(1 - momentum).add_((var.detach() * (n / (n - 1))).to(runningVar->scalar_type()), momentum);
  }
  at::Tensor invstd = (var + eps).rsqrt();
  at::Tensor y = (x - mean.to(x.scalar_type()).view(shape)) * invstd.to(x.scalar_type()).view(shape);
  if (weight && weight->defined()) y = y * weight->view(shape);
  if (bias && bias->defined()) y = y + bias->view(shape);
  return y;
}
#else
at::Tensor SyncBatchNormTrain(int, const at::Tensor&, const c10::optional<at::Tensor>&, const c10::optional<at::Tensor>&,
                              const c10::optional<at::Tensor>&, const c10::optional<at::Tensor>&, double, double) {
  TORCH_CHECK(false, "SyncBatchNorm: this build of sdd-torch has no c10d/Gloo");
}
#endif

void InitDist(Napi::Env env, Napi::Object exports) {
  SDD_EXPORT(exports, "distBackends", DistBackends);
#if defined(SDD_WITH_GLOO)
  SDD_EXPORT(exports, "distInit", DistInit);
  SDD_EXPORT(exports, "distDestroy", DistDestroy);
  SDD_EXPORT(exports, "distAllReduce", DistAllReduce);
  SDD_EXPORT(exports, "distBroadcast", DistBroadcast);
  SDD_EXPORT(exports, "distAllGather", DistAllGather);
  SDD_EXPORT(exports, "distReduceScatter", DistReduceScatter);
  SDD_EXPORT(exports, "distBarrier", DistBarrier);
  SDD_EXPORT(exports, "distDdpCreate", DistDdpCreate);
  SDD_EXPORT(exports, "distDdpPrepare", DistDdpPrepare);
  SDD_EXPORT(exports, "distDdpFinish", DistDdpFinish);
  SDD_EXPORT(exports, "distDdpDispose", DistDdpDispose);
  // Groups own threads and sockets: end them with the main environment, before static destructors.
  napi_add_env_cleanup_hook(env, DestroyGroupsOf, static_cast<void*>(static_cast<napi_env>(env)));
#endif
}

}  // namespace sdd
