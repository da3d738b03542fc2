#include "nn/registry.h"

#include <map>
#include <mutex>

#include "nn/containers.h"
#include "nn/conv.h"
#include "nn/layers.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace ember::nn {

namespace {

using json = nlohmann::json;

Size2 size2(const json& j) { return j.is_array() ? Size2(j.at(0).get<int64_t>(), j.at(1).get<int64_t>()) : Size2(j.get<int64_t>()); }

Pool2dOptions pool_options(const json& c) {
  Pool2dOptions o(size2(c.at("kernel_size")));
  o.stride(size2(c.value("stride", json(0)))).padding(size2(c.value("padding", json(0))));
  o.dilation(size2(c.value("dilation", json(1)))).ceil_mode(c.value("ceil_mode", false));
  o.count_include_pad(c.value("count_include_pad", true));
  return o;
}

BatchNormOptions bn_options(const json& c) {
  return BatchNormOptions(c.at("num_features").get<int64_t>())
      .eps(c.value("eps", 1e-5)).momentum(c.value("momentum", 0.1))
      .affine(c.value("affine", true)).track_running_stats(c.value("track_running_stats", true));
}

std::map<std::string, ModuleFactory>& table() {
  static std::map<std::string, ModuleFactory> t = {
      {"Linear", [](const json& c) {
         return std::make_shared<Linear>(LinearOptions(c.at("in_features"), c.at("out_features")).bias(c.value("bias", true)));
       }},
      {"Conv2d", [](const json& c) {
         return std::make_shared<Conv2d>(Conv2dOptions(c.at("in_channels"), c.at("out_channels"), size2(c.at("kernel_size")))
                                             .stride(size2(c.value("stride", json(1)))).padding(size2(c.value("padding", json(0))))
                                             .dilation(size2(c.value("dilation", json(1)))).groups(c.value("groups", 1))
                                             .bias(c.value("bias", true)));
       }},
      {"BatchNorm1d", [](const json& c) { return std::make_shared<BatchNorm1d>(bn_options(c)); }},
      {"BatchNorm2d", [](const json& c) { return std::make_shared<BatchNorm2d>(bn_options(c)); }},
      {"LayerNorm", [](const json& c) {
         return std::make_shared<LayerNorm>(LayerNormOptions(c.at("normalized_shape").get<Shape>())
                                                .eps(c.value("eps", 1e-5)).elementwise_affine(c.value("elementwise_affine", true)));
       }},
      {"Embedding", [](const json& c) { return std::make_shared<Embedding>(c.at("num_embeddings"), c.at("embedding_dim")); }},
      {"ReLU", [](const json&) { return std::make_shared<ReLU>(); }},
      {"LeakyReLU", [](const json& c) { return std::make_shared<LeakyReLU>(c.value("negative_slope", 0.01)); }},
      {"GELU", [](const json&) { return std::make_shared<GELU>(); }},
      {"Sigmoid", [](const json&) { return std::make_shared<Sigmoid>(); }},
      {"Tanh", [](const json&) { return std::make_shared<Tanh>(); }},
      {"Softmax", [](const json& c) { return std::make_shared<Softmax>(c.at("dim")); }},
      {"LogSoftmax", [](const json& c) { return std::make_shared<LogSoftmax>(c.at("dim")); }},
      {"Identity", [](const json&) { return std::make_shared<Identity>(); }},
      {"Dropout", [](const json& c) { return std::make_shared<Dropout>(c.value("p", 0.5)); }},
      {"Dropout2d", [](const json& c) { return std::make_shared<Dropout2d>(c.value("p", 0.5)); }},
      {"MaxPool2d", [](const json& c) { return std::make_shared<MaxPool2d>(pool_options(c)); }},
      {"AvgPool2d", [](const json& c) { return std::make_shared<AvgPool2d>(pool_options(c)); }},
      {"AdaptiveAvgPool2d", [](const json& c) { return std::make_shared<AdaptiveAvgPool2d>(size2(c.at("output_size"))); }},
      {"Flatten", [](const json& c) { return std::make_shared<Flatten>(c.value("start_dim", 1), c.value("end_dim", -1)); }},
      {"Unflatten", [](const json& c) { return std::make_shared<Unflatten>(c.at("dim"), c.at("unflattened_size").get<Shape>()); }},
      {"Sequential", [](const json&) { return std::make_shared<Sequential>(); }},
      {"ModuleList", [](const json&) { return std::make_shared<ModuleList>(); }},
      {"ModuleDict", [](const json&) { return std::make_shared<ModuleDict>(); }},
  };
  return t;
}

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}

// Containers are rebuilt empty and their children added by name.
void attach(Module& parent, const std::string& name, std::shared_ptr<Module> child) {
  if (auto* seq = dynamic_cast<Sequential*>(&parent)) return seq->push_back(std::move(child));
  if (auto* list = dynamic_cast<ModuleList*>(&parent)) return list->push_back(std::move(child));
  if (auto* dict = dynamic_cast<ModuleDict*>(&parent)) return dict->insert(name, std::move(child));
  throw ValueError(str(parent.type_name(), " cannot take child modules when rebuilt from a description"));
}

std::shared_ptr<Module> build_at(const json& d, const std::string& path) {
  EMBER_CHECK_VALUE(d.is_object() && d.contains("type") && d["type"].is_string(), path,
                    ": expected an object with a string 'type'");
  std::string type = d["type"];
  ModuleFactory factory;
  {
    std::lock_guard<std::mutex> lock(table_mutex());
    auto it = table().find(type);
    EMBER_CHECK_VALUE(it != table().end(), path, ": unknown module type '", type,
                      "'; register it with nn::register_module_type");
    factory = it->second;
  }
  std::shared_ptr<Module> m;
  try {
    m = factory(d.value("config", json::object()));
  } catch (const json::exception& e) {
    throw ValueError(str(path, ": invalid config for ", type, ": ", e.what()));
  }
  for (const json& c : d.value("children", json::array())) {
    EMBER_CHECK_VALUE(c.contains("name") && c["name"].is_string(), path, ": child without a name");
    std::string name = c["name"];
    attach(*m, name, build_at(c, path + "." + name));
  }
  return m;
}

}  // namespace

void register_module_type(const std::string& type_name, ModuleFactory factory) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table()[type_name] = std::move(factory);
}

bool is_registered(const std::string& type_name) {
  std::lock_guard<std::mutex> lock(table_mutex());
  return table().count(type_name) > 0;
}

json describe(const Module& module) {
  json d = {{"type", module.type_name()}, {"config", module.config()}};
  json children = json::array();
  for (const auto& [name, child] : module.named_children()) {
    json c = describe(*child);
    c["name"] = name;
    children.push_back(std::move(c));
  }
  if (!children.empty()) d["children"] = std::move(children);
  return d;
}

std::shared_ptr<Module> build(const json& description) { return build_at(description, "model"); }

}  // namespace ember::nn
