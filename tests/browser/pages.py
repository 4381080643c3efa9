"""Reading and acting on pages as a user does, on pages that may reload by themselves."""

from collections.abc import Callable

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

#: How long a page gets to show what a test waits for (the example project runs real tasks).
TIMEOUT = 30
#: A computed colour that paints nothing: what an unstyled element has.
TRANSPARENT = "rgba(0, 0, 0, 0)"


def wait_for[T](driver: WebDriver, condition: Callable[[WebDriver], T], what: str) -> T:
    """Poll `condition` until it returns something truthy; a page reloading meanwhile (an element
    gone or stale) counts as not yet."""
    waiting = WebDriverWait(
        driver,
        TIMEOUT,
        poll_frequency=0.1,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    return waiting.until(condition, f"timed out after {TIMEOUT} s waiting for {what}")


#: True once the document that was marked before a click has been replaced and has loaded.
LOADED_AND_NEW = "return !window.__leaving && document.readyState === 'complete';"


def click_through(driver: WebDriver, by: str, selector: str) -> None:
    """Click the element (a submit button, a link) and wait until the next page has replaced
    this one and finished loading.

    The old page is marked on its `window`, which a new document does not inherit; asking the
    browser whether the mark is gone avoids holding a reference to an element of the old page
    (Chrome may answer for such an element with an inspector error instead of "stale")."""

    def clicked(driver: WebDriver) -> bool:
        driver.execute_script("window.__leaving = true;")
        driver.find_element(by, selector).click()
        return True

    def replaced(driver: WebDriver) -> bool:
        try:
            return bool(driver.execute_script(LOADED_AND_NEW))
        except WebDriverException:  # asked while the old document was being torn down
            return False

    wait_for(driver, clicked, f"{selector} to be clickable")
    wait_for(driver, replaced, f"the page after clicking {selector}")


def style(element: WebElement, prop: str) -> str:
    """The computed value of a CSS property, as the browser renders it."""
    return element.value_of_css_property(prop)


def style_of(driver: WebDriver, selector: str, prop: str) -> str:
    """The computed value of a CSS property of the element `selector` finds, on a page that may
    reload between finding the element and reading it."""
    return wait_for(
        driver,
        lambda driver: style(driver.find_element(By.CSS_SELECTOR, selector), prop),
        f"the {prop} of {selector}",
    )


def messages(driver: WebDriver) -> list[str]:
    """The texts of the admin's message list (the admin capitalises each one's first letter)."""
    items = driver.find_elements(By.CSS_SELECTOR, "ul.messagelist li")
    return [item.get_attribute("textContent").strip() for item in items]


def sign_in_to_admin(driver: WebDriver, base: str, username: str, password: str) -> None:
    """Log in through the admin's login form."""
    driver.get(f"{base}/admin/login/?next=/admin/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    click_through(driver, By.CSS_SELECTOR, "#login-form [type=submit]")


def run_admin_action(driver: WebDriver, changelist: str, keys: list[str], action: str) -> None:
    """On a changelist page, tick the rows with these primary keys and run an action (by its
    label) on them."""
    driver.get(changelist)
    for key in keys:
        driver.find_element(By.CSS_SELECTOR, f'input[name=_selected_action][value="{key}"]').click()
    Select(driver.find_element(By.NAME, "action")).select_by_visible_text(action)
    click_through(driver, By.CSS_SELECTOR, "button[name=index]")


def result_row(driver: WebDriver, key: str) -> WebElement:
    """The changelist row of the object with this primary key."""
    return driver.find_element(
        By.XPATH, f"//table[@id='result_list']//tr[.//input[@value='{key}']]"
    )


def listed_keys(driver: WebDriver) -> set[str]:
    """The primary keys of the rows the changelist shows."""
    boxes = driver.find_elements(By.CSS_SELECTOR, "#result_list input[name=_selected_action]")
    return {box.get_attribute("value") for box in boxes}
