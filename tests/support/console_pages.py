"""Page objects of the console: what an operator sees and does, one class per page. Every wait
is on something visible on the page, with a deadline."""

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 15
_IGNORED = (NoSuchElementException, StaleElementReferenceException)


def wait(driver, condition, message, timeout=TIMEOUT):
    return WebDriverWait(driver, timeout, poll_frequency=0.02,
                         ignored_exceptions=_IGNORED).until(condition, message)


def open_details(driver, find_row, selector, what):
    """Open a row's <details> form and return it. The live stream may replace the row at any
    moment until the form is open (the page then holds its updates): a stale row is found again."""
    def opened(d):
        details = find_row().find_element(By.CSS_SELECTOR, selector)
        if details.get_attribute("open") is None:
            details.find_element(By.CSS_SELECTOR, "summary").click()
        return details if details.get_attribute("open") is not None else None
    return wait(driver, opened, f"could not open {what}")


def click_in_row(driver, find_row, selector, what):
    """Click a button of a row that the live stream may replace meanwhile."""
    def clicked(d):
        find_row().find_element(By.CSS_SELECTOR, selector).click()
        return True
    return wait(driver, clicked, f"could not click {what}")


def _css(ident):
    return ident.replace("\\", "\\\\").replace('"', '\\"')


class LoginPage:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def open(self):
        self.driver.get(self.base_url + "/login")
        return self

    def login(self, name, password):
        self.driver.find_element(By.ID, "username").send_keys(name)
        self.driver.find_element(By.ID, "password").send_keys(password)
        self.driver.find_element(By.ID, "login").click()
        page = AlarmPage(self.driver, self.base_url)
        wait(self.driver, lambda d: d.find_element(By.ID, "live").text == "Live",
             "the alarm page did not go live")
        return page

    def message(self):
        return wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, ".messages").text,
                    "no message on the login page")


class AlarmPage:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def row(self, ident, table="alarms"):
        """The alarm's row once it is listed in `table` (alarms or shelved)."""
        return wait(self.driver, lambda d: d.find_element(
            By.CSS_SELECTOR, f'#{table} tr[data-alarm="{_css(ident)}"]'),
            f"{ident} not listed in #{table}")

    def cells(self, ident, table="alarms"):
        return wait(self.driver, lambda d: [c.text for c in d.find_elements(
            By.CSS_SELECTOR, f'#{table} tr[data-alarm="{_css(ident)}"] td')],
            f"{ident} not listed in #{table}")

    def wait_state(self, ident, text):
        wait(self.driver, lambda d: text in self.cells(ident)[0],
             f"{ident} never showed {text!r}")

    def wait_gone(self, ident, table="alarms"):
        wait(self.driver, lambda d: not d.find_elements(
            By.CSS_SELECTOR, f'#{table} tr[data-alarm="{_css(ident)}"]'),
            f"{ident} still listed in #{table}")

    def click(self, ident, selector, table="alarms"):
        click_in_row(self.driver, lambda: self.row(ident, table), selector,
                     f"{selector} of {ident}")

    def acknowledge(self, ident):
        click_in_row(self.driver, lambda: self.row(ident), "button.ack", f"acknowledge {ident}")
        return self.wait_message()

    def shelve(self, ident, minutes, reason, out_of_service=False):
        row = open_details(self.driver, lambda: self.row(ident), "details.shelve",
                           f"the shelve form of {ident}")
        if out_of_service:
            row.find_element(By.CSS_SELECTOR, 'input[value="out-of-service"]').click()
        else:
            minutes_field = row.find_element(By.CSS_SELECTOR, "input.minutes")
            minutes_field.clear()
            minutes_field.send_keys(str(minutes))
        row.find_element(By.CSS_SELECTOR, "input.reason").send_keys(reason)
        row.find_element(By.CSS_SELECTOR, "button.do-shelve").click()
        return self.wait_message()

    def has_operator_controls(self):
        return bool(self.driver.find_elements(By.CSS_SELECTOR, "button.ack, details.shelve"))

    def wait_message(self):
        return wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, ".messages").text,
                    "no message after the action")

    def refusal(self):
        return wait(self.driver, lambda d: d.find_element(By.ID, "refusal").text,
                    "no refusal shown")

    def post_as_crafted_form(self, path, fields):
        """What a user could send by hand: a form built in the page, with the page's token."""
        self.driver.execute_script("""
            const form = document.createElement("form");
            form.method = "post"; form.action = arguments[0];
            const fields = {csrf_token: document.querySelector('meta[name=csrf-token]').content,
                            ...arguments[1]};
            for (const [name, value] of Object.entries(fields)) {
              const input = document.createElement("input");
              input.type = "hidden"; input.name = name; input.value = value;
              form.appendChild(input);
            }
            document.body.appendChild(form); form.submit();""", path, fields)


class OutputPage:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def open(self):
        self.driver.get(self.base_url + "/outputs")
        wait(self.driver, lambda d: d.find_element(By.ID, "live").text == "Live",
             "the outputs page did not go live")
        return self

    def cells(self, output_id):
        return wait(self.driver, lambda d: [c.text for c in d.find_elements(
            By.CSS_SELECTOR, f'#outputs tr[data-output="{_css(output_id)}"] td')],
            f"{output_id} not listed")

    def wait_mode(self, output_id, text):
        wait(self.driver, lambda d: text in self.cells(output_id)[2],
             f"{output_id} never showed mode {text!r}")

    def request(self, output_id, mode, value=None, minutes=None, reason=""):
        """Fill in the Hand/Off/Auto form and review it: returns the confirmation's question."""
        row = open_details(self.driver, lambda: self.driver.find_element(
            By.CSS_SELECTOR, f'#outputs tr[data-output="{_css(output_id)}"]'),
            "details.mode-set", f"the mode form of {output_id}")
        row.find_element(By.CSS_SELECTOR, f'input[name="mode"][value="{mode}"]').click()
        if value is not None:
            field = row.find_element(By.CSS_SELECTOR, "input.value")
            field.clear()
            field.send_keys(str(value))
        if minutes is not None:
            row.find_element(By.CSS_SELECTOR, "input.minutes").send_keys(str(minutes))
        row.find_element(By.CSS_SELECTOR, "input.reason").send_keys(reason)
        row.find_element(By.CSS_SELECTOR, "button.review").click()
        return wait(self.driver, lambda d: d.find_element(By.ID, "question").text,
                    "no confirmation step")

    def confirm(self):
        self.driver.find_element(By.ID, "confirm").click()
        return wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, ".messages").text,
                    "no message after confirming")


class TagPage:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def search(self, text):
        self.driver.get(self.base_url + "/tags")
        field = wait(self.driver, lambda d: d.find_element(By.ID, "search"), "no search field")
        field.send_keys(text)
        field.submit()
        wait(self.driver, lambda d: "contains" in d.find_element(By.ID, "where").text,
             "no search results")
        return self

    def map(self, node_id, role, device, measurement="", deadband=""):
        """Map the listed variable; returns the page's message."""
        row = wait(self.driver, lambda d: d.find_element(
            By.CSS_SELECTOR, f'#browse tr[data-node="{_css(node_id)}"]'), f"{node_id} not listed")
        row.find_element(By.CSS_SELECTOR, "details.map summary").click()
        row.find_element(By.CSS_SELECTOR, f'select.role option[value="{role}"]').click()
        row.find_element(By.CSS_SELECTOR, "input.device").send_keys(device)
        row.find_element(By.CSS_SELECTOR, "input.measurement").send_keys(measurement)
        row.find_element(By.CSS_SELECTOR, "input.deadband").send_keys(deadband)
        row.find_element(By.CSS_SELECTOR, "button.save").click()
        return wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, ".messages").text,
                    "no message after saving")


class ValuesPage:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def open(self):
        self.driver.get(self.base_url + "/values")
        wait(self.driver, lambda d: d.find_element(By.ID, "live").text == "Live",
             "the values page did not go live")
        return self

    def cells(self, device, measurement):
        return [c.text for c in self.driver.find_elements(
            By.CSS_SELECTOR, f'#values tr[data-series="{_css(device)}/{_css(measurement)}"] td')]

    def wait_shown(self, device, measurement, value, status):
        def shown(driver):
            cells = self.cells(device, measurement)
            return cells and cells[3] == value and status in cells[1]
        wait(self.driver, shown, f"{device}/{measurement} never showed {value} and {status}: "
             f"{self.cells(device, measurement)}")
