#include "sim_runtime.h"

#include <mosquitto.h>
#include <poll.h>

#include <csignal>
#include <cstdio>
#include <string>

#include "alertloop/log.h"

namespace host {

static volatile sig_atomic_t stop_ = 0;
static const char *program_ = "sim";

static void on_signal(int) { stop_ = 1; }

static void log_to_stderr(const char *line) { fprintf(stderr, "%s: %s\n", program_, line); }

void start_runtime(const char *program) {
  program_ = program;
  alertloop::set_log_sink(log_to_stderr);
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  mosquitto_lib_init();
}

void stop_runtime() { mosquitto_lib_cleanup(); }

bool stop_requested() { return stop_ != 0; }

bool wait_for_io(const MosquittoLink &link, int extra_fd, int tick_ms) {
  pollfd fds[2];
  nfds_t count = 0;
  int extra_index = -1;
  if (extra_fd >= 0) {
    extra_index = static_cast<int>(count);
    fds[count++] = {extra_fd, POLLIN, 0};
  }
  int sock = link.socket();
  if (sock >= 0) fds[count++] = {sock, static_cast<short>(POLLIN | (link.wants_write() ? POLLOUT : 0)), 0};
  if (poll(fds, count, tick_ms) <= 0 || extra_index < 0) return false;
  return (fds[extra_index].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

static alertloop::ConnectionSettings connection_settings(const SimOptions &options) {
  alertloop::ConnectionSettings settings;
  settings.backoff_initial_ms = 100;
  settings.backoff_max_ms = options.backoff_max_ms;
  settings.connect_timeout_ms = 5000;
  return settings;
}

SimConnection::SimConnection(const SimOptions &options)
    : link_(options.host, options.port, alertloop::kKeepaliveS),
      manager_(network_, link_,
               {options.device_id.c_str(), options.username.c_str(), options.password.c_str(),
                ALERTLOOP_STATUS_ROOT},
               connection_settings(options)) {
  if (!manager_.ok()) alertloop::log_line("--device-id is too long");
}

int handle_command_line(SimKind kind, int argc, char **argv, SimOptions &options) {
  std::string error;
  if (!parse_sim_options(kind, argc, argv, options, error)) {
    fprintf(stderr, "%s: %s\n%s", program_, error.c_str(), sim_usage(kind));
    return 2;
  }
  if (options.help) {
    fputs(sim_usage(kind), stdout);
    return 0;
  }
  return -1;
}

}  // namespace host
