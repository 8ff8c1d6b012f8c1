// One-line log messages: the boards print them on the serial monitor, the simulators on stderr.
#pragma once

namespace alertloop {

using LogSink = void (*)(const char *line);

void set_log_sink(LogSink sink);
void log_line(const char *format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace alertloop
