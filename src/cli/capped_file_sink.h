// keel's own --log-file, size-capped: spdlog's rotating sink would leave
// numbered files behind (or, with none, cut the start of the log, the part
// that explains what happened), so this sink appends to the one file until
// `max_size` bytes were written in this run, then writes one note line and
// drops the rest. Thread-safe (spdlog's base_sink mutex).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>

namespace keel::cli {

class CappedFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Opens `path` for appending; throws spdlog::spdlog_ex if it cannot.
  CappedFileSink(const std::string& path, uint64_t max_size);

  uint64_t written() const noexcept { return written_; }
  bool capped() const noexcept { return capped_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override;

 private:
  spdlog::details::file_helper file_;
  const uint64_t max_size_;
  uint64_t written_ = 0;
  bool capped_ = false;
};

}  // namespace keel::cli
