// Whole-model save: the C++ answer to torch.save(model). The file holds the module tree as data
// (type names and options, from the registry) next to the state dict, so load_model rebuilds the
// model without the caller naming its class — and without running any code from the file.
//
//   nn::save_model(*model, "model.pt");
//   std::shared_ptr<nn::Module> back = nn::load_model("model.pt");
//
// The file is an ordinary torch.save zip: {"ember_model": "<JSON description>", "state_dict": ...};
// torch.load reads it too (the state dict is the usual OrderedDict).
#pragma once

#include <memory>
#include <string>

#include "nn/module.h"

namespace ember::nn {

void save_model(const Module& module, const std::string& path);
// Throws ValueError for a file that is not a saved model, an unknown type, or weights that do not fit.
std::shared_ptr<Module> load_model(const std::string& path);

}  // namespace ember::nn
