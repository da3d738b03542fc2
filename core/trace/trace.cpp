#include "core/trace/trace.h"

namespace ember::trace {

namespace {
thread_local Tracer* current = nullptr;
thread_local int depth = 0;
}  // namespace

Tracer* active() { return current; }

Tracer* set_active(Tracer* t) {
  Tracer* old = current;
  current = t;
  return old;
}

OpScope::OpScope() { ++depth; }
OpScope::~OpScope() { --depth; }

bool OpScope::recording() const { return current && depth == 1; }

Tensor OpScope::done(const char* op, const std::vector<Tensor>& inputs, Tensor output, Attributes attrs) {
  if (current && depth == 1) current->record(op, inputs, output, attrs);
  return output;
}

}  // namespace ember::trace
