"""The web chat on a phone, in headless Chromium: the header says who you are as soon as you
pick, facilitators come first in the demo picker, a toast never covers the button pressed, and
Enter on a touch keyboard starts a new line (the Send button sends)."""

from playwright.async_api import expect

from tests.test_webchat_browser import PHONE, browser, open_as, say  # noqa: F401 (the fixture)
from tests.webchat_network import start_demo


async def test_the_picker_lists_facilitators_first_and_the_header_names_you_at_once(browser, tmp_path):  # noqa: F811
    app = await start_demo(tmp_path)
    try:
        page = await (await browser.new_context(viewport=PHONE)).new_page()
        await page.goto(app.web_address)
        facilitators = page.get_by_role("heading", name="Demo facilitators")
        members = page.get_by_role("heading", name="Demo members")
        await expect(facilitators).to_be_visible()
        assert (await facilitators.bounding_box())["y"] < (await members.bounding_box())["y"]
        await page.get_by_role("button", name="Fatou Diop").click()
        await expect(page.locator("#status")).to_have_text("online as Fatou Diop")
    finally:
        await app.stop()


async def test_a_toast_does_not_cover_the_button_just_pressed(browser, tmp_path):  # noqa: F811
    app = await start_demo(tmp_path)
    try:
        amina = await open_as(browser, app.web_address, "Amina Yusuf")
        await say(amina, "Which registries help find children out of school in remote districts?")
        # Cancel, the draft's last button, sits just above the message box: where toasts used to show.
        cancel = amina.get_by_role("button", name="Cancel", exact=True).last
        await expect(cancel).to_be_visible()
        pressed = await cancel.bounding_box()
        await cancel.click()
        toast = amina.locator("#toast")
        await expect(toast).to_have_text("Cancelled")
        shown = await toast.bounding_box()
        apart = (shown["y"] + shown["height"] <= pressed["y"] or pressed["y"] + pressed["height"] <= shown["y"])
        assert apart, (shown, pressed)
    finally:
        await app.stop()


async def test_on_a_touch_keyboard_enter_starts_a_new_line_and_send_sends(browser, tmp_path):  # noqa: F811
    app = await start_demo(tmp_path)
    try:
        context = await browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
        kwame = await context.new_page()
        await kwame.goto(app.web_address)
        await kwame.get_by_role("button", name="Kwame Mensah").click()
        box = kwame.get_by_label("Message")
        await expect(box).to_be_visible()
        assert await kwame.evaluate("matchMedia('(pointer: coarse)').matches")
        await box.fill("Two lines:")
        await box.press("End")
        await box.press("Enter")
        await box.type("the second one")
        await expect(box).to_have_value("Two lines:\nthe second one")
        await kwame.get_by_role("button", name="Send", exact=True).click()
        await expect(kwame.locator(".bubble.me", has_text="the second one")).to_be_visible()
        await expect(box).to_have_value("")
    finally:
        await app.stop()
