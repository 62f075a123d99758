"""The web page end to end in a real headless Chromium (Playwright driving the system's
Chromium; ``.ci/browser.sh`` installs it in CI) against a live server on loopback.

A screenshot of the dataset page is kept in ``$JUNIPER_DATA_TEST_ARTIFACTS`` (else the
test's temporary directory); with ``JUNIPER_DATA_UPDATE_SCREENSHOT=1`` it also replaces
``docs/img/web-dataset.png``.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.preview import CLASS_COLORS
from tests.core.test_preview import SPIRAL, arm_fractions, decode, pixels_of

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright drives the browser (test extra)")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = "browser-key-0123456789"


def chromium() -> str | None:
    for candidate in (os.environ.get("JUNIPER_DATA_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    executable = chromium()
    if executable is None:
        pytest.skip("no Chromium: apt-get install chromium (.ci/browser.sh does in CI)")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


class Watched:
    """A page whose console errors, CSP violations and uncaught exceptions are kept."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda err: self.problems.append(f"uncaught: {err}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        text = message.text
        # A failed API call the page shows (the 400 of a bad form, the 401 before a key) is
        # logged by Chromium as a failed resource; anything else at error level is a problem.
        if message.type == "error" and "Failed to load resource" not in text:
            self.problems.append(text)
        if "Content Security Policy" in text:
            self.problems.append(text)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def watched(browser_context: Any) -> Iterator[Watched]:
    w = Watched(browser_context)
    yield w
    w.close()


def canvas_png(page: Any) -> bytes:
    url = page.eval_on_selector("#plot", "c => c.toDataURL('image/png')")
    return base64.b64decode(url.split(",", 1)[1])


def artifacts_dir(tmp_path: Path) -> Path:
    where = Path(os.environ.get("JUNIPER_DATA_TEST_ARTIFACTS") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    return where


def test_catalogue_create_plot_download_delete(start_server: Any, watched: Watched, tmp_path: Path) -> None:
    server = start_server()
    page = watched.page
    page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/ui/"
    page.wait_for_selector("#empty")  # a fresh server: nothing listed yet

    # Create from the form: a bad value is shown next to its field, a seedless create its seed.
    page.click("#nav-create")
    page.wait_for_selector("#param-n_spirals")
    page.fill("#param-n_spirals", "1")
    page.click("#create-submit")
    error = page.wait_for_selector("#error-n_spirals:not(:empty)")
    assert "greater than or equal to 2" in error.text_content()
    assert page.query_selector("#created") is None
    page.fill("#param-n_spirals", "2")
    page.fill("#body-ttl", "-5")  # a body field: the API's 422 list form
    page.click("#create-submit")
    assert (
        "greater than or equal to 1"
        in page.wait_for_selector("#error-ttl_seconds:not(:empty)").text_content()
    )
    assert page.text_content("#error-n_spirals") == ""
    page.fill("#body-ttl", "")
    page.fill("#param-seed", "99999999999999999999")  # refused before sending: JS would round it
    page.click("#create-submit")
    assert "rounds larger integers" in page.wait_for_selector("#error-seed:not(:empty)").text_content()
    for name, value in SPIRAL.items():
        page.fill(f"#param-{name}", "" if name == "seed" else str(value))
    page.fill("#body-tags", "browser, arms")
    page.click("#create-submit")
    created = page.wait_for_selector("#created")
    assert page.text_content("#error-n_spirals") == ""
    seed = int(created.get_attribute("data-seed"))
    assert f"with the seed it drew: {seed}" in created.text_content()
    dataset_id = page.text_content("#created-link")
    meta = httpx.get(f"{server.url}/v1/datasets/{dataset_id}", timeout=30).json()
    assert meta["params"]["seed"] == seed
    assert meta["tags"] == ["arms", "browser"]

    # Listed in the catalogue, and kept or dropped by the filters.
    page.click("#nav-catalogue")
    row = page.wait_for_selector(f"tr.dataset[data-id='{dataset_id}']")
    cells = [c.text_content() for c in row.query_selector_all("td")]
    assert cells[2:4] == ["spiral", "10,000"]
    assert "browser" in cells[4] and "arms" in cells[4]
    page.select_option("#filter-generator", "xor")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#empty")
    page.select_option("#filter-generator", "spiral")
    page.fill("#filter-tag", "arms")
    page.click("#filters button[type=submit]")
    page.wait_for_selector(f"tr.dataset[data-id='{dataset_id}']")

    # The dataset's page: the canvas draws each class on its own arm, in the class colours.
    page.click(f"tr.dataset[data-id='{dataset_id}'] a.dataset-link")
    page.wait_for_selector("#plot[data-drawn='10000']")
    rgb = decode(canvas_png(page))
    assert min(len(pixels_of(rgb, CLASS_COLORS[k])[0]) for k in (0, 1)) > 1000
    X, _ = jd.generate_rows(jd.recipe("spiral", {**SPIRAL, "seed": seed}))
    assert min(arm_fractions(rgb, SPIRAL, X)) > 0.97
    counts = page.text_content("#class-counts")
    assert "5,000" in counts
    shot = artifacts_dir(tmp_path) / "web-dataset.png"
    page.screenshot(path=str(shot), full_page=False)
    if os.environ.get("JUNIPER_DATA_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "img" / "web-dataset.png")

    # The NPZ through the page's link: the dataset's arrays.
    with page.expect_download() as download:
        page.click("#downloads a:text('all six arrays')")
    saved = tmp_path / "downloaded.npz"
    download.value.save_as(str(saved))
    with np.load(saved, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(jd.ARRAY_NAMES)
        expected = jd.generate(jd.recipe("spiral", {**SPIRAL, "seed": seed})).arrays
        for name in jd.ARRAY_NAMES:
            np.testing.assert_allclose(npz[name], expected[name], rtol=1e-6, atol=1e-6)

    # Delete with a confirmation: dismissed keeps it, accepted deletes it.
    page.click("#nav-catalogue")
    button = f"tr.dataset[data-id='{dataset_id}'] button.danger"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click(button)
    assert httpx.get(f"{server.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(button)
    page.wait_for_selector("#empty")
    assert httpx.get(f"{server.url}/v1/datasets/{dataset_id}", timeout=30).status_code == 404
    assert watched.problems == []


def test_more_features_offer_a_choice_of_columns(start_server: Any, watched: Watched) -> None:
    server = start_server()
    # Column 2 is the only one whose centres differ (centres given): x=2 separates the classes.
    params = {
        "n_classes": 2,
        "n_features": 3,
        "centers": [[0, 0, -6], [0, 0, 6]],
        "n_samples_per_class": 300,
        "seed": 1,
    }
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "gaussian", "params": params}, timeout=30)
    dataset_id = r.json()["dataset_id"]
    page = watched.page
    page.goto(f"{server.url}/ui/#/datasets/{dataset_id}")
    page.wait_for_selector("#plot[data-drawn='600']")
    assert page.eval_on_selector_all("#plot-x option", "os => os.map(o => o.value)") == ["0", "1", "2"]
    mixed = decode(canvas_png(page))
    page.select_option("#plot-x", "2")  # redraws in the change handler, before this returns
    split = decode(canvas_png(page))
    c0, _ = pixels_of(split, CLASS_COLORS[0])
    c1, _ = pixels_of(split, CLASS_COLORS[1])
    assert c0.max() < c1.min()  # separated along x = column 2
    m0, _ = pixels_of(mixed, CLASS_COLORS[0])
    m1, _ = pixels_of(mixed, CLASS_COLORS[1])
    assert m0.max() > m1.min()  # overlapping along x = column 0
    assert watched.problems == []


def test_a_large_dataset_is_plotted_from_a_sample_of_every_class(start_server: Any, watched: Watched) -> None:
    # 3 x 20,000 rows: the first 50,000 of full (grouped by class) would hold no class 2.
    server = start_server()
    params = {"n_spirals": 3, "n_points_per_spiral": 20_000, "seed": 3}
    r = httpx.post(f"{server.url}/v1/datasets", json={"generator": "spiral", "params": params}, timeout=60)
    page = watched.page
    page.goto(f"{server.url}/ui/#/datasets/{r.json()['dataset_id']}")
    page.wait_for_selector("#plot[data-drawn='48000']")  # all of train (80 %)
    assert page.eval_on_selector("#plot-split", "s => s.value") == "train"
    rgb = decode(canvas_png(page))
    counts = np.array([len(pixels_of(rgb, CLASS_COLORS[k])[0]) for k in range(3)])
    assert counts.min() > 0.5 * counts.max(), counts
    assert watched.problems == []


def test_with_api_keys_the_page_sends_the_key_it_is_given(
    start_server: Any, watched: Watched, tmp_path: Path
) -> None:
    server = start_server(api_keys=[KEY])
    headers = {"X-API-Key": KEY}
    body = {"generator": "xor", "params": {"seed": 9, "n_points_per_quadrant": 50}}
    created = httpx.post(f"{server.url}/v1/datasets", json=body, headers=headers, timeout=30)
    dataset_id = created.json()["dataset_id"]
    page = watched.page
    page.goto(f"{server.url}/ui/")
    error = page.wait_for_selector("#view-error")
    assert "API key" in error.text_content()
    page.fill("#api-key", KEY)
    page.click("#key-save")
    row = page.wait_for_selector(f"tr.dataset[data-id='{dataset_id}']")
    assert page.evaluate("() => sessionStorage.getItem('juniper-data-api-key')") == KEY
    # The thumbnail came through fetch with the key, shown from a blob URL.
    page.wait_for_function(
        f"() => document.querySelector(\"tr.dataset[data-id='{dataset_id}'] img\")?.naturalWidth === 96"
    )
    assert row.query_selector("img").get_attribute("src").startswith("blob:")

    page.click(f"tr.dataset[data-id='{dataset_id}'] a.dataset-link")
    page.wait_for_selector("#plot[data-drawn='200']")
    with page.expect_download() as download:
        page.click("#downloads a:text('all six arrays')")
    saved = tmp_path / "keyed.npz"
    download.value.save_as(str(saved))
    with np.load(saved, allow_pickle=False) as npz:
        np.testing.assert_array_equal(
            npz["y_full"], jd.generate(jd.recipe("xor", body["params"])).arrays["y_full"]
        )

    # Forgetting the key: the API answers 401 again and the page says so.
    page.click("#key-clear")
    page.wait_for_selector("#view-error")
    assert page.evaluate("() => sessionStorage.getItem('juniper-data-api-key')") is None
    problems = [p for p in watched.problems if "401" not in p]
    assert problems == []


def test_a_failing_request_is_shown_not_thrown(start_server: Any, watched: Watched) -> None:
    server = start_server()
    page = watched.page
    page.goto(f"{server.url}/ui/#/datasets/spiral-2.0.0-0000000000000000")
    error = page.wait_for_selector("#view-error")
    assert "not found" in error.text_content()
    assert watched.problems == []


def test_screenshot_in_docs_is_a_png_of_the_dataset_page() -> None:
    # The README shows it; a broken or missing file would show nothing.
    rgb = decode((ROOT / "docs" / "img" / "web-dataset.png").read_bytes())
    assert rgb.shape[1] >= 800
    # The plot is in it: both class colours, in quantity.
    assert min(len(pixels_of(rgb, CLASS_COLORS[k])[0]) for k in (0, 1)) > 1000
