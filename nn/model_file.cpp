#include "nn/model_file.h"

#include "io/serialize.h"
#include "nn/registry.h"

namespace ember::nn {

void save_model(const Module& module, const std::string& path) {
  io::Value file = io::Dict();
  file["ember_model"] = describe(module).dump();
  file["state_dict"] = module.state_dict();
  io::save(file, path);
}

std::shared_ptr<Module> load_model(const std::string& path) {
  io::Value file = io::load(path);
  EMBER_CHECK_VALUE(file.is_dict() && file.contains("ember_model") && file.at("ember_model").is_string(), path,
                    ": not a model saved by nn::save_model (no 'ember_model' description); for a plain state dict, ",
                    "build the model and call load_state_dict");
  nlohmann::json description;
  try {
    description = nlohmann::json::parse(file.at("ember_model").to_string());
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(str(path, ": the model description is not valid JSON: ", e.what()));
  }
  std::shared_ptr<Module> model = build(description);
  model->load_state_dict(file.at("state_dict"));
  return model;
}

}  // namespace ember::nn
