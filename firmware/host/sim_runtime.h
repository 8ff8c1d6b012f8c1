// What both simulators share around the firmware logic: logging to stderr, stopping on
// SIGTERM/SIGINT, and waiting for I/O or the next tick without spinning.
#pragma once

#include "mosquitto_link.h"
#include "sim_options.h"

namespace host {

// Sets the log prefix, installs the signal handlers and initialises libmosquitto.
void start_runtime(const char *program);
void stop_runtime();
bool stop_requested();

// Waits up to `tick_ms` for the link's socket (and `extra_fd` when >= 0) to be ready.
// Returns true when `extra_fd` is readable.
bool wait_for_io(const MosquittoLink &link, int extra_fd, int tick_ms);

// Parses the command line; on error or --help prints and returns the exit code to use (>= 0).
int handle_command_line(SimKind kind, int argc, char **argv, SimOptions &options);

}  // namespace host
