// Stateful: the one interface a checkpoint knows — anything whose whole state is an io::Value.
//
// Module, every Optimizer, every LR scheduler and DataLoader implement it; train::Checkpointer
// saves and restores registered Stateful components by name, so a user type takes part by
// implementing these two functions (like PyTorch's torch.distributed.checkpoint.Stateful).
//
// Contract: load_state_dict(state_dict()) restores the object exactly (the next step it takes is
// the one it would have taken), and a state that does not fit throws ValueError naming what
// differs — before anything is changed.
#pragma once

#include "io/value.h"

namespace ember::io {

class Stateful {
 public:
  virtual ~Stateful() = default;
  virtual Value state_dict() const = 0;
  virtual void load_state_dict(const Value& state) = 0;
};

}  // namespace ember::io
