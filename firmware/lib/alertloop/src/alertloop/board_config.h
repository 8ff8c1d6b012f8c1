// Checks of the settings compiled into a board from secrets.ini. A board with missing settings
// does not try to connect; it prints what is missing on the serial monitor instead.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alertloop {

struct BoardSecrets {
  const char *wifi_ssid;
  const char *wifi_password;
  const char *mqtt_host;
  const char *mqtt_port;  // decimal text, as it comes from secrets.ini
  const char *device_id = nullptr;  // optional: empty or nullptr for one made from the MAC
};

// 1-65535, or 0 when `text` is not such a number.
uint16_t parse_port(const char *text);

// true when everything is set; otherwise writes "missing or invalid in secrets.ini: a, b" to out.
bool check_secrets(const BoardSecrets &secrets, char *out, size_t size);

}  // namespace alertloop
