// The simulators' standard input: lines, read without blocking the firmware loop; a line the
// simulator does not accept is reported on the log with what was expected, and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace host {

class InputLines {
 public:
  // `expected`: what a good line is, for the message about a bad one ("an integer 0-4095").
  explicit InputLines(const char *expected) : expected_(expected) {}
  using Accept = std::function<bool(const std::string &line)>;
  // Feeds raw bytes; each complete non-blank line goes to `accept` (false: ignored and counted).
  // Blank lines are skipped silently, over-long ones ignored without reaching `accept`.
  void feed(const char *data, size_t length, const Accept &accept);
  uint32_t ignored() const { return ignored_; }

 private:
  void take_line(const Accept &accept);

  static const size_t kMaxLine = 64;
  const char *expected_;
  std::string pending_;
  bool overlong_ = false;
  uint32_t ignored_ = 0;
  uint32_t line_number_ = 0;
};

// `line` is `word`, give or take surrounding white space ("press", " press\r").
bool is_word(const std::string &line, const char *word);

// Standard input, read only when wait_for_io() says it is readable.
class Stdin {
 public:
  int fd() const { return open_ ? 0 : -1; }
  // Reads what is there into `on_data`; at end of input says so on the log and closes.
  void read(const std::function<void(const char *data, size_t length)> &on_data);

 private:
  bool open_ = true;
};

}  // namespace host
