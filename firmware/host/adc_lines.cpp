#include "adc_lines.h"

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
  lines_.feed(data, length, [this](const std::string &line) {
    uint16_t value = 0;
    if (!parse_adc_line(line, value)) return false;
    value_ = value;
    has_value_ = true;
    return true;
  });
}

}  // namespace host
