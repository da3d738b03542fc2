#include "trainer.h"

#include <chrono>
#include <cstdio>

#include "models.h"

namespace fashion {

using namespace ember;
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

Trainer::Trainer(Options o)
    : o_(std::move(o)), device_(o_.device), world_(dist::init_process_group()),
      progress_(world_.rank() == 0 ? stdout : nullptr) {
  set_num_threads(o_.threads);
  manual_seed(dist::rank_seed(o_.seed, world_.rank()));  // rank 0's seed is --seed: one process is unchanged
  train_data_ = split(io::FashionMnist::Split::Train, o_.data_dir, o_.train_subset);
  test_data_ = split(io::FashionMnist::Split::Test, o_.data_dir, o_.test_subset);
  model_ = make_model(o_.model);
  model_->to(device_);  // before the optimizer, whose state then lives beside each parameter
  if (o_.sync_batch_norm) dist::convert_sync_batch_norm(*model_, world_);  // a group of one: unchanged
  if (world_.size() > 1) replica_ = std::make_shared<dist::DistributedDataParallel>(model_, world_);
  if (o_.optimizer == "adam")
    optimizer_ = std::make_unique<optim::Adam>(model_->parameters(), optim::AdamOptions(o_.lr));
  else
    optimizer_ = std::make_unique<optim::SGD>(model_->parameters(), optim::SGDOptions(o_.lr).momentum(0.9));
  loader_ = std::make_unique<io::DataLoader>(
      train_data_, io::DataLoaderOptions().batch_size(o_.batch_size).shuffle(true).drop_last(true).seed(o_.seed)
                       .distributed(world_.rank(), world_.size()));
  EMBER_CHECK_VALUE(loader_->batches_per_epoch() > 0, "the training set (", train_data_->size(),
                    " images) is smaller than one batch of ", o_.batch_size);
  scheduler_ = std::make_unique<optim::CosineAnnealingLR>(*optimizer_, o_.epochs * loader_->batches_per_epoch());
  rngs_.add("default", default_generator());
}

Tensor Trainer::forward(const Tensor& input) { return replica_ ? replica_->forward(input) : model_->forward(input); }

Trainer::Eval Trainer::evaluate(const train::PreemptionGuard* preemption) {
  NoGradGuard no_grad;
  model_->eval();
  Eval e;
  double loss_sum = 0, correct = 0;
  int64_t n = test_data_->size(), share = world_.size(), rank = world_.rank();
  // Chunks of 1000 images on every rank (the preemption check is a collective), each rank taking
  // every share-th image of a chunk; the sums are added in rank order, the same on every rank.
  for (int64_t start = 0; start < n; start += 1000) {
    if (preemption && preemption->requested()) {
      e.interrupted = true;
      break;
    }
    std::vector<int64_t> idx;
    for (int64_t i = start + rank; i < std::min(n, start + 1000); i += share) idx.push_back(i);
    if (idx.empty()) continue;
    io::Batch b = test_data_->get_batch(idx);
    Tensor logits = model_->forward(model_input(o_.model, b.input.to(device_)));
    Tensor target = b.target.to(device_);
    loss_sum += nn::cross_entropy(logits, target, nn::CrossEntropyOptions().reduction(nn::Reduction::Sum)).item();
    correct += sum(eq(argmax(logits, 1), target)).item();
  }
  model_->train();
  if (share > 1) {
    Tensor sums = world_.allgather(tensor(std::vector<double>{loss_sum, correct}));
    loss_sum = correct = 0;
    for (int64_t r = 0; r < share; ++r) {
      loss_sum += sums[r].to_vector<double>()[0];
      correct += sums[r].to_vector<double>()[1];
    }
  }
  e.loss = loss_sum / static_cast<double>(n);
  e.accuracy = correct / static_cast<double>(n);
  return e;
}

int Trainer::run() {
  // Takes the run directory's lock first: a second trainer on it stops here, touching nothing.
  train::Checkpointer ckpt(o_.run_dir, train::CheckpointerOptions()
                                           .keep_last(o_.keep)
                                           .keep_best(1, "test_accuracy", true)
                                           .background(o_.async_save)
                                           .resume(!o_.no_resume)
                                           .max_steps(o_.max_steps));
  ckpt.add("model_state_dict", *model_)
      .add("optimizer_state_dict", *optimizer_)
      .add("scheduler_state_dict", *scheduler_)
      .add("data_loader_state", *loader_)
      .add("rng_states", rngs_)
      .track("loss", last_loss_)
      .track("history", history_)
      .must_match("config", o_.config());
  train::Position at = ckpt.resume();
  for (const std::string& m : ckpt.take_messages()) progress_.message("note: " + m);
  int64_t per_epoch = loader_->batches_per_epoch(), total = o_.epochs * per_epoch;
  auto test_accuracy = [&] { return history_.empty() ? 0.0 : history_.back().at("test_accuracy").to_double(); };
  if (at.finished) {
    progress_.message(str("run in ", o_.run_dir, " is finished: ", at.epoch, " epochs, ", at.step, " steps, test accuracy ",
                          fmt("%.4f", test_accuracy()), " (", at.path, "); nothing to do"));
    return 0;
  }
  if (ckpt.at_step_limit(at)) {
    progress_.message(str("run in ", o_.run_dir, " is at --max-steps ", o_.max_steps, ": step ", at.step, " is saved (", at.path,
                          "); nothing to do (run without --max-steps, or with a larger one, to continue)"));
    return 0;
  }
  if (at.resumed()) {
    progress_.message(str("resuming from ", at.path, ": epoch ", at.epoch + 1, "/", o_.epochs, ", step ", at.step, "/", total,
                          ", batch ", loader_->cursor(), "/", per_epoch, " of the epoch"));
  } else {
    loader_->set_epoch(0);
    progress_.message(str("training ", o_.model, " on Fashion-MNIST (", train_data_->size(), " images) for ", o_.epochs,
                          " epochs of ", per_epoch, " steps", world_.size() > 1 ? str(" on ", world_.size(), " processes (global batch ",
                          world_.size() * o_.batch_size, o_.sync_batch_norm ? ", batch norm synchronized" : "", ")") : std::string(), "; checkpoints in ", o_.run_dir));
  }
  train::PreemptionGuard preemption;
  double train_ms = 0;
  int64_t timed_steps = 0;
  auto requeue = [&](const char* where) {
    ckpt.save(at);
    ckpt.wait();
    progress_.message(str("preempted by signal ", preemption.signal(), " ", where, ": saved step ", at.step, " in ", o_.run_dir,
                          "; exit ", train::kExitRequeue, " (run the same command to continue)"));
    return train::kExitRequeue;
  };
  while (at.epoch < o_.epochs) {
    io::Batch batch;
    while (true) {
      if (preemption.requested()) return requeue("during training");
      if (!loader_->next(batch)) break;
      auto start = Clock::now();
      Tensor target = batch.target.to(device_);
      Tensor logits = forward(model_input(o_.model, batch.input.to(device_)));
      Tensor loss = nn::cross_entropy(logits, target);
      optimizer_->zero_grad();
      loss.backward();
      optimizer_->step();
      scheduler_->step();
      train_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      ++timed_steps;
      ++at.step;
      last_loss_ = loss.item();
      double acc = accuracy_of(logits.detach(), target);
      progress_.step({at.epoch, o_.epochs, loader_->cursor(), per_epoch, at.step, total, last_loss_, acc, 1000.0 * timed_steps / train_ms});
      if (at.step % o_.log_every == 0) {
        if (world_.size() > 1) {  // the metrics of the global batch
          Tensor m = tensor(std::vector<double>{last_loss_, acc});
          world_.allreduce(m, dist::ReduceOp::average);
          last_loss_ = m.to_vector<double>()[0];
          acc = m.to_vector<double>()[1];
        }
        double lr = optimizer_->param_groups()[0].lr();
        ckpt.metrics().append({{"kind", "train"}, {"step", at.step}, {"epoch", at.epoch + 1}, {"loss", last_loss_},
                               {"accuracy", acc}, {"lr", lr}});
        progress_.line(str("epoch ", at.epoch + 1, "/", o_.epochs, " step ", at.step, "/", total,
                           fmt(" loss %.4f acc %.4f lr %.6f %.2f ms/step", last_loss_, acc, lr, train_ms / timed_steps)));
      }
      bool saved = o_.save_every_steps > 0 && at.step % o_.save_every_steps == 0;
      if (saved) {
        ckpt.save(at);
        progress_.line(str("checkpoint step ", at.step, o_.async_save ? " (background)" : "",
                           fmt(": training stalled %.1f ms", ckpt.last_stall_ms())));
      }
      if (ckpt.at_step_limit(at)) {
        if (!saved) ckpt.save(at);
        ckpt.wait();
        progress_.message(str("stopped at --max-steps ", o_.max_steps, ": saved step ", at.step,
                              "; run again without --max-steps to continue"));
        return 0;
      }
    }
    Eval e = evaluate(&preemption);
    if (e.interrupted) return requeue("during evaluation");
    io::Dict h;
    h.insert("epoch", at.epoch + 1);
    h.insert("step", at.step);
    h.insert("test_loss", e.loss);
    h.insert("test_accuracy", e.accuracy);
    history_.push_back(io::Value(std::move(h)));
    ckpt.metrics().append(
        {{"kind", "eval"}, {"step", at.step}, {"epoch", at.epoch + 1}, {"test_loss", e.loss}, {"test_accuracy", e.accuracy}});
    progress_.message(str("epoch ", at.epoch + 1, "/", o_.epochs, fmt(": test accuracy %.4f, test loss %.4f", e.accuracy, e.loss)));
    ++at.epoch;
    loader_->set_epoch(at.epoch);
    at.finished = at.epoch == o_.epochs;
    ckpt.save(at, {{"test_accuracy", e.accuracy}});
    // The model with its structure, for `ember export RUN_DIR/model.pt --example-shape ...`.
    if (world_.rank() == 0) nn::save_model(*model_, o_.run_dir + "/model.pt");
  }
  ckpt.wait();
  progress_.message(str("done: ", o_.epochs, " epochs, ", at.step, " steps, ",
                        timed_steps ? fmt("%.2f", train_ms / timed_steps) : std::string("n/a"),
                        " ms/step (mean over training steps of this process, ", o_.threads, " thread(s)",
                        world_.size() > 1 ? str(", one of ", world_.size(), " processes") : std::string(), "), final test accuracy ",
                        fmt("%.4f", test_accuracy())));
  return 0;
}

int Trainer::evaluate_only() {
  io::Value loaded;
  std::string from;
  if (!o_.eval_checkpoint.empty()) {
    loaded = io::load(o_.eval_checkpoint, io::LoadOptions().map_location(kCPU));  // copied onto --device below
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
  Eval e = evaluate(nullptr);
  std::printf("%s: test accuracy %.4f, test loss %.4f (%lld images, eval mode)\n", from.c_str(), e.accuracy, e.loss,
              static_cast<long long>(test_data_->size()));
  return 0;
}

}  // namespace fashion
