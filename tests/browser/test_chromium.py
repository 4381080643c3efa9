"""Without Debian's chromedriver the browser tests fail, saying how to install it."""

import pytest

from tests.browser.chromium import start_chromium


def test_a_missing_chromedriver_fails_with_the_install_command(tmp_path):
    missing = tmp_path / "chromedriver"
    with pytest.raises(pytest.fail.Exception) as failure:
        start_chromium(tmp_path / "profile", chromedriver=missing)
    message = str(failure.value)
    assert f"({missing} not found)" in message
    assert "apt-get install -y --no-install-recommends chromium chromium-driver" in message
