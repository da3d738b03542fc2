// ember plot: loss and accuracy against step from each run's metrics.jsonl, as one SVG, so a
// resumed run can be laid over an uninterrupted one.
//
// metrics.jsonl rows (written by examples/train_fashion_mnist): {"kind": "train", "step", "epoch",
// "loss", "accuracy", "lr"} and {"kind": "eval", "step", "epoch", "test_loss", "test_accuracy"}.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tools/commands.h"

namespace ember::tools {

namespace {

struct Series {
  std::string label;
  std::vector<std::pair<double, double>> points;
  bool markers = false;
};

struct Panel {
  std::string title;
  std::vector<Series> series;
};

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

void draw(std::ostream& svg, const Panel& panel, double x0, double y0, double w, double h) {
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const Series& s : panel.series)
    for (auto [x, y] : s.points) {
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  auto px = [&](double x) { return x0 + 50 + (x - xmin) / (xmax - xmin) * (w - 70); };
  auto py = [&](double y) { return y0 + h - 40 - (y - ymin) / (ymax - ymin) * (h - 70); };
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + 18 << "' text-anchor='middle' font-size='14'>" << panel.title << "</text>\n";
  svg << "<rect x='" << x0 + 50 << "' y='" << y0 + 30 << "' width='" << w - 70 << "' height='" << h - 70
      << "' fill='none' stroke='#999'/>\n";
  for (int i = 0; i <= 4; ++i) {
    double yv = ymin + (ymax - ymin) * i / 4, xv = xmin + (xmax - xmin) * i / 4;
    svg << "<text x='" << x0 + 45 << "' y='" << py(yv) + 4 << "' text-anchor='end' font-size='10'>" << std::setprecision(3) << yv << "</text>\n";
    svg << "<text x='" << px(xv) << "' y='" << y0 + h - 25 << "' text-anchor='middle' font-size='10'>" << std::llround(xv) << "</text>\n";
  }
  svg << "<text x='" << x0 + w / 2 << "' y='" << y0 + h - 8 << "' text-anchor='middle' font-size='11'>step</text>\n";
  for (size_t i = 0; i < panel.series.size(); ++i) {
    const Series& s = panel.series[i];
    const char* color = kColors[(i / 2) % 6];
    if (s.markers) {
      for (auto [x, y] : s.points)
        svg << "<circle cx='" << px(x) << "' cy='" << py(y) << "' r='3' fill='" << color << "'/>\n";
    } else {
      svg << "<polyline fill='none' stroke='" << color << "' stroke-width='1.2' stroke-opacity='0.8' points='";
      for (auto [x, y] : s.points) svg << px(x) << "," << py(y) << " ";
      svg << "'/>\n";
    }
    svg << "<text x='" << x0 + 60 << "' y='" << y0 + 45 + 13 * i << "' font-size='10' fill='" << color << "'>" << s.label << "</text>\n";
  }
}

}  // namespace

int plot(const std::vector<std::string>& args) {
  std::vector<std::string> runs;
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o") {
      if (i + 1 >= args.size()) throw UsageError{"-o needs a file name"};
      out = args[++i];
    } else {
      runs.push_back(args[i]);
    }
  }
  if (runs.empty() || out.empty()) throw UsageError{"expected RUN_DIR... -o curves.svg"};
  Panel loss{"loss", {}}, acc{"accuracy", {}};
  for (const std::string& run : runs) {
    std::string path = run + "/metrics.jsonl";
    std::ifstream in(path);
    EMBER_CHECK_VALUE(in.good(), path, ": cannot open (is ", run, " a run directory?)");
    Series tl{run + " train", {}, false}, el{run + " test", {}, true}, ta{run + " train", {}, false}, ea{run + " test", {}, true};
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.empty()) continue;
      nlohmann::json row;
      try {
        row = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw ValueError(str(path, ": line ", n, " is not JSON: ", e.what()));
      }
      double step = row.value("step", 0.0);
      if (row.value("kind", "") == "train") {
        tl.points.emplace_back(step, row.value("loss", 0.0));
        ta.points.emplace_back(step, row.value("accuracy", 0.0));
      } else if (row.value("kind", "") == "eval") {
        el.points.emplace_back(step, row.value("test_loss", 0.0));
        ea.points.emplace_back(step, row.value("test_accuracy", 0.0));
      }
    }
    loss.series.push_back(tl);
    loss.series.push_back(el);
    acc.series.push_back(ta);
    acc.series.push_back(ea);
  }
  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='1000' height='420' font-family='sans-serif'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n";
  draw(svg, loss, 0, 0, 500, 420);
  draw(svg, acc, 500, 0, 500, 420);
  svg << "</svg>\n";
  std::ofstream f(out);
  f << svg.str();
  EMBER_CHECK_VALUE(f.good(), out, ": cannot write");
  std::cout << "wrote " << out << " (" << runs.size() << " run(s))\n";
  return 0;
}

}  // namespace ember::tools
