// Stand-in: the ESP8266 core's Wi-Fi header; for what src/ uses it matches the ESP32 one.
#pragma once

#include "WiFi.h"
