"""The status page as a trainer opens it: the demo's store, `curriculum-contract serve` as a real process, and
Debian's Chromium driven by Playwright. Screenshots go to the test's tmp dir (and, when
``$CURRICULUM_CONTRACT_SCREENSHOTS`` names a folder, a copy there, to look at)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from curriculum_contract.launcher_adapter import HistoryStore, enroll, run_or_skip

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
HOSTILE = "<script>alert(1)</script>"
TOKEN = "lab-token-0123456789abcdef"
SCRIPT = Path(sys.executable).parent / "curriculum-contract"
#: A bound on how long the server may take to say where it listens: not an expectation.
WITHIN_S = 60


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store (real launches of the IBL example), plus a real skip, a re-enrollment, a hostile id."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    done = subprocess.run([str(SCRIPT), "demo", "--sessions", "12", "--subjects", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    store = out / "history.sqlite"
    assert f"status page: curriculum-contract serve --store {store}, then open http://127.0.0.1:8765/" in done.stdout
    curriculum = out / "task-repo" / "curricula" / "ibl_2afc"
    session = out / "sessions" / "sim-02" / "linked_session"
    session.mkdir(parents=True)
    (session / "calibration.json").symlink_to(out / ".curriculum-contract-demo")  # outside: refused, a skip
    assert run_or_skip(curriculum, session, "sim-02", store=store) is None
    enroll(curriculum, HOSTILE, store=store)
    enroll(curriculum, HOSTILE, store=store, force=True, reason="<img src=x onerror=alert(2)> typo")
    return store


def serve(store: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """``curriculum-contract serve`` on a free loopback port; its URL from the first line of its stdout."""
    process = subprocess.Popen([str(SCRIPT), "serve", "--store", str(store), "--port", "0", *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})  # fmt: skip
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(WITHIN_S)
    if not first or "http://" not in first[0]:
        process.kill()
        pytest.fail(f"serve did not start: {first} {process.stderr.read()[-2000:]}")
    return process, first[0].split(": ", 1)[1].split()[0]


def stop(process: subprocess.Popen) -> None:
    process.terminate()  # SIGTERM: the server stops and exits 0
    try:
        assert process.wait(timeout=WITHIN_S) == 0, process.stderr.read()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="module")
def url(lab: Path) -> Iterator[str]:
    process, address = serve(lab)
    yield address
    stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/system-packages installs it)")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def screenshot(page: object, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    copies = os.environ.get("CURRICULUM_CONTRACT_SCREENSHOTS")
    if copies:
        Path(copies).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copies) / path.name)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one
    return path


def test_a_trainer_sees_each_subjects_stage_and_why_then_opens_one(
    lab: Path, url: str, browser, tmp_path: Path
) -> None:
    store = HistoryStore(lab)
    try:
        expected = {s: store.enrollment_state(s)["stage"]["name"] for s in ("sim-01", "sim-02")}
        rows = store.session_rows("sim-01")
        last = [r for r in rows if r["status"] == "ok"][-1]
    finally:
        store.close()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    assert page.goto(url).status == 200
    for subject, stage in expected.items():
        row = page.locator(f'tr[data-subject="{subject}"]')
        playwright.expect(row.locator(".stage")).to_have_text(stage)
        playwright.expect(row.locator(".verdict")).to_contain_text(stage)  # "stays in X" or "advanced ... → X"
    playwright.expect(page.locator('tr[data-subject="sim-02"]')).to_contain_text("1 skipped")
    playwright.expect(page.locator('tr[data-subject="sim-02"]')).to_contain_text("symlink")
    screenshot(page, tmp_path, "status-overview")

    page.get_by_role("link", name="sim-01", exact=True).click()
    page.wait_for_url("**/subject/sim-01")
    decision = last["suggestion"]["decision"]
    playwright.expect(page.locator("#summary")).to_contain_text(decision["summary"])
    verdict = "advanced" if decision["stage_changed"] else f"stays in {decision['stage_after']}"
    playwright.expect(page.locator("#verdict")).to_contain_text(verdict)
    for condition in decision["transitions"][0]["conditions"]:
        playwright.expect(page.locator("#criteria")).to_contain_text(condition["metric"])
    plot = page.locator("svg.progress")
    playwright.expect(plot).to_be_visible()
    assert plot.locator("line.threshold").count() > 0  # the criteria's thresholds, from the decisions
    assert plot.locator("path.undefined").count() > 0  # early sessions: psychometric values undefined, not 0
    assert page.locator("#history tbody tr").count() == len([r for r in rows if r["subject"] == "sim-01"])
    screenshot(page, tmp_path, "status-subject")
    assert dialogs == []
    page.close()


def test_markup_in_a_subject_id_and_a_reason_is_shown_as_text(url: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    link = page.get_by_role("link", name=HOSTILE, exact=True)
    playwright.expect(link).to_be_visible()
    link.click()
    playwright.expect(page.locator("#events")).to_contain_text("<img src=x onerror=alert(2)> typo")
    playwright.expect(page.locator("h1")).to_contain_text(HOSTILE)
    assert page.locator("img").count() == 0 and dialogs == []
    screenshot(page, tmp_path, "status-hostile-subject")
    page.close()


def test_with_a_token_the_browser_needs_it_once(lab: Path, browser, tmp_path: Path) -> None:
    token_file = tmp_path / "status.token"
    token_file.write_text(TOKEN + "\n")
    process, address = serve(lab, "--token-file", str(token_file))
    try:
        context = browser.new_context()
        page = context.new_page()
        denied = page.goto(address)
        assert denied.status == 401
        playwright.expect(page.locator("h1")).to_have_text("Token required")
        assert "sim-01" not in page.content()
        assert page.goto(f"{address}subject/sim-01?token={TOKEN}").status == 200  # after the redirect
        assert page.url == f"{address}subject/sim-01"  # the token left the address bar
        assert page.goto(address).status == 200  # the cookie carries it from now on
        playwright.expect(page.locator('tr[data-subject="sim-01"]')).to_be_visible()
        context.close()
        fresh = browser.new_context()
        assert fresh.new_page().goto(address).status == 401  # another browser has no cookie
        fresh.close()
    finally:
        stop(process)
