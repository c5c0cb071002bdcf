#include "src/cli/capped_file_sink.h"

#include <fmt/format.h>

namespace keel::cli {

CappedFileSink::CappedFileSink(const std::string& path, uint64_t max_size) : max_size_(max_size) {
  file_.open(path, /*truncate=*/false);
}

void CappedFileSink::sink_it_(const spdlog::details::log_msg& message) {
  if (capped_) return;
  spdlog::memory_buf_t formatted;
  formatter_->format(message, formatted);
  if (formatted.size() > max_size_ - written_) {
    // Whole messages only; the note says where the log stops and why.
    capped_ = true;
    const std::string note =
        fmt::format("[keel: log truncated at {} bytes (--log-file max-size {}); further messages are dropped]\n",
                    written_, max_size_);
    spdlog::memory_buf_t buffer;
    buffer.append(note.data(), note.data() + note.size());
    file_.write(buffer);
    file_.flush();
    return;
  }
  written_ += formatted.size();
  file_.write(formatted);
}

void CappedFileSink::flush_() { file_.flush(); }

}  // namespace keel::cli
