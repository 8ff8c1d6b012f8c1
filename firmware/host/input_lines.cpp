#include "input_lines.h"

#include <unistd.h>

#include "alertloop/log.h"

namespace host {

void InputLines::feed(const char *data, size_t length, const Accept &accept) {
  for (size_t i = 0; i < length; i++) {
    if (data[i] == '\n') {
      take_line(accept);
    } else if (pending_.size() < kMaxLine) {
      pending_ += data[i];
    } else {
      overlong_ = true;
    }
  }
}

void InputLines::take_line(const Accept &accept) {
  line_number_++;
  bool blank = !overlong_ && pending_.find_first_not_of(" \t\r") == std::string::npos;
  if (!blank && (overlong_ || !accept(pending_))) {
    ignored_++;
    std::string shown = overlong_ ? "too long" : "'" + pending_ + "'";
    for (char &c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    }
    alertloop::log_line("stdin line %lu ignored (%s): expected %s",
                        static_cast<unsigned long>(line_number_), shown.c_str(), expected_);
  }
  pending_.clear();
  overlong_ = false;
}

bool is_word(const std::string &line, const char *word) {
  const char *spaces = " \t\r";
  size_t start = line.find_first_not_of(spaces);
  if (start == std::string::npos) return false;
  size_t end = line.find_last_not_of(spaces);
  return line.compare(start, end - start + 1, word) == 0;
}

void Stdin::read(const std::function<void(const char *data, size_t length)> &on_data) {
  if (!open_) return;
  char buffer[4096];
  ssize_t got = ::read(STDIN_FILENO, buffer, sizeof(buffer));
  if (got > 0) {
    on_data(buffer, static_cast<size_t>(got));
    return;
  }
  open_ = false;
  alertloop::log_line("stdin closed");
}

}  // namespace host
