"""A browser test that fails leaves what the browser showed: build/screenshots/FAILED-<test>.png
and its page source beside it."""

import pytest

from tests.support.browser import SCREENSHOTS, screenshot


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and driver is not None:
        name = f"FAILED-{item.name}"
        screenshot(driver, name)
        (SCREENSHOTS / f"{name}.html").write_text(driver.page_source)
