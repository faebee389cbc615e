"""The pages in a real browser (Chromium through Playwright, `tests/e2e/browser.py`)
against a served `factledger serve`, on both backends: they load with no
Content-Security-Policy violation, no console error and no request leaving
the service; the timeline is drawn; a person finds the Soledar claim, travels
in time, signs in and writes from the forms; and /docs works offline, with
Authorize and a write from Swagger UI."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from api.pages.templating import VERDICT_LABELS
from tests.e2e.browser import chromium, screenshot, watched
from tests.e2e.processes import Serving, call, create_key, run

pytestmark = pytest.mark.slow

SOLEDAR = "The liberation of the town of Soledar was completed in the evening of Jan. 12."


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture
def ledger(serving: Callable[..., Serving], database_url: str, tmp_path: Path) -> Serving:
    """A seeded ledger, served."""
    seeded = run("seed", database_url=database_url, cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    served = serving()
    status, ready = call(served.base, "GET", "/readyz")
    assert status == 200, ready
    # The lists read the read models: wait until they hold the seeds.
    status, _ = call(served.base, "GET", f"/claims?limit=1&min_position={ready['position']}")
    assert status == 200
    return served


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def _timeline(base: str, claim_id: str, **times: str) -> list[dict[str, object]]:
    status, entries = call(base, "GET", f"/claims/{claim_id}/timeline?{urlencode(times)}")
    assert status == 200, entries
    assert isinstance(entries, list)
    return entries


def test_a_reader_finds_the_soledar_claim_reads_its_timeline_and_travels_in_time(
    ledger: Serving, page: Page, tmp_path: Path
) -> None:
    base = ledger.base
    watch = watched(page, base)

    page.goto(base + "/")
    expect(page.locator(".claim-card").first).to_be_visible()
    screenshot(page, "claims", tmp_path)
    page.get_by_label("Search").fill("Soledar liberation evening")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"q=Soledar"))
    page.get_by_role("link", name=SOLEDAR).click()
    page.wait_for_url(re.compile(r"/claims/[0-9a-f-]{36}/page$"))
    claim_id = page.url.split("/")[-2]

    timeline = _timeline(base, claim_id)
    expect(page.locator("svg.timeline g.mark")).to_have_count(len(timeline))
    expect(page.locator("header .badge")).to_have_text("Disputed")
    screenshot(page, "claim", tmp_path)

    registered = timeline[0]["occurred_at"]
    assert isinstance(registered, str)
    page.get_by_label("Valid at (world time)").fill(registered)
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"valid_at="))
    then = _timeline(base, claim_id, valid_at=registered)
    expect(page.locator("svg.timeline g.mark")).to_have_count(len(then))
    status, state = call(base, "GET", f"/claims/{claim_id}?{urlencode({'valid_at': registered})}")
    assert status == 200
    expect(page.locator("header .badge")).to_have_text(VERDICT_LABELS[state["verdict"]])
    permalink = page.url
    page.goto(permalink)  # the URL is the view
    expect(page.locator("svg.timeline g.mark")).to_have_count(len(then))

    page.set_viewport_size({"width": 360, "height": 740})  # a phone
    page.goto(permalink)
    expect(page.get_by_label("Valid at (world time)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "claim-phone", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(base + "/changes/page")
    expect(page.locator("li.change").first).to_be_visible()
    screenshot(page, "changes", tmp_path)
    page.goto(base + "/sign-in")
    screenshot(page, "sign-in", tmp_path)

    watch.assert_clean()


def test_a_checker_signs_in_registers_a_claim_and_records_a_verification_from_the_forms(
    ledger: Serving, page: Page, database_url: str, tmp_path: Path
) -> None:
    base = ledger.base
    key = create_key("checker", database_url, tmp_path)
    watch = watched(page, base)

    page.goto(base + "/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    expect(page.locator(".who")).to_contain_text("cli checker")

    page.get_by_text("Register a claim").click()
    form = page.locator("form#register_claim")
    form.get_by_label("Claim text").fill("Soledar had about 10,000 people before the war.")
    form.get_by_label("Claimant's name").fill("The article")
    form.get_by_label("Tags").fill("soledar, population")
    form.get_by_role("button", name="Register the claim").click()
    page.wait_for_url(re.compile(r"/claims/[0-9a-f-]{36}/page$"))
    claim_id = page.url.split("/")[-2]
    expect(page.locator("header .badge")).to_have_text("Unverified")

    page.get_by_text("Record a verification").click()
    form = page.locator("form#record_verification")
    form.get_by_label("Rating").select_option("mostly_true")
    form.get_by_label("Rationale").fill("The 2001 census gives about 10,700.")
    form.get_by_label("Source 1 URL").fill("https://example.org/census")
    form.get_by_role("button", name="Record the verification").click()
    page.wait_for_url(re.compile(r"/page$"))

    expect(page.locator("header .badge")).to_have_text("Mostly true")
    expect(page.locator("svg.timeline g.mark")).to_have_count(2)
    status, state = call(base, "GET", f"/claims/{claim_id}")
    assert status == 200
    assert state["verdict"] == "mostly_true"
    screenshot(page, "claim-verified", tmp_path)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    watch.assert_clean()


def test_a_problem_is_shown_next_to_its_field_in_the_browser(
    ledger: Serving, page: Page, database_url: str, tmp_path: Path
) -> None:
    base = ledger.base
    key = create_key("contributor", database_url, tmp_path)
    page.goto(base + "/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    page.get_by_text("Register a claim").click()
    form = page.locator("form#register_claim")
    form.get_by_label("Claimant's name").fill("Nobody")
    form.get_by_label("Occurred at").fill("last Tuesday")
    form.get_by_role("button", name="Register the claim").click()

    text = page.locator("#register_claim-text")
    expect(text).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#register_claim-text-errors")).to_be_visible()
    expect(page.locator("#register_claim-occurred_at-errors")).to_be_visible()
    expect(form.get_by_label("Claimant's name")).to_have_value("Nobody")


def test_the_api_documentation_works_offline_and_writes_after_authorize(
    ledger: Serving, page: Page, database_url: str, tmp_path: Path
) -> None:
    base = ledger.base
    key = create_key("contributor", database_url, tmp_path)
    watch = watched(page, base)

    page.goto(base + "/docs")
    page.locator(".btn.authorize").click()
    page.locator(".modal-ux input").fill(key)
    page.locator(".modal-ux .btn.modal-btn.auth.authorize").click()
    page.locator(".modal-ux .btn-done").click()

    operation = page.locator("#operations-claims-register_claim")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    body = {"text": "Tried from /docs.", "claimant": {"name": "A reader"}}
    operation.locator("textarea.body-param__text").fill(json.dumps(body))
    operation.locator(".execute").click()

    expect(
        operation.locator(".live-responses-table tr.response .response-col_status").first
    ).to_have_text("201")
    screenshot(page, "docs", tmp_path)
    watch.assert_clean()
    status, log = call(base, "GET", "/events?limit=1000")
    assert status == 200
    written = log["events"][-1]
    assert (written["type"], written["data"]["text"]) == ("ClaimRegistered", "Tried from /docs.")
    assert written["actor"]["name"] == "cli contributor"
