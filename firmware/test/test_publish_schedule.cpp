#include <doctest/doctest.h>

#include "alertloop/publish_schedule.h"

using alertloop::PublishSchedule;
using alertloop::ScheduleSettings;

TEST_CASE("the first reading is published at once") {
  PublishSchedule schedule(ScheduleSettings{});
  CHECK(schedule.due(0, 500));
}

TEST_CASE("publish schedule: periodic, on a real change, rate-limited") {
  struct Case {
    const char *name;
    uint32_t now_ms;
    int32_t value;
    bool due;
  } cases[] = {
      {"unchanged before the interval", 499, 500, false},
      {"unchanged at the interval", 500, 500, true},
      {"small change (noise) before the interval", 200, 509, false},
      {"real change up", 200, 510, true},
      {"real change down", 200, 490, true},
      {"real change but too soon after the last publish", 49, 600, false},
      {"real change right at the minimum gap", 50, 600, true},
  };
  for (const auto &c : cases) {
    CAPTURE(c.name);
    PublishSchedule schedule(ScheduleSettings{});
    schedule.published(0, 500);
    CHECK(schedule.due(c.now_ms, c.value) == c.due);
  }
}

TEST_CASE("the schedule measures from the last publish and survives millis() wrapping") {
  PublishSchedule schedule(ScheduleSettings{});
  schedule.published(0xFFFFFF00u, 100);
  CHECK_FALSE(schedule.due(0xFFFFFF00u + 100, 100));
  CHECK(schedule.due(0xFFFFFF00u + 500, 100));  // wrapped past zero
}

TEST_CASE("a custom interval is honoured") {
  ScheduleSettings settings;
  settings.interval_ms = 2000;
  PublishSchedule schedule(settings);
  schedule.published(0, 0);
  CHECK_FALSE(schedule.due(1999, 0));
  CHECK(schedule.due(2000, 0));
}
