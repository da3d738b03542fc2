// The tape's two halves: record() builds nodes as ops run; run_backward() walks them in reverse
// topological order, summing the gradients that reach each node before calling its closure.
#include <unordered_map>
#include <unordered_set>

#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/ops/arithmetic.h"
#include "core/ops/factories.h"

namespace ember::autograd {

namespace {

Edge edge_for(const Tensor& input) {
  Edge e;
  if (!input.defined() || !input.requires_grad()) return e;
  if (input.grad_fn())
    e.fn = input.grad_fn();
  else
    e.leaf = input.impl_ptr();
  e.sizes = input.sizes();
  e.dtype = input.dtype();
  return e;
}

template <class Range>
Tensor record_impl(const char* name, Tensor output, const Range& inputs, BackwardFn fn,
                   const std::vector<Tensor>& saved) {
  if (!is_grad_enabled()) return output;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) node->next.push_back(edge_for(t));
  node->backward = std::move(fn);
  for (const Tensor& t : saved)
    if (t.defined()) node->saved_versions.emplace_back(t.storage(), t.storage().version());
  node->output = output.impl_ptr();
  output.impl()->requires_grad = true;
  output.impl()->grad_fn = std::move(node);
  return output;
}

// A gradient stored into .grad must not alias another tensor: it may be updated in place later.
Tensor owned(const Tensor& g) {
  if (g.is_contiguous() && g.storage().use_count() == 1 && g.storage_offset() == 0) return g;
  return g.clone();
}

void accumulate_into(TensorImpl& target, const Tensor& g) {
  if (!target.grad) {
    target.grad = owned(g).impl_ptr();
  } else {
    Tensor(target.grad).add_(g);
  }
}

void check_saved_versions(const Node& node) {
  for (const auto& [storage, version] : node.saved_versions)
    EMBER_CHECK(storage.version() == version, "backward: a tensor that ", node.name,
                " saved for its gradient was modified by an in-place operation after the forward "
                "pass (its version was ", version, ", now ", storage.version(),
                "); modify a clone() instead, or modify it after backward()");
}

void check_grad(const Node& node, size_t i, const Edge& e, const Tensor& g) {
  EMBER_CHECK(g.sizes() == e.sizes, node.name, " returned a gradient of shape ", g.sizes(),
              " for input ", i, " of shape ", e.sizes);
}

// Nodes reachable from root, each after all nodes that feed gradient into it.
std::vector<Node*> topological_order(Node* root) {
  std::vector<Node*> order;
  std::unordered_set<Node*> seen{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {  // iterative DFS post-order: deep graphs do not overflow the C++ stack
    auto& [node, next] = stack.back();
    if (next < node->next.size()) {
      Node* child = node->next[next++].fn.get();
      if (child && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};
}

// The leaves whose post-accumulate hooks this pass must run, each with the number of gradient
// edges still to reach it; a hook runs when its leaf's count drops to zero.
class LeafHooks {
 public:
  explicit LeafHooks(const std::vector<Node*>& order) {
    for (Node* node : order)
      for (const Edge& e : node->next)
        if (e.leaf && !e.leaf->post_accumulate_grad_hooks.empty()) ++remaining_[e.leaf.get()];
  }
  // One of `node`'s edges will bring nothing more (it ran, or no gradient reached it).
  void done(const Edge& e) {
    if (!e.leaf) return;
    auto it = remaining_.find(e.leaf.get());
    if (it == remaining_.end() || --it->second > 0) return;
    for (const auto& hook : e.leaf->post_accumulate_grad_hooks) hook(Tensor(e.leaf));
  }
  void done(const Node& node) {
    for (const Edge& e : node.next) done(e);
  }

 private:
  std::unordered_map<TensorImpl*, int> remaining_;
};

// Callbacks queued by hooks of the running backward (one per thread: backward is synchronous).
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

class CallbackScope {
 public:
  CallbackScope() : outer_(queued_callbacks) { queued_callbacks = &callbacks_; }
  ~CallbackScope() { queued_callbacks = outer_; }
  void run() {
    for (size_t i = 0; i < callbacks_.size(); ++i) callbacks_[i]();  // a callback may queue more
  }

 private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>>* outer_;
};

}  // namespace

void queue_callback(std::function<void()> callback) {
  EMBER_CHECK(queued_callbacks, "queue_callback: only a hook running during backward can queue a callback");
  queued_callbacks->push_back(std::move(callback));
}

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  for (Edge& e : next)
    if (e.fn) pending.push_back(std::move(e.fn));
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    if (node.use_count() == 1)  // we hold the last reference: take its children first
      for (Edge& e : node->next)
        if (e.fn) pending.push_back(std::move(e.fn));
  }
}

Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn fn,
              const std::vector<Tensor>& saved) {
  return record_impl(name, std::move(output), inputs, std::move(fn), saved);
}
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved) {
  return record_impl(name, std::move(output), inputs, std::move(fn), saved);
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph) {
  EMBER_CHECK(root.requires_grad(),
              "backward: the tensor does not require grad and has no grad_fn; call "
              "requires_grad_() on a leaf that feeds it");
  Tensor seed = gradient;
  if (!seed.defined()) {
    EMBER_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for a ",
                "one-element output, found shape ", root.sizes(), "; pass a gradient");
    seed = ones_like(root);
  }
  EMBER_CHECK_VALUE(seed.sizes() == root.sizes(), "backward: expected a gradient of shape ",
                    root.sizes(), ", found ", seed.sizes());
  NoGradGuard no_grad;
  CallbackScope callbacks;
  if (root.is_leaf()) {
    accumulate_into(*root.impl(), seed.to(root.dtype()));
    for (const auto& hook : root.impl()->post_accumulate_grad_hooks) hook(root);
    callbacks.run();
    return;
  }
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), seed}};
  std::vector<Node*> order = topological_order(root.grad_fn().get());
  LeafHooks leaf_hooks(order);
  for (Node* node : order) {
    auto it = pending.find(node);
    if (it == pending.end()) {  // no gradient flowed here
      leaf_hooks.done(*node);
      continue;
    }
    Tensor grad_out = std::move(it->second);
    pending.erase(it);
    EMBER_CHECK(node->backward, "backward: trying to backward through the graph a second time (",
                node->name, "'s saved tensors were freed); pass retain_graph=true to the first ",
                "backward if you need to do this");
    if (auto out = node->output.lock(); out && out->retains_grad) accumulate_into(*out, grad_out);
    check_saved_versions(*node);
    std::vector<Tensor> grads = node->backward(grad_out);
    EMBER_CHECK(grads.size() == node->next.size(), node->name, " returned ", grads.size(),
                " gradients for ", node->next.size(), " inputs");
    if (!retain_graph) node->backward = nullptr;
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& e = node->next[i];
      if (!e.active() || !grads[i].defined()) {
        leaf_hooks.done(e);
        continue;
      }
      check_grad(*node, i, e, grads[i]);
      Tensor g = grads[i].dtype() == e.dtype ? grads[i] : grads[i].to(e.dtype);
      if (e.leaf) {
        accumulate_into(*e.leaf, g);
        leaf_hooks.done(e);
      } else {
        Tensor& slot = pending[e.fn.get()];
        slot = slot.defined() ? add(slot, g) : g;
      }
    }
  }
  callbacks.run();
}

}  // namespace ember::autograd
