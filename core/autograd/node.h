// The autograd tape: one Node per recorded op, holding its inputs' edges and a backward closure.
//
// A Node is created by `record()` when grad mode is on and some input requires grad. Its closure
// maps the gradient of the op's output to one gradient per input (undefined where an input needs
// none). Saved tensors live in the closure; backward() frees the closure unless retain_graph.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::autograd {

struct Node;

// Where an input's gradient goes: the node that produced it, or the leaf that accumulates it.
struct Edge {
  std::shared_ptr<Node> fn;          // input is a non-leaf
  std::shared_ptr<TensorImpl> leaf;  // input is a leaf that requires grad
  Shape sizes;                       // the input's shape, to validate the gradient
  DType dtype = kFloat32;
  bool active() const { return fn || leaf; }
};

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;          // "AddBackward0", as PyTorch names grad_fns
  std::vector<Edge> next;    // one per input of the op
  BackwardFn backward;       // empty once released
  std::weak_ptr<TensorImpl> output;  // the op's output, for retain_grad
  // The storages the closure reads and their versions when recorded: backward refuses to run if
  // one was modified in place since (the gradient would be silently wrong).
  std::vector<std::pair<Storage, uint64_t>> saved_versions;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Frees the chain of nodes this one alone keeps alive iteratively, so that releasing a graph
  // thousands of ops deep cannot overflow the stack.
  ~Node();
};

// Attaches a Node named `name` to `output` if grad mode is on and any of `inputs` requires grad;
// returns `output`. The closure must not capture `output` itself (capture output.detach()): that
// would be a reference cycle. `saved`: every tensor whose values the closure reads (undefined ones
// are skipped), so that an in-place change to one of them before backward is an error.
Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn fn,
              const std::vector<Tensor>& saved = {});
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn fn,
              const std::vector<Tensor>& saved = {});

// True when an op on these inputs would be recorded.
bool needs_grad(std::initializer_list<Tensor> inputs);

// Runs backward from `root` (see Tensor::backward).
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph);

// Called from a hook during backward: `callback` runs once the current backward pass has
// finished (after every gradient was accumulated), as torch's queue_callback. Throws outside one.
void queue_callback(std::function<void()> callback);

}  // namespace ember::autograd
