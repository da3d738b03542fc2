// The module registry: type name -> factory from a JSON config. With Module::config() it lets a
// whole model (structure + weights) be saved and rebuilt without the caller naming its class — the
// C++ answer to torch.save(model), where structure is data and loading runs no code from the file.
//
// Every built-in layer is registered; register your own with register_module_type.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "nn/module.h"

namespace ember::nn {

using ModuleFactory = std::function<std::shared_ptr<Module>(const nlohmann::json& config)>;

void register_module_type(const std::string& type_name, ModuleFactory factory);
bool is_registered(const std::string& type_name);

// {"type": "Sequential", "config": {...}, "children": [{"name": "0", ...}, ...]}
nlohmann::json describe(const Module& module);
// Rebuilds the structure from describe()'s output (fresh parameters). Unknown type names and
// malformed configs throw ValueError naming the path ("model.3: unknown module type 'Foo'").
std::shared_ptr<Module> build(const nlohmann::json& description);

}  // namespace ember::nn
