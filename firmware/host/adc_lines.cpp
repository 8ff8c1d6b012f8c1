#include "adc_lines.h"

#include "alertloop/log.h"

namespace host {

bool parse_adc_line(const std::string &line, uint16_t &out) {
  const char *spaces = " \t\r\n";
  size_t start = line.find_first_not_of(spaces);
  if (start == std::string::npos) return false;
  size_t end = line.find_last_not_of(spaces);
  std::string text = line.substr(start, end - start + 1);
  if (text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  unsigned value = static_cast<unsigned>(std::stoul(text));
  if (value > 4095) return false;
  out = static_cast<uint16_t>(value);
  return true;
}

void LineAdc::feed(const char *data, size_t length) {
  for (size_t i = 0; i < length; i++) {
    if (data[i] == '\n') {
      take_line();
    } else if (pending_.size() < kMaxLine) {
      pending_ += data[i];
    } else {
      overlong_ = true;
    }
  }
}

void LineAdc::take_line() {
  line_number_++;
  uint16_t value = 0;
  bool blank = !overlong_ && pending_.find_first_not_of(" \t\r") == std::string::npos;
  if (!blank) {
    if (!overlong_ && parse_adc_line(pending_, value)) {
      value_ = value;
      has_value_ = true;
    } else {
      ignored_++;
      std::string shown = overlong_ ? "too long" : "'" + pending_ + "'";
      for (char &c : shown) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
      }
      alertloop::log_line("stdin line %lu ignored (%s): expected an integer 0-4095",
                          static_cast<unsigned long>(line_number_), shown.c_str());
    }
  }
  pending_.clear();
  overlong_ = false;
}

}  // namespace host
