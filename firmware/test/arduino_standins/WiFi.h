// Stand-in: the subset of the ESP32 WiFi library (and of ESP8266WiFi) that src/ uses.
#pragma once

#include <cstdint>

#include "Arduino.h"
#include "Client.h"

typedef enum {
  WL_IDLE_STATUS = 0,
  WL_NO_SSID_AVAIL = 1,
  WL_CONNECTED = 3,
  WL_CONNECT_FAILED = 4,
  WL_CONNECTION_LOST = 5,
  WL_DISCONNECTED = 6
} wl_status_t;

typedef enum { WIFI_OFF = 0, WIFI_STA = 1, WIFI_AP = 2, WIFI_AP_STA = 3 } wifi_mode_t;

class WiFiClass {
 public:
  bool mode(wifi_mode_t mode);
  wl_status_t begin(const char *ssid, const char *passphrase = nullptr);
  bool reconnect();
  bool disconnect(bool wifi_off = false);
  bool setAutoReconnect(bool auto_reconnect);
  wl_status_t status();
  uint8_t *macAddress(uint8_t *mac);
#if defined(ESP8266)
  // ESP8266 core 3.1.2: the two-argument form waits up to 10 s; deleted here so the glue has to
  // pass its own timeout (issue 20).
  int hostByName(const char *host, IPAddress &result) = delete;
  int hostByName(const char *host, IPAddress &result, uint32_t timeout_ms);
#else
  int hostByName(const char *host, IPAddress &result);  // arduino-esp32 2.0: waits up to 15 s
#endif
};
extern WiFiClass WiFi;

class WiFiClient : public Client {
 public:
  int connect(const char *host, uint16_t port) override;
  uint8_t connected() override;
  void stop() override;
#if defined(ESP8266)
  void setNoDelay(bool nodelay);  // ESP8266 core 3.1.2
#else
  int setNoDelay(bool nodelay);  // arduino-esp32 2.0: on the connected socket
#endif
};
