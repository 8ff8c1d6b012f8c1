#include "alertloop/board_config.h"

#include <cstdio>
#include <cstring>

#include "alertloop/messages.h"

namespace alertloop {

uint16_t parse_port(const char *text) {
  if (text == nullptr || *text == '\0') return 0;
  uint32_t value = 0;
  for (const char *c = text; *c != '\0'; c++) {
    if (*c < '0' || *c > '9') return 0;
    value = value * 10 + static_cast<uint32_t>(*c - '0');
    if (value > 65535) return 0;
  }
  return static_cast<uint16_t>(value);
}

static bool empty(const char *text) { return text == nullptr || *text == '\0'; }

bool check_secrets(const BoardSecrets &secrets, char *out, size_t size) {
  const char *problems[5];
  size_t count = 0;
  if (empty(secrets.wifi_ssid)) problems[count++] = "wifi_ssid";
  if (secrets.wifi_password == nullptr) problems[count++] = "wifi_password";
  if (empty(secrets.mqtt_host)) problems[count++] = "mqtt_host";
  if (parse_port(secrets.mqtt_port) == 0) problems[count++] = "mqtt_port";
  if (!empty(secrets.device_id) && !device_id_ok(secrets.device_id)) {
    problems[count++] = "device_id";
  }
  if (count == 0) return true;
  int written = snprintf(out, size, "missing or invalid in secrets.ini:");
  for (size_t i = 0; i < count && written >= 0 && static_cast<size_t>(written) < size; i++) {
    written += snprintf(out + written, size - written, "%s %s", i == 0 ? "" : ",", problems[i]);
  }
  return false;
}

}  // namespace alertloop
