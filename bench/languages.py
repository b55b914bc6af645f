"""Language detection and a question's way to the facilitators.

    .venv/bin/python bench/languages.py [--rounds 200] [--questions 20]

Prints, for the judged sentences of tests/test_catalogs.py (questions in the community's five
languages, three languages it does not offer, short texts with acronyms): detection time per
message (median and 99th percentile) and accuracy. Then, through python-telegram-bot and the
fake Bot API on loopback, the time from a member's press on Submit to the facilitator's card
arriving (median and 95th percentile; target under 150 ms), with the share of it that
detection takes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App  # noqa: E402
from bot.services.language import LanguageDetector  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.telegram_network import FACILITATOR_ID, join, telegram_settings  # noqa: E402
from tests.test_catalogs import OFFERED, OTHER_LANGUAGES, SENTENCES  # noqa: E402

SHORT = [("pt", "Dados do MICS sobre NGO?"), ("fr", "SDG 1.2 targets?"), ("es", "Evidence on UBI?")]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def detection(rounds: int) -> tuple[list[float], float]:
    detector = LanguageDetector()
    judged = [(language, text, "en") for language, text in SENTENCES]
    judged += [("fr", text, "fr") for _, text in OTHER_LANGUAGES]  # not offered: the author's
    judged += [(language, text, language) for language, text in SHORT]
    detector.detect(judged[0][1], OFFERED, "en")  # loads the profiles once, as at the first question
    times, right = [], 0
    for _ in range(rounds):
        for expected, text, fallback in judged:
            started = time.perf_counter()
            found = detector.detect(text, OFFERED, fallback)
            times.append(time.perf_counter() - started)
            right += found == expected
    return times, right / (rounds * len(judged))


async def card_latency(questions: int) -> list[float]:
    directory = Path(tempfile.mkdtemp(prefix="languages-bench-"))
    async with FakeTelegram() as api:
        settings = telegram_settings(directory, api)
        # One member asks every question and nobody approves them: the cap on a member's
        # questions waiting for the facilitators would stop the measure after a few.
        app = await App.build(replace(settings, limits=replace(settings.limits, waiting_questions=1000)))
        await app.start()
        try:
            fatou, amina = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina")
            await join(fatou, "Fatou")
            await join(amina, "Amina")
            times = []
            for number in range(1, questions + 1):
                await amina.send(f"Question {number}: how do cash transfers reach children in remote areas?")
                draft = await amina.receives("Here is your question")
                await asyncio.sleep(1.1)  # one message a second to a chat: measure the way, not the pacing
                before = len(fatou.messages)
                pressed = time.monotonic()
                await amina.press("Submit", on=draft)
                await api.wait_until(lambda: any("waiting for approval" in m.text for m in fatou.messages[before:]))
                times.append(time.monotonic() - pressed)
                await asyncio.sleep(1.1)
        finally:
            await app.stop()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--questions", type=int, default=20)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    times, accuracy = detection(arguments.rounds)
    median, p99 = statistics.median(times) * 1000, percentile(times, 0.99) * 1000
    print(f"detection per message:   median {median:.2f} ms, p99 {p99:.2f} ms over {len(times):,} detections")
    print(f"detection accuracy:      {accuracy:.1%} of the judged sentences (own language, fallback, short)")
    latency = await card_latency(arguments.questions)
    card_median, card_p95 = statistics.median(latency) * 1000, percentile(latency, 0.95) * 1000
    print(f"Submit -> card arrives:  median {card_median:.0f} ms, p95 {card_p95:.0f} ms over {len(latency)} questions "
          f"(target under 150 ms: {'PASS' if card_p95 < 150 else 'FAIL'}); detection is {median / card_median:.1%} of it")


if __name__ == "__main__":
    asyncio.run(main())
