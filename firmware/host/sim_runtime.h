// What both simulators share around the firmware logic: logging to stderr, stopping on
// SIGTERM/SIGINT, and waiting for I/O or the next tick without spinning.
#pragma once

#include "alertloop/connection.h"
#include "alertloop/messages.h"
#include "mosquitto_link.h"
#include "posix_hal.h"
#include "sim_options.h"

namespace host {

// Sets the log prefix, installs the signal handlers and initialises libmosquitto.
void start_runtime(const char *program);
void stop_runtime();
bool stop_requested();

// Waits up to `tick_ms` for the link's socket (and `extra_fd` when >= 0) to be ready.
// Returns true when `extra_fd` is readable.
bool wait_for_io(const MosquittoLink &link, int extra_fd, int tick_ms);

// The simulators' broker connection: libmosquitto, an always-up network, and the firmware's
// reconnect state machine with its presence on status/<device id>. Short back-off
// (--backoff-max-ms) so tests and demos recover quickly.
class SimConnection {
 public:
  explicit SimConnection(const SimOptions &options);
  SimConnection(const SimConnection &) = delete;
  SimConnection &operator=(const SimConnection &) = delete;

  // false: the status topic does not fit (it says so); the simulator exits with status 2.
  bool ok() const { return manager_.ok(); }
  MosquittoLink &link() { return link_; }
  alertloop::ConnectionManager &manager() { return manager_; }

 private:
  LoopbackNetwork network_;
  MosquittoLink link_;
  alertloop::ConnectionManager manager_;
};

// Parses the command line; on error or --help prints and returns the exit code to use (>= 0).
int handle_command_line(SimKind kind, int argc, char **argv, SimOptions &options);

}  // namespace host
