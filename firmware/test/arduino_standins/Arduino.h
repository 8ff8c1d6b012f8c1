// Stand-in: the subset of the Arduino core (ESP32 and ESP8266) that src/ uses. Declarations only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
// The cores' lwIP pulls in POSIX unistd.h (and its link(), unlink(), ...) into every sketch, so
// names the glue declares must not clash with it (issue 20).
#include <unistd.h>

typedef bool boolean;
typedef uint8_t byte;

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x01
#define OUTPUT 0x03
#define INPUT_PULLUP 0x02

unsigned long millis();
void delay(unsigned long ms);
void yield();
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t value);
int digitalRead(uint8_t pin);
int analogRead(uint8_t pin);
void configTime(long gmt_offset_sec, int daylight_offset_sec, const char *server1,
                const char *server2 = nullptr, const char *server3 = nullptr);

#if defined(ESP32)
typedef enum { ADC_0db, ADC_2_5db, ADC_6db, ADC_11db } adc_attenuation_t;
void analogReadResolution(uint8_t bits);
void analogSetPinAttenuation(uint8_t pin, adc_attenuation_t attenuation);
#endif

#if defined(ESP8266)
static const uint8_t D1 = 5;
static const uint8_t D2 = 4;
static const uint8_t D3 = 0;
static const uint8_t D5 = 14;
#endif

class IPAddress {
 public:
  IPAddress();
  bool fromString(const char *address);
  uint8_t operator[](int index) const;
};

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t print(const char *text);
  size_t println(const char *text);
  size_t printf(const char *format, ...) __attribute__((format(printf, 2, 3)));
};
extern HardwareSerial Serial;

class EspClass {
 public:
  void restart();
};
extern EspClass ESP;
