"""A headless Chromium per test process, with a clean slate for each test."""

from collections.abc import Iterator

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.chromium import start_chromium

USERNAME = "admin"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One browser per test process: starting Chromium costs seconds."""
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def browser(chromium: WebDriver) -> WebDriver:
    """The browser on a blank page, with no cookies (so no session) from an earlier test."""
    chromium.get("about:blank")
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return chromium


@pytest.fixture
def superuser(django_user_model, settings):
    """A superuser to sign in with (a fast password hash: signing in is not what is tested)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return django_user_model.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
