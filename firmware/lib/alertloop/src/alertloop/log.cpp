#include "alertloop/log.h"

#include <cstdarg>
#include <cstdio>

namespace alertloop {

static LogSink sink_ = nullptr;

void set_log_sink(LogSink sink) { sink_ = sink; }

void log_line(const char *format, ...) {
  if (sink_ == nullptr) return;
  char line[192];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof(line), format, args);
  va_end(args);
  sink_(line);
}

}  // namespace alertloop
