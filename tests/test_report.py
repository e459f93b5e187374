"""The study report: built from the database, self-contained, and seen in a real browser."""
from __future__ import annotations

import base64
import html
import re
import shutil

import numpy as np
import pytest

from polyuni_db.report import render_report
from polyuni_db.store.read import read_only_query
from polyuni_db.study import plan, run_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def study(tmp_path_factory, monkeypatch_module):
    """The quick preset, with Google News asked for where it cannot be had."""
    import gensim.downloader

    folder = tmp_path_factory.mktemp("study")
    monkeypatch_module.setattr(gensim.downloader, "BASE_DIR", str(folder / "gensim-data"))
    monkeypatch_module.setattr(gensim.downloader, "DATA_LIST_URL", "http://127.0.0.1:9/list.json")
    db = folder / "study.duckdb"
    # inline: the gensim-data patches above hold in this process only, not in Dask workers
    outcomes = run_study(db, "quick", with_google_news=True, track=False, executor="inline")
    page = render_report(db, folder / "out")
    return db, outcomes, page, page.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_the_quick_preset_ingests_its_runs_and_records_what_it_could_not(study):
    db, outcomes, _, _ = study
    labels = [p.label for p in plan("quick", with_google_news=True)]
    assert [o.label for o in outcomes] == labels
    failed = [o for o in outcomes if o.result is None]
    assert [o.label for o in failed] == ["google_news"] and "unreachable" in failed[0].error
    _, rows = read_only_query(db, "SELECT label, requested FROM unavailable_sources")
    assert rows == [("google_news", "pretrained word2vec-google-news-300")]
    again = run_study(db, "quick", track=False, executor="inline")
    assert {o.result.action for o in again} == {"skipped"}


def test_the_page_shows_the_database(study):
    db, _, _, page = study
    for section in ("overview", "approach-1", "approach-2", "approach-3", "settings"):
        assert f'id="{section}"' in page
    _, runs = read_only_query(db, "SELECT label, mlflow_status FROM run_summary")
    for label, _ in runs:
        assert f"<td>{label}</td>" in page
    assert "could not be ingested" in page and "word2vec-google-news-300" in page
    svgs = [base64.b64decode(data).decode("utf-8") for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]
    for title in ("2 dimensions: 0, 1", "3 dimensions: 1, 2", "4 dimensions: 2, 3"):
        assert any(title in svg for svg in svgs), title
    _, overlap = read_only_query(db, "SELECT n_common, common_words FROM model_overlap "
                                     "WHERE label_a = 'lee_background_10' AND label_b = 'lee_background_20'")
    n_common, common_words = overlap[0]
    assert f'<td class="num">{n_common}</td>' in page and html.escape(common_words) in page
    _, nearest = read_only_query(db, "SELECT neighbours[1] FROM difference_comparison "
                                     "WHERE label = 'glove' AND word_a = 'squirrel'")
    assert f"<td>{html.escape(nearest[0][0])} <span" in page


def test_the_page_is_self_contained_and_its_sql_runs(study):
    db, _, _, page = study
    assert not re.search(r'(src|href)="(https?:)?//', page) and "url(http" not in page
    assert "<script" not in page  # nothing to load, nothing to fail
    statements = [html.unescape(s) for s in re.findall(r"<pre>(.*?)</pre>", page, flags=re.S)]
    assert len(statements) >= 8
    for statement in set(statements):
        columns, _ = read_only_query(db, statement)
        assert columns


def test_figures_have_alt_text_and_captions(study):
    _, _, _, page = study
    figures = re.findall(r"<figure>(.*?)</figure>", page, flags=re.S)
    assert len(figures) >= 5
    for figure in figures:
        assert re.search(r'alt="[^"]{10,}"', figure) and "<figcaption>" in figure


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium (.ci/run does) to see the page")
def test_the_page_in_headless_chromium(study, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from PIL import Image

    _, _, page_path, _ = study
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
            "--disable-background-networking", "--disable-component-update"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            errors = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_path.as_uri(), wait_until="load")
            widths = page.evaluate("Array.from(document.images).map(image => image.naturalWidth)")
            n_tables = page.evaluate("document.querySelectorAll('table thead th').length")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert len(widths) >= 5 and all(width > 0 for width in widths)
    assert n_tables > 20
    assert overflow <= 0  # reads at laptop width without sideways scrolling of the page
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 20  # not a blank page
