// sensor-sim's potentiometer: lines of raw ADC readings from stdin, held until the next line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "alertloop/hal.h"
#include "input_lines.h"

namespace host {

// A reading 0-4095, surrounding whitespace allowed; false for anything else.
bool parse_adc_line(const std::string &line, uint16_t &out);

class LineAdc : public alertloop::Adc {
 public:
  // Feeds raw stdin bytes; complete lines update the reading, bad ones are reported and counted.
  void feed(const char *data, size_t length);
  uint16_t read_raw() override { return value_; }
  bool ready() override { return has_value_; }
  uint32_t ignored() const { return lines_.ignored(); }

 private:
  InputLines lines_{"an integer 0-4095"};
  bool has_value_ = false;
  uint16_t value_ = 0;
};

}  // namespace host
