// MetricsLog: RUN_DIR/metrics.jsonl, one JSON object per line, flushed as it is written.
//
// It is Stateful: its state is the number of rows written. A Checkpointer saves that count with
// every checkpoint and, on resume, truncates the file back to it — the rows after the checkpoint
// (and a row torn by a kill) belong to steps that will run again — so a resumed run's file ends
// byte-identical to an uninterrupted run's.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "io/stateful.h"

namespace ember::train {

class MetricsLog : public io::Stateful {
 public:
  // An empty path makes a log that counts rows and writes nothing (the non-zero ranks of a
  // distributed run, whose rows rank 0 writes).
  explicit MetricsLog(std::string path);
  ~MetricsLog() override;
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends one row; throws Error if the write fails.
  void append(const nlohmann::json& row);
  int64_t rows() const { return rows_; }
  const std::string& path() const { return path_; }
  // Keeps the first `rows` complete lines (an atomic rewrite; a missing file stays missing). A
  // file with fewer rows (lost to a power cut before it was synced) is kept as it is.
  void truncate(int64_t rows);
  // fsync: the Checkpointer calls it before each checkpoint, so a committed checkpoint never counts
  // rows the disk does not have.
  void sync();

  io::Value state_dict() const override { return rows_; }
  void load_state_dict(const io::Value& state) override;

 private:
  std::string path_;
  int64_t rows_ = 0;
  int fd_ = -1;  // opened for appending on the first row
};

}  // namespace ember::train
