// ember convert and ember diff.
#include <cmath>
#include <iostream>

#include "io/file.h"
#include "io/safetensors.h"
#include "io/serialize.h"
#include "tools/commands.h"

namespace ember::tools {

int convert(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  std::string to, map_location;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--map-location") {
      if (i + 1 >= args.size()) throw UsageError{"--map-location needs a device (cpu)"};
      map_location = args[++i];
    } else if (args[i] == "--to") {
      if (i + 1 >= args.size()) throw UsageError{"--to needs pt or safetensors"};
      to = args[++i];
      if (to != "pt" && to != "safetensors") throw UsageError{"--to must be pt or safetensors, found '" + to + "'"};
    } else if (!args[i].empty() && args[i][0] == '-') {
      throw UsageError{"unknown option " + args[i]};
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.size() != 2) throw UsageError{"expected IN and OUT"};
  if (to.empty())  // a convenience for naming the output; reading never looks at extensions
    to = files[1].size() > 12 && files[1].substr(files[1].size() - 12) == ".safetensors" ? "safetensors" : "pt";
  // Tensors keep the location the file gave them (a GPU checkpoint stays one) unless told otherwise.
  io::LoadOptions options = io::LoadOptions().keep_saved_locations();
  if (!map_location.empty()) options.map_location(Device(map_location));
  io::Value v = io::load(files[0], options);
  if (to == "safetensors") {
    io::AtomicFile out(files[1]);
    std::vector<std::string> notes;
    io::save_safetensors(v, out, &notes);
    out.commit();
    for (const std::string& n : notes) std::cerr << "ember convert: note: " << n << "\n";
  } else {
    io::save(v, files[1]);
  }
  std::cout << files[0] << " (" << io::detect_format(files[0]) << ") -> " << files[1] << " (" << to << ")\n";
  return 0;
}

namespace {

struct Differ {
  double atol;
  std::vector<std::string> report;

  void compare(const io::Value& a, const io::Value& b, const std::string& path) {
    if (a.type_name() != b.type_name()) {
      report.push_back(path + ": type " + a.type_name() + " vs " + b.type_name());
      // An OrderedDict against a dict (or a list against a tuple): the items are still comparable.
      // Likewise a Parameter against a tensor.
      bool both_dicts = a.is_dict() && b.is_dict(), both_sequences = (a.is_list() || a.is_tuple()) && (b.is_list() || b.is_tuple());
      if (!both_dicts && !both_sequences && !(a.is_tensor() && b.is_tensor())) return;
    }
    switch (a.kind()) {
      case io::Value::Kind::Tensor: return tensors(a.to_tensor(), b.to_tensor(), path);
      case io::Value::Kind::Storage: return tensors(a.storage_as_tensor(), b.storage_as_tensor(), path);
      case io::Value::Kind::Bytes:
        if (a.to_bytes() != b.to_bytes()) report.push_back(path + ": " + io::summary(a) + " vs " + io::summary(b));
        return;
      case io::Value::Kind::Dict: {
        for (const auto& [k, v] : a.dict()) {
          const io::Value* other = b.dict().find(k);
          if (!other) report.push_back(path + "[" + k.repr() + "]: only in A");
          else compare(v, *other, path + "[" + k.repr() + "]");
        }
        for (const auto& [k, v] : b.dict())
          if (!a.dict().contains(k)) report.push_back(path + "[" + k.repr() + "]: only in B");
        return;
      }
      case io::Value::Kind::List:
      case io::Value::Kind::Tuple: {
        if (a.size() != b.size()) {
          report.push_back(str(path, ": length ", a.size(), " vs ", b.size()));
          return;
        }
        for (size_t i = 0; i < a.size(); ++i) compare(a.at_index(i), b.at_index(i), path + "[" + std::to_string(i) + "]");
        return;
      }
      case io::Value::Kind::Double: {
        double x = a.to_double(), y = b.to_double();
        if (!(x == y || std::abs(x - y) <= atol || (std::isnan(x) && std::isnan(y))))
          report.push_back(str(path, ": ", x, " vs ", y));
        return;
      }
      default:
        if (io::summary(a) != io::summary(b)) report.push_back(path + ": " + io::summary(a) + " vs " + io::summary(b));
    }
  }

  void tensors(const Tensor& x, const Tensor& y, const std::string& path) {
    if (x.dtype() != y.dtype()) return report.push_back(str(path, ": dtype ", x.dtype(), " vs ", y.dtype()));
    if (x.sizes() != y.sizes()) return report.push_back(str(path, ": shape ", x.sizes(), " vs ", y.sizes()));
    if (is_complex(x.dtype())) return tensors(x.view_as_real(), y.view_as_real(), path + " (real, imaginary)");
    std::vector<double> a = x.to(kCPU).to_vector<double>(), b = y.to(kCPU).to_vector<double>();
    size_t differing = 0, worst_at = 0;
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      double d = std::abs(a[i] - b[i]);
      bool same = a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])) || d <= atol;
      if (!same) {
        ++differing;
        if (!(d <= worst)) worst = d, worst_at = i;
      }
    }
    if (differing)
      report.push_back(str(path, ": ", differing, " of ", a.size(), " values differ; largest |A-B| = ", worst, " at element ",
                           worst_at, " (", a[worst_at], " vs ", b[worst_at], ")"));
  }
};

}  // namespace

int diff(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  double atol = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--atol") {
      if (i + 1 >= args.size()) throw UsageError{"--atol needs a number"};
      try {
        atol = std::stod(args[++i]);
      } catch (...) {
        throw UsageError{"--atol needs a number, found '" + args[i] + "'"};
      }
    } else if (!args[i].empty() && args[i][0] == '-') {
      throw UsageError{"unknown option " + args[i]};
    } else {
      files.push_back(args[i]);
    }
  }
  if (files.size() != 2) throw UsageError{"expected two files A and B"};
  io::LoadOptions any_device = io::LoadOptions().keep_saved_locations();
  io::Value a = io::load(files[0], any_device), b = io::load(files[1], any_device);
  Differ d{atol, {}};
  d.compare(a, b, "root");
  if (d.report.empty()) {
    std::cout << "equal\n";
    return 0;
  }
  std::cout << d.report.size() << " difference(s) between " << files[0] << " (A) and " << files[1] << " (B):\n";
  for (const std::string& line : d.report) std::cout << "  " << line << "\n";
  return 1;
}


}  // namespace ember::tools
