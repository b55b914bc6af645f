"""The dashboard and the chat together in a real browser (Playwright driving Debian's
Chromium): a question asked in the chat appears live in the queue, one click approves it, a
member receives it in the chat, a draft is edited in the editor and published, a one-time
link works once, and a phone-sized page never scrolls sideways."""

import os
import re
from pathlib import Path

from playwright.async_api import expect

from tests.test_webchat_browser import DOCS, PHONE, browser, open_as, say  # noqa: F401 (the fixture)
from tests.webchat_network import start_demo

DESK = {"width": 1280, "height": 860}


async def dashboard_as(browser, address: str, who: str, viewport=DESK):  # type: ignore[no-untyped-def]
    page = await (await browser.new_context(viewport=viewport)).new_page()
    await page.goto(address.rstrip("/") + "/admin")
    await page.get_by_role("button", name=who).click()
    await expect(page.get_by_role("heading", name="Queue", exact=True)).to_be_visible()
    return page


async def no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} pixels wide on a phone"


async def test_the_dashboard_and_the_chat_work_together_live(browser, tmp_path):  # noqa: F811
    shots = DOCS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path
    app = await start_demo(tmp_path, dashboard=True)
    try:
        desk = await dashboard_as(browser, app.dashboard_address, "Fatou Diop")
        amina = await open_as(browser, app.web_address, "Amina Yusuf")
        kwame = await open_as(browser, app.web_address, "Kwame Mensah")
        fatou_chat = await open_as(browser, app.web_address, "Fatou Diop")
        desk_url = desk.url

        question = "Which outreach brought nomadic families into the child grant in the Sahel?"
        await say(amina, question)
        await amina.get_by_role("button", name="Submit", exact=True).last.click()
        item = desk.locator("section.item", has_text=question)
        await expect(item).to_be_visible(timeout=10000)  # live: no reload
        assert desk.url == desk_url
        await expect(item.get_by_text("Amina Yusuf").first).to_be_visible()
        await desk.screenshot(path=str(shots / "dashboard-queue.png"))

        clicks = 0
        await item.get_by_role("button", name="Approve").click()
        clicks += 1
        await expect(kwame.locator(".bubble", has_text=question)).to_be_visible(timeout=10000)
        assert clicks == 1
        await expect(desk.locator("section.item", has_text=question)).to_have_count(0)
        card = fatou_chat.locator(".bubble", has_text="approved by Fatou Diop").filter(has_text=question[:30])
        await expect(card.first).to_be_visible(timeout=10000)
        await expect(card.first.get_by_role("button", name="Approve")).to_have_count(0)

        # A draft: close an open discussion from the dashboard (asked first, beside the page).
        await desk.get_by_role("link", name="Open discussions").click()
        discussion = desk.locator("section.item").first
        number = await discussion.get_attribute("data-number")
        await discussion.get_by_role("button", name="Close now").click()
        await desk.locator("#answers").get_by_role("button", name="Yes, close it").click()
        await desk.get_by_role("link", name=re.compile("^Drafts")).click()
        draft = desk.locator(f'section.item[data-number="{number}"]')
        await expect(draft).to_be_visible(timeout=10000)
        await draft.get_by_label("Key points, one per line").fill(
            "Indexing every year keeps the benefit's value.\nA law makes the indexing hard to skip.")
        await draft.get_by_role("button", name="Save the key points").click()
        await expect(draft.locator(".preview")).to_contain_text("A law makes the indexing hard to skip.",
                                                                timeout=10000)
        await desk.screenshot(path=str(shots / "dashboard-draft.png"), full_page=True)
        await draft.get_by_role("button", name="Publish").click()
        await expect(kwame.locator(".bubble", has_text="A law makes the indexing hard to skip.")).to_be_visible(
            timeout=10000)

        # A one-time link from the bot: it signs in once, and only once.
        await say(fatou_chat, "/dashboard")
        link = fatou_chat.locator(".bubble a", has_text="/admin/sign-in").last
        await expect(link).to_be_visible()
        address = await link.get_attribute("href")
        first = await (await browser.new_context(viewport=PHONE)).new_page()
        await first.goto(address)
        await first.get_by_role("button", name="Sign in").click()
        await expect(first.get_by_text("Signed in as Fatou Diop")).to_be_visible()
        again = await (await browser.new_context(viewport=PHONE)).new_page()
        await again.goto(address)
        await again.get_by_role("button", name="Sign in").click()
        await expect(again.locator("#toast")).to_contain_text("already used")
        await expect(again.get_by_text("Signed in as")).to_have_count(0)

        # On a phone: every page fits the width, and the buttons are big enough to tap.
        for name in ("queue", "discussions", "drafts", "archive", "members"):
            await first.goto(app.dashboard_address.rstrip("/") + f"/admin/{name}")
            await no_sideways_scroll(first)
        small = await first.evaluate(
            "[...document.querySelectorAll('main button, header a')].filter(b => b.offsetHeight && "
            "b.getBoundingClientRect().height < 44).length")
        assert small == 0
        await first.goto(app.dashboard_address.rstrip("/") + "/admin/discussions")
        await first.screenshot(path=str(shots / "dashboard-phone.png"))
    finally:
        await app.stop()


def test_the_screenshots_in_the_readme_exist():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name in ("dashboard-queue.png", "dashboard-draft.png", "dashboard-phone.png"):
        assert f"docs/{name}" in readme and (DOCS / name).is_file()
