"""Secrets never reach the log, at any level, and people's numbers and addresses only
shortened: the real python-telegram-bot at DEBUG, its token in every URL it logs."""

import io
import logging

import pytest

from bot import log_privacy
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_network import join, start_app, telegram_settings

PERSON = 7812345678  # a Telegram user id, as long as real ones are


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


async def test_the_telegram_token_and_a_members_id_are_not_in_a_debug_log(tmp_path, restore_logging):
    output = io.StringIO()
    async with FakeTelegram() as api:
        settings = telegram_settings(tmp_path, api)
        log_privacy.configure("DEBUG", log_privacy.secrets_in(settings.platforms), stream=output)
        logging.getLogger("httpx").setLevel(logging.DEBUG)  # where the library writes its URLs
        app = await start_app(settings)
        try:
            amina = api.user(PERSON, "Amina")
            await join(amina, "Amina")
            await amina.send("How do we measure child poverty in cities?")
            await amina.receives("Here is your question")
        finally:
            await app.stop()
    logged = output.getvalue()
    assert "getUpdates" in logged and "sendMessage" in logged  # the library did log its requests
    secret = api.token.split(":")[1]
    assert api.token not in logged and secret not in logged
    assert log_privacy.HIDDEN in logged
    assert str(PERSON) not in logged


def test_numbers_addresses_and_tokens_are_shortened_or_hidden():
    line = log_privacy.redact(
        "sent to 2348031234567 and amina.yusuf@savethechildren.org (slack U0ABCDEF123), "
        "Authorization: Bearer EAAGm0PX4ZCpsBA, xoxb-1234-5678-abcdef, row 42, question #12",
        secrets=["my-app-secret-value"])
    assert "2348031234567" not in line and "234…67" in line
    assert "amina.yusuf@" not in line and "am…@savethechildren.org" in line
    assert "U0ABCDEF123" not in line and "U0A…23" in line
    assert "EAAGm0PX4ZCpsBA" not in line and "xoxb-1234" not in line
    assert "row 42" in line and "question #12" in line
    assert log_privacy.redact("the secret is my-app-secret-value!", ["my-app-secret-value"]) == \
        f"the secret is {log_privacy.HIDDEN}!"


def test_the_secrets_of_every_platform_section_are_found():
    from adapters.slack import SlackSettings

    slack = SlackSettings(bot_token="xoxb-real-token", signing_secret="signing-secret-1234", app_token="xapp-1-abc")
    assert set(log_privacy.secrets_in({"slack": slack})) >= {"xoxb-real-token", "signing-secret-1234", "xapp-1-abc"}
