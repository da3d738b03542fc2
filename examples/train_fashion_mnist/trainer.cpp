#include "trainer.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models.h"
#include "preemption.h"

namespace fashion {

using namespace ember;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<const io::Dataset> split(io::FashionMnist::Split which, const std::string& dir, int64_t subset) {
  auto data = std::make_shared<io::FashionMnist>(which, dir);
  if (subset > 0 && subset < data->size()) return std::make_shared<io::Subset>(data, subset);
  return data;
}

double accuracy_of(const Tensor& logits, const Tensor& target) {
  return sum(eq(argmax(logits, 1), target)).item() / static_cast<double>(target.numel());
}

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

}  // namespace

Trainer::Trainer(Options o) : o_(std::move(o)) {
  set_num_threads(o_.threads);
  manual_seed(o_.seed);
  train_data_ = split(io::FashionMnist::Split::Train, o_.data_dir, o_.train_subset);
  test_data_ = split(io::FashionMnist::Split::Test, o_.data_dir, o_.test_subset);
  model_ = make_model(o_.model);
  if (o_.optimizer == "adam")
    optimizer_ = std::make_unique<optim::Adam>(model_->parameters(), optim::AdamOptions(o_.lr));
  else
    optimizer_ = std::make_unique<optim::SGD>(model_->parameters(), optim::SGDOptions(o_.lr).momentum(0.9));
  loader_ = std::make_unique<io::DataLoader>(
      train_data_, io::DataLoaderOptions().batch_size(o_.batch_size).shuffle(true).drop_last(true).seed(o_.seed));
  EMBER_CHECK_VALUE(loader_->batches_per_epoch() > 0, "the training set (", train_data_->size(),
                    " images) is smaller than one batch of ", o_.batch_size);
  scheduler_ = std::make_unique<optim::CosineAnnealingLR>(*optimizer_, o_.epochs * loader_->batches_per_epoch());
}

io::Value Trainer::state() const {
  io::Value s = io::Dict();
  s["epoch"] = epoch_;
  s["global_step"] = global_step_;
  s["model_state_dict"] = model_->state_dict();
  s["optimizer_state_dict"] = optimizer_->state_dict();
  s["scheduler_state_dict"] = scheduler_->state_dict();
  s["loss"] = last_loss_;
  s["history"] = history_;
  GeneratorState rng = default_generator().get_state();
  io::Dict gen;
  gen.insert("seed", static_cast<int64_t>(rng.seed));
  gen.insert("offset", static_cast<int64_t>(rng.offset));
  io::Dict rngs;
  rngs.insert("default", io::Value(std::move(gen)));
  s["rng_states"] = io::Value(std::move(rngs));
  s["data_loader_state"] = loader_->state_dict();
  s["metrics_rows"] = metrics_rows_;
  s["finished"] = finished_;
  s["config"] = o_.config();
  s["ember_version"] = "0.1.0";
  return s;
}

void Trainer::restore(const io::Value& s) {
  const io::Dict& saved = s.at("config").dict();
  io::Value mine = o_.config();
  for (const auto& [k, v] : mine.dict())
    EMBER_CHECK_VALUE(saved.contains(k) && io::summary(saved.at(k)) == io::summary(v), "the checkpoints in ", o_.run_dir,
                      " were written with ", k.str(), " = ", saved.contains(k) ? io::summary(saved.at(k)) : "(unset)",
                      ", this run has ", io::summary(v), "; use the same flags, another --run-dir, or --no-resume");
  model_->load_state_dict(s.at("model_state_dict"));
  optimizer_->load_state_dict(s.at("optimizer_state_dict"));
  scheduler_->load_state_dict(s.at("scheduler_state_dict"));
  const io::Value& gen = s.at("rng_states").at("default");
  default_generator().set_state({static_cast<uint64_t>(gen.at("seed").to_int()), static_cast<uint64_t>(gen.at("offset").to_int())});
  loader_->load_state_dict(s.at("data_loader_state"));
  epoch_ = s.at("epoch").to_int();
  global_step_ = s.at("global_step").to_int();
  last_loss_ = s.at("loss").to_double();
  history_ = s.at("history").list();
  metrics_rows_ = s.at("metrics_rows").to_int();
  finished_ = s.at("finished").to_bool();
}

void Trainer::save(std::map<std::string, double> metrics) {
  checkpoints_->save(global_step_, state(), std::move(metrics));
}

void Trainer::append_metrics(const nlohmann::json& row) {
  std::ofstream out(o_.run_dir + "/metrics.jsonl", std::ios::app);
  out << row.dump() << "\n";
  out.flush();
  EMBER_CHECK(out.good(), o_.run_dir, "/metrics.jsonl: write failed");
  ++metrics_rows_;
}

// Keeps the first `rows` rows: those the checkpoint we resume from had seen. Later rows (and a
// row torn by a kill) belong to steps that will run again.
void Trainer::truncate_metrics(int64_t rows) {
  std::string path = o_.run_dir + "/metrics.jsonl";
  std::ifstream in(path);
  std::string text, line;
  for (int64_t i = 0; i < rows && std::getline(in, line); ++i) text += line + "\n";
  io::AtomicFile out(path);
  out.write(text.data(), text.size());
  out.commit();
}

Trainer::Eval Trainer::evaluate() {
  NoGradGuard no_grad;
  model_->eval();
  Eval e;
  double loss_sum = 0, correct = 0;
  int64_t n = test_data_->size();
  for (int64_t start = 0; start < n; start += 1000) {
    if (preemption_requested()) {
      e.interrupted = true;
      break;
    }
    std::vector<int64_t> idx;
    for (int64_t i = start; i < std::min(n, start + 1000); ++i) idx.push_back(i);
    io::Batch b = test_data_->get_batch(idx);
    Tensor logits = model_->forward(model_input(o_.model, b.input));
    loss_sum += nn::cross_entropy(logits, b.target, nn::CrossEntropyOptions().reduction(nn::Reduction::Sum)).item();
    correct += sum(eq(argmax(logits, 1), b.target)).item();
  }
  model_->train();
  e.loss = loss_sum / static_cast<double>(n);
  e.accuracy = correct / static_cast<double>(n);
  return e;
}

int Trainer::run() {
  fs::create_directories(o_.run_dir);
  if (o_.no_resume)
    for (const auto& e : fs::directory_iterator(o_.run_dir)) {
      std::string name = e.path().filename().string();
      if (name.rfind("ckpt-", 0) == 0 || name == "checkpoints.json" || name == "metrics.jsonl" || name == "corrupt") fs::remove_all(e.path());
    }
  checkpoints_ = std::make_unique<io::CheckpointManager>(
      o_.run_dir, io::CheckpointPolicy().keep_last(o_.keep).keep_best(1, "test_accuracy", true).background(o_.async_save));
  auto latest = checkpoints_->latest();
  for (const std::string& m : checkpoints_->take_messages()) progress_.message("note: " + m);
  int64_t per_epoch = loader_->batches_per_epoch(), total = o_.epochs * per_epoch;
  if (latest) {
    restore(latest->state);
    truncate_metrics(metrics_rows_);
    if (finished_) {
      double acc = history_.empty() ? 0 : history_.back().at("test_accuracy").to_double();
      progress_.message(str("run in ", o_.run_dir, " is finished: ", epoch_, " epochs, ", global_step_, " steps, test accuracy ",
                            fmt("%.4f", acc), " (", latest->info.path, "); nothing to do"));
      return 0;
    }
    progress_.message(str("resuming from ", latest->info.path, ": epoch ", epoch_ + 1, "/", o_.epochs, ", step ",
                          global_step_, "/", total, ", batch ", loader_->cursor(), "/", per_epoch, " of the epoch"));
  } else {
    truncate_metrics(0);
    loader_->set_epoch(0);
    progress_.message(str("training ", o_.model, " on Fashion-MNIST (", train_data_->size(), " images) for ", o_.epochs,
                          " epochs of ", per_epoch, " steps; checkpoints in ", o_.run_dir));
  }
  install_preemption_handlers();
  double train_ms = 0;
  int64_t timed_steps = 0;
  auto requeue = [&](const char* where) {
    save();
    checkpoints_->wait();
    progress_.message(str("preempted by signal ", preemption_signal(), " ", where, ": saved step ", global_step_, " in ",
                          o_.run_dir, "; exit ", kExitRequeue, " (run the same command to continue)"));
    return kExitRequeue;
  };
  while (epoch_ < o_.epochs) {
    io::Batch batch;
    while (true) {
      if (preemption_requested()) return requeue("during training");
      if (!loader_->next(batch)) break;
      auto start = Clock::now();
      Tensor logits = model_->forward(model_input(o_.model, batch.input));
      Tensor loss = nn::cross_entropy(logits, batch.target);
      optimizer_->zero_grad();
      loss.backward();
      optimizer_->step();
      scheduler_->step();
      train_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      ++timed_steps;
      ++global_step_;
      last_loss_ = loss.item();
      double acc = accuracy_of(logits.detach(), batch.target);
      progress_.step(epoch_, o_.epochs, loader_->cursor(), per_epoch, global_step_, total, last_loss_, acc,
                     1000.0 * timed_steps / train_ms);
      if (global_step_ % o_.log_every == 0) {
        double lr = optimizer_->param_groups()[0].lr();
        append_metrics({{"kind", "train"}, {"step", global_step_}, {"epoch", epoch_ + 1}, {"loss", last_loss_},
                        {"accuracy", acc}, {"lr", lr}});
        progress_.line(str("epoch ", epoch_ + 1, "/", o_.epochs, " step ", global_step_, "/", total,
                           fmt(" loss %.4f acc %.4f lr %.6f %.2f ms/step", last_loss_, acc, lr, train_ms / timed_steps)));
      }
      if (o_.save_every_steps > 0 && global_step_ % o_.save_every_steps == 0) {
        save();
        progress_.line(str("checkpoint step ", global_step_, o_.async_save ? " (background)" : "",
                           fmt(": training stalled %.1f ms", checkpoints_->last_stall_ms())));
      }
      if (o_.max_steps > 0 && global_step_ >= o_.max_steps) {
        save();
        checkpoints_->wait();
        progress_.message(str("stopped at --max-steps ", o_.max_steps, ": saved step ", global_step_,
                              "; run again without --max-steps to continue"));
        return 0;
      }
    }
    Eval e = evaluate();
    if (e.interrupted) return requeue("during evaluation");
    io::Dict h;
    h.insert("epoch", epoch_ + 1);
    h.insert("step", global_step_);
    h.insert("test_loss", e.loss);
    h.insert("test_accuracy", e.accuracy);
    history_.push_back(io::Value(std::move(h)));
    append_metrics({{"kind", "eval"}, {"step", global_step_}, {"epoch", epoch_ + 1}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    progress_.message(str("epoch ", epoch_ + 1, "/", o_.epochs, fmt(": test accuracy %.4f, test loss %.4f", e.accuracy, e.loss)));
    ++epoch_;
    loader_->set_epoch(epoch_);
    finished_ = epoch_ == o_.epochs;
    save({{"test_accuracy", e.accuracy}});
  }
  checkpoints_->wait();
  double acc = history_.empty() ? 0 : history_.back().at("test_accuracy").to_double();
  progress_.message(str("done: ", o_.epochs, " epochs, ", global_step_, " steps, ",
                        timed_steps ? fmt("%.2f", train_ms / timed_steps) : std::string("n/a"),
                        " ms/step (mean over training steps of this process, ", o_.threads, " thread(s)), final test accuracy ",
                        fmt("%.4f", acc)));
  return 0;
}

int Trainer::evaluate_only() {
  io::Value loaded;
  std::string from;
  if (!o_.eval_checkpoint.empty()) {
    loaded = io::load(o_.eval_checkpoint);
    from = o_.eval_checkpoint;
  } else {
    io::CheckpointManager ckpts(o_.run_dir, io::CheckpointPolicy().keep_best(1, "test_accuracy", true));
    auto best = ckpts.best();
    EMBER_CHECK_VALUE(best.has_value(), "no checkpoint in ", o_.run_dir, " to evaluate (train first, or pass a file)");
    loaded = best->state;
    from = best->info.path;
  }
  // An ember checkpoint holds model_state_dict; a PyTorch state_dict is the model's dict itself.
  model_->load_state_dict(loaded.contains("model_state_dict") ? loaded.at("model_state_dict") : loaded);
  Eval e = evaluate();
  std::printf("%s: test accuracy %.4f, test loss %.4f (%lld images, eval mode)\n", from.c_str(), e.accuracy, e.loss,
              static_cast<long long>(test_data_->size()));
  return 0;
}

}  // namespace fashion
