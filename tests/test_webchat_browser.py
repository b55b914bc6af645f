"""The web chat in a real browser: Playwright driving Debian's Chromium, three people at
once, each in their own browser context (their own cookie)."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.webchat_network import start_demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The README's screenshots are refreshed with `UPDATE_SCREENSHOTS=1 make test`; a plain run
# writes them to a temporary folder so that it leaves the work tree as it was.
DOCS = Path(__file__).resolve().parent.parent / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}

@pytest.fixture
async def browser():
    assert os.path.exists(CHROMIUM), f"Chromium is not at {CHROMIUM}: `make test` installs Debian's chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        await browser.close()


async def open_as(browser, address: str, who: str):
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await page.goto(address)
    await page.get_by_role("button", name=who).click()
    await expect(page.get_by_label("Message")).to_be_visible()
    return page


async def say(page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_label("Message").press("Enter")


async def test_a_question_goes_from_one_page_to_another_live(browser, tmp_path):
    shots = DOCS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    app = await start_demo(tmp_path)
    try:
        address = app.web_address
        picker = await (await browser.new_context(viewport=PHONE)).new_page()
        await picker.goto(address)
        await expect(picker.get_by_role("heading", name="Demo members")).to_be_visible()
        await expect(picker.get_by_role("heading", name="Demo facilitators")).to_be_visible()
        await expect(picker.get_by_role("button", name="New member")).to_be_visible()
        await picker.screenshot(path=str(shots / "webchat-pick.png"))

        amina = await open_as(browser, address, "Amina Yusuf")
        fatou = await open_as(browser, address, "Fatou Diop")
        kwame = await open_as(browser, address, "Kwame Mensah")
        kwame_url = kwame.url

        question = "How do community health workers help enrol children in cash transfer programmes?"
        await say(amina, question)
        await amina.get_by_role("button", name="Submit", exact=True).last.click()
        await expect(amina.get_by_text("is with the facilitators")).to_be_visible()

        card = fatou.locator(".bubble", has_text="community health workers help enrol").filter(
            has=fatou.get_by_role("button", name="Approve"))
        await expect(card).to_be_visible(timeout=10000)
        await card.get_by_role("button", name="Approve").click()
        await expect(fatou.locator(".bubble", has_text="approved by Fatou").first).to_be_visible()

        shared = kwame.locator(".bubble", has_text=question)
        await expect(shared).to_be_visible(timeout=10000)
        assert kwame.url == kwame_url  # it arrived without a reload or navigation
        await shared.get_by_role("button", name="Reply", exact=True).click()
        await expect(kwame.get_by_text("Write your reply").last).to_be_visible()
        await say(kwame, "In Ghana, LEAP used community focal persons to find eligible households.")
        await expect(amina.locator(".bubble", has_text="LEAP used community focal persons")).to_be_visible(timeout=10000)
        await amina.screenshot(path=str(shots / "webchat-asker.png"))
        await fatou.screenshot(path=str(shots / "webchat-facilitator.png"))

        await kwame.reload()
        await expect(kwame.locator(".bubble", has_text=question)).to_be_visible()
        await expect(kwame.locator(".bubble.me", has_text="LEAP used community focal persons")).to_be_visible()
    finally:
        await app.stop()


async def test_right_to_left_text_is_shown_right_to_left(browser, tmp_path):
    app = await start_demo(tmp_path)
    try:
        omar = await open_as(browser, app.web_address, "Omar Haddad")
        await say(omar, "كيف نصل إلى الأطفال اللاجئين في المدارس؟")
        bubble = omar.locator(".bubble.me div[dir=auto]", has_text="كيف نصل")
        await expect(bubble).to_be_visible()
        assert await bubble.evaluate("node => getComputedStyle(node).direction") == "rtl"
    finally:
        await app.stop()
