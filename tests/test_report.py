"""The study report: built from the database, self-contained, and seen in a real browser."""
from __future__ import annotations

import base64
import html
import itertools
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import duckdb

from polyuni_db.cli import main
from polyuni_db.derived.instruments import rotation_nulls
from polyuni_db.report import figures, queries, render_report
from polyuni_db.report.build import cell, tokens
from polyuni_db.store.read import read_only_query
from polyuni_db.study import plan, run_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROTATIONS = 8  # few rotations: the test checks what is stored and shown, not significance


@pytest.fixture(scope="module")
def study(tmp_path_factory, monkeypatch_module):
    """The quick preset, with Google News asked for where it cannot be had."""
    import gensim.downloader

    folder = tmp_path_factory.mktemp("study")
    monkeypatch_module.setattr(gensim.downloader, "BASE_DIR", str(folder / "gensim-data"))
    monkeypatch_module.setattr(gensim.downloader, "DATA_LIST_URL", "http://127.0.0.1:9/list.json")
    db = folder / "study.duckdb"
    # inline: the gensim-data patches above hold in this process only, not in Dask workers
    outcomes = run_study(db, "quick", with_google_news=True, track=False, rotations=ROTATIONS, executor="inline")
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
    again = run_study(db, "quick", track=False, rotations=ROTATIONS, executor="inline")
    assert {o.result.action for o in again} == {"skipped"}
    assert rotation_nulls(db, rotations=ROTATIONS) == 0  # every pair has its null already


def test_the_page_shows_the_database(study):
    db, _, _, page = study
    for section in ("overview", "approach-1", "approach-2", "approach-3", "settings"):
        assert f'id="{section}"' in page
    overview = _section(page, "overview", "approach-1")
    _, runs = read_only_query(db, f"SELECT label, {queries.FURTHER_SEED} FROM run_summary")
    further_seeds = [label for label, further_seed in runs if further_seed]
    assert sorted(further_seeds) == ["corpus_bark_2_trained_s2", "corpus_bark_3_trained_s2"]
    for label, further_seed in runs:  # a seed sweep is counted, not listed
        assert (f"<td>{label}</td>" in overview) is not further_seed, label
    assert f"{len(further_seeds)} further seeds" in overview
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
    assert f'<td class="words">{html.escape(nearest[0][0])} <span' in page


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


def _section(page: str, start: str, end: str) -> str:
    return re.sub(r"\s+", " ", page[page.index(f'id="{start}"'):page.index(f'id="{end}"')])


def test_every_pair_over_1000_words_has_its_random_axes_baseline(study):
    db, _, _, page = study
    _, large = read_only_query(db, "SELECT label FROM run_summary WHERE vocab_size > 1000 ORDER BY label")
    labels = [label for (label,) in large]
    assert labels == ["glove", "lee_background_10", "lee_background_20"]
    _, nulls = read_only_query(db, """
        SELECT s.label_a, s.label_b, s.value, o.n_common, round(s.null_mean, 1), s.p_value, s.parameters->>'rotations'
        FROM similarity_scores AS s JOIN model_overlap AS o USING (label_a, label_b)
        WHERE s.metric = 'axis_overlap_rotation_null'""")
    assert sorted((a, b) for a, b, *_ in nulls) == list(itertools.combinations(labels, 2))
    section = _section(page, "approach-3", "controls")
    for label_a, label_b, value, n_common, null_mean, p_value, rotations in nulls:
        assert value == n_common and int(rotations) == ROTATIONS and 1 / (ROTATIONS + 1) <= p_value <= 1
        row = re.search(rf"<tr><td>{label_a}</td><td>{label_b}</td>(.*?)</tr>", section).group(1)
        assert f'<td class="num">{cell(null_mean)}</td><td class="num">{cell(p_value)}</td>' in row
    beat = sum(p_value < 0.05 for *_, p_value, _ in nulls)
    assert "Of the 3 pairs of models over 1,000 words" in section
    assert f"<strong>{beat} of 3 share more than random axes give</strong>" in section


def test_minimal_models_are_apart_from_the_headline_table_and_heatmap(study):
    _, _, _, page = study
    section = _section(page, "approach-3", "controls")
    headline = section[:section.index("Minimal models (at most 1,000 words)")]
    assert "corpus_4_2" not in headline and "lee_background_10" in headline
    minimal = section[section.index("Minimal models (at most 1,000 words)"):]
    minimal = minimal[:minimal.index("</table>")]
    assert "<td>corpus_4</td><td>corpus_4</td>" in minimal and "corpus_4_2" not in minimal
    (heatmap,) = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)" alt="Heatmap of the dimension words every pair', page)
    svg = base64.b64decode(heatmap).decode("utf-8")
    assert "lee_background_20" in svg and "glove" in svg and "corpus_4" not in svg


def test_the_missing_model_is_named_beside_every_table_that_lacks_it(study):
    _, _, _, page = study
    for start, end in (("approach-2", "approach-3"), ("approach-3", "controls")):
        assert "No <strong>Google News word2vec</strong> here" in _section(page, start, end)


def test_tokens_that_are_punctuation_are_quoted():
    assert tokens([".", "and", "P.S.", "can't", "Burke-Rostagno", "``", "2-4"]) == \
        "“.”, and, “P.S.”, can't, Burke-Rostagno, “``”, 2-4"


def test_a_pair_missing_only_because_of_case_says_so(tmp_path):
    corpus = tmp_path / "capitals.txt"
    corpus.write_text("Poland is far away\nyoga is calm\nPoland and yoga and tea\n" * 4)
    db = tmp_path / "case.duckdb"
    assert main(["--db", str(db), "ingest", "train", "--corpus", str(corpus), "--dims", "2", "--top-k", "2",
                 "--pairs", "poland:yoga", "--label", "caps", "--no-mlflow"]) == 0
    section = _section(render_report(db, tmp_path / "out").read_text(encoding="utf-8"), "approach-2", "approach-3")
    assert "1 model(s) lack poland only because of case (caps): they have “Poland”" in section
    assert "--lowercase</code> trains on a lowercased copy" in section


def test_report_runs_while_another_process_holds_the_file_read_only(study):
    db, _, page_path, _ = study
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('open', flush=True); time.sleep(120)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        assert main(["--db", str(db), "--lock-timeout", "5", "report", "--out", str(page_path.parent)]) == 0
    finally:
        holder.kill()
        holder.wait()


def test_an_old_schema_is_named_not_upgraded(study, tmp_path, capsys):
    db, _, _, _ = study
    old = tmp_path / "old.duckdb"
    shutil.copy(db, old)
    with duckdb.connect(str(old)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0003'")
    assert main(["--db", str(old), "report", "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "schema revision 0003" in error and f"`polyuni --db {old} init`" in error
    with duckdb.connect(str(old), read_only=True) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    assert not (tmp_path / "out").exists()


def test_figures_are_drawn_once_and_kept_by_their_data(tmp_path):
    values = np.array([[0.0, 3.0], [3.0, 0.0]])
    first = [figures.heatmap(["a", "b"], values, "n"), figures.heatmap(["a", "c"], values, "n")]
    assert figures.draw_all(first, tmp_path) == 2
    again = [figures.heatmap(["a", "b"], values, "n")]
    assert figures.draw_all(again, tmp_path) == 0 and again[0].uri == first[0].uri
    assert len(list(tmp_path.glob("*.uri"))) == 1  # the figure no page uses any more is gone
    changed = [figures.heatmap(["a", "b"], values * 2, "n")]
    assert figures.draw_all(changed, tmp_path) == 1 and changed[0].uri != first[0].uri


# In the browser: every element within its container (no sideways scrolling at 1366 px, every
# details block opened but the SQL), and no numeric cell on more than one line.
LAYOUT_PROBLEMS = """() => {
  document.querySelectorAll('details:not(.sql)').forEach(d => d.open = true);
  const problems = [];
  const main = document.querySelector('main').getBoundingClientRect();
  for (const e of document.querySelectorAll('main *')) {
    if (e.closest('details.sql')) continue;
    const box = e.getBoundingClientRect();
    if (box.width > 0 && box.right > main.right + 1) problems.push('beyond the page: ' + e.tagName + ' ' + e.textContent.slice(0, 40));
    if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== 'visible')
      problems.push('scrolls sideways: ' + e.tagName + ' ' + e.textContent.slice(0, 40));
  }
  for (const td of document.querySelectorAll('td.num, td.id')) {
    const range = document.createRange();
    range.selectNodeContents(td);
    const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
    if (lines.size > 1) problems.push('wrapped: ' + td.textContent);
  }
  return problems;
}"""


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium (.ci/run does) to see the page")
def test_the_page_in_headless_chromium(study, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from PIL import Image

    db, _, page_path, _ = study
    # runs logged in MLflow, as after `make study`: 32-character run ids in the runs table
    logged = tmp_path / "logged.duckdb"
    shutil.copy(db, logged)
    with duckdb.connect(str(logged)) as connection:
        connection.execute("UPDATE runs SET mlflow_run_id = md5(label), mlflow_status = 'logged'")
    shutil.copytree(page_path.parent / ".figure-cache", tmp_path / "out" / ".figure-cache")
    page_path = render_report(logged, tmp_path / "out")
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
            runs_table = page.evaluate("""() => {
              const table = Array.from(document.querySelectorAll('#overview table'))
                .find(t => t.caption.textContent.startsWith('Runs in the database, with'));
              const status = Array.from(table.querySelectorAll('th')).find(th => th.textContent === 'mlflow_status');
              const id = table.querySelector('td.id');
              return {status_right: status.getBoundingClientRect().right, id: id.textContent,
                      id_clipped: id.scrollWidth > id.clientWidth || id.getBoundingClientRect().right > window.innerWidth};
            }""")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=False)
            problems = page.evaluate(LAYOUT_PROBLEMS)
        finally:
            browser.close()
    assert errors == []
    assert len(widths) >= 5 and all(width > 0 for width in widths)
    assert n_tables > 20
    assert overflow <= 0  # reads at laptop width without sideways scrolling of the page
    assert runs_table["status_right"] <= 1366 and len(runs_table["id"]) == 32 and not runs_table["id_clipped"]
    assert problems == []
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 20  # not a blank page


def test_approach_1_states_what_training_did(study):
    """The measured change of the published runs, the trained variants' figures beside them, the
    dimensionality figure and pair_interference with its random baseline, all from the database."""
    db, _, _, page = study
    section = page[page.index('id="approach-1"'):page.index('id="approach-2"')]
    _, published = read_only_query(db, "SELECT count(*), count(*) FILTER (WHERE NOT trained), max(moved) "
                                       "FROM word_stats JOIN runs USING (run_id) WHERE label = corpus || '_' || dim AND corpus LIKE 'corpus_%'")
    n_vectors, n_untrained, largest = published[0]
    assert n_untrained == n_vectors and largest == 0.0  # the published settings train nothing
    assert f"training left {n_vectors} of the {n_vectors} word vectors" in section
    assert "therefore show their random initial vectors" in re.sub(r"\s+", " ", section)
    for title in ("Figure 1:", "Figure 2:", "Figure 3:"):
        assert f'alt="{title} scatter plots of the 4 words of corpus_4' in section
    assert 'alt="scatter plots of the 5 words of corpus_bark_2_trained' in section
    assert "Words in corpus order: Dog, Bark, Tree, Sound, Creak." in section
    assert 'alt="Mean feature dimensionality against dimensions' in section
    _, interference = read_only_query(db, "SELECT count(*), count(*) FILTER (WHERE share_interfering >= 0.9) "
                                          "FROM pair_interference WHERE n_seeds >= 2")
    pairs, universal = interference[0]
    assert pairs == 20 and f"{universal} of {pairs} word pairs interfere" in section
    assert re.search(r"<th scope=\"col\"[^>]*>random_share</th>", section)


def test_runs_from_before_moved_was_measured_still_render(study, tmp_path):
    """A database upgraded from revision 0004 has no `moved` for its runs: the page says so."""
    db, _, page_path, _ = study
    upgraded = tmp_path / "upgraded.duckdb"
    shutil.copy(db, upgraded)
    with duckdb.connect(str(upgraded)) as connection:
        connection.execute("UPDATE word_stats SET moved = NULL")
    shutil.copytree(page_path.parent / ".figure-cache", tmp_path / "out" / ".figure-cache")
    section = _section(render_report(upgraded, tmp_path / "out").read_text(encoding="utf-8"), "approach-1", "approach-2")
    assert "were ingested before polyuni measured how far training moves a vector" in section


# A small stand-in of the default preset: every section of it (minimal and toy models, a reference
# corpus with two seeds and planted pseudowords, two corpora through two algorithm families, the
# comparisons, rotation nulls and features), at sizes a test can afford. No pretrained model: the quick
# preset's tests cover GloVe.
STAND_IN = """
[analysis]
top_k = 10
pairs = ["australia:night", "israel:children", "power:match"]

[[train]]
corpora = ["corpus_4"]
dims = [2, 3, 4]

[[train]]
corpora = ["corpus_bark"]
dims = [2, 3, 4]
seeds = [1, 2]
suffix = "trained"
pairs = []
sample = 0
epochs = 1000

[[train]]
corpora = ["lee_background", "head500"]
algorithms = ["word2vec-sg", "ppmi-svd"]
dims = [50]
seeds = [1, 2]

[pseudowords]
corpus = "lee_background"
count = 50
seed = 1
dims = [50]
seeds = [1, 2]

[compare]
runs = ["*_50", "*_50_s2"]
words = 500
permutations = 10

[rotation_nulls]
rotations = 10

[features]
runs = ["lee_background_50", "head500_50", "head500_ppmi-svd_50"]
words = 2000
"""


@pytest.fixture(scope="module")
def default_study(tmp_path_factory):
    import tomllib

    from polyuni_db.study import DEFAULT_PRESET, preset_path

    sections = set(tomllib.loads(preset_path(DEFAULT_PRESET).read_text(encoding="utf-8")))
    assert sections - {"pretrained", "rotations"} == set(tomllib.loads(STAND_IN))  # a stand-in of every part
    folder = tmp_path_factory.mktemp("default")
    sweep = folder / "stand_in.toml"
    sweep.write_text(STAND_IN, encoding="utf-8")
    db = folder / "default.duckdb"
    run_study(db, sweep, track=False, executor="inline")
    page = render_report(db, folder / "out")
    return db, page, page.read_text(encoding="utf-8")


def test_the_default_study_answers_every_question_with_an_interval(default_study):
    db, _, page = default_study
    columns, rows = read_only_query(db, queries.VERDICT)
    verdict = [dict(zip(columns, row)) for row in rows]
    assert [row["question"] for row in verdict] == [
        "dimension words", "difference vectors", "toy superposition", "representational similarity", "features",
        "planted polysemy", "data vs algorithm vs seed"]
    for row in verdict:
        assert row["n_items"] >= 2 and row["null_value"] is not None, row
        assert row["effect_size"] is not None and row["ci_low"] is not None and row["ci_low"] <= row["ci_high"], row
        assert f"{row['n_items']} {row['items']}" in row["reading"] or "pairs)" in row["reading"], row
    # the page opens with the verdict, and shows the view's rows as they are
    assert page.index("<table") == page.index('<table id="verdict">')
    shown = re.findall(r'<tr data-question="([^"]+)">(.*?)</tr>', page, flags=re.S)
    assert [question for question, _ in shown] == [row["question"] for row in verdict]
    for (_, cells), row in zip(shown, verdict):
        texts = [html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
                 for text in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", cells, flags=re.S)]
        assert texts == [cell(row[column]) for column in columns if column != "section"]
        assert f'<a href="#{row["section"]}">' in cells and f'id="{row["section"]}"' in page  # the question links there


def test_the_default_study_fills_every_section(default_study):
    _, _, page = default_study
    assert "not-run" not in page.replace(".not-run", "")  # the style sheet names the class; no element has it
    # no Python object's repr leaked into the prose (a template reading dict.items instead of the key)
    assert not re.search(r"<(?:built-in|bound) method|object at 0x", html.unescape(page))
    for section in ("approach-1", "approach-2", "approach-3", "controls", "families", "planted", "features"):
        assert f'id="{section}"' in page


def test_an_empty_database_names_the_command_that_fills_each_section(tmp_path):
    db = tmp_path / "empty.duckdb"
    assert main(["--db", str(db), "init"]) == 0
    page = render_report(db, tmp_path / "out").read_text(encoding="utf-8")
    unfilled = re.findall(r'<p class="not-run">(.*?)</p>', page, flags=re.S)
    assert len(unfilled) >= 7 and all("<code>polyuni study</code> fills it" in text for text in unfilled)
    assert page.count('Not measured in this database: polyuni study measures it.') == 7


# The page as a reader at 100 % on a 1,366 px screen sees it: its height with every block closed, the
# smallest text (HTML, and each figure's SVG text at the size the figure is shown), and where a click
# in the sticky navigation puts each section's heading.
PAGE_MEASURES = """() => {
  const height = document.documentElement.scrollHeight;
  let smallest = Infinity, where = '';
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const element = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !element.getClientRects().length) continue;
    const size = parseFloat(getComputedStyle(element).fontSize);
    if (size < smallest) { smallest = size; where = walker.currentNode.textContent.slice(0, 40); }
  }
  document.querySelectorAll('details:not(.sql)').forEach(d => d.open = true);
  const images = Array.from(document.images).map(image => [image.src, image.getBoundingClientRect().width]);
  return {height, smallest, where, images};
}"""


def _smallest_figure_text(images) -> float:
    """The smallest SVG text of the figures as shown: its size in SVG units times the figure's scale."""
    smallest = float("inf")
    for source, shown_width in images:
        svg = base64.b64decode(source.split(",", 1)[1]).decode("utf-8")
        view_width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
        # matplotlib writes either the shorthand (font: 9px 'DejaVu Sans') or font-size: 9px
        sizes = [float(size) for size in re.findall(r"font(?:-size)?: (?:\w+ )*([\d.]+)px", svg)]
        if sizes:
            smallest = min(smallest, min(sizes) * shown_width / view_width)
    assert smallest < float("inf"), "no figure text found: the size pattern no longer matches matplotlib's SVG"
    return smallest


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium: install Debian's chromium (.ci/run does) to see the page")
def test_the_default_page_is_legible_and_short_at_1366_px(default_study, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    _, page_path, _ = default_study
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(page_path.as_uri(), wait_until="load")
            page.screenshot(path=str(tmp_path / "top.png"))
            landings = []
            for link in page.evaluate("Array.from(document.querySelectorAll('nav.toc a')).map(a => a.hash)"):
                page.click(f"nav.toc a[href='{link}']")
                page.wait_for_timeout(50)
                landings.append(page.evaluate(f"""() => [document.querySelector('{link}').getBoundingClientRect().top,
                    document.querySelector('nav.toc').getBoundingClientRect().bottom]"""))
            page.goto(page_path.as_uri(), wait_until="load")
            measures = page.evaluate(PAGE_MEASURES)
        finally:
            browser.close()
    assert measures["height"] <= 12_000, measures["height"]
    assert measures["smallest"] >= 9, measures["where"]
    assert _smallest_figure_text(measures["images"]) >= 9 - 0.05
    assert all(top >= nav_bottom - 1 for top, nav_bottom in landings), landings


def test_the_default_preset_plans_every_part_once():
    planned = plan("default")
    labels = [run.label for run in planned]
    assert len(labels) == len(set(labels))
    for label in ("corpus_4_2", "corpus_bark_4_trained_s10", "brown_3", "brown_50_s2", "webtext_fasttext_50_s2",
                  "lee_background_ppmi-svd_50", "webtext_word2vec-cbow_50", "glove", "glove_rot1", "minilm"):
        assert label in labels
    assert {run.reference for run in planned if run.reference} == {"brown_50", "brown_50_s2"}


def test_past_the_page_s_limits_tables_list_their_first_rows_and_matrices_give_way(study, tmp_path, monkeypatch):
    """At 1,000 runs the pairs made a 111 MB page and a 32,878-pixel matrix: past the limits a table
    lists its first rows and says how many its SQL returns, and a matrix of every pair is left out,
    saying why (here with the limits lowered to the quick study's size)."""
    from polyuni_db.report import build

    db, _, _, full = study
    assert "Heatmap of the dimension words" in full and "The first " not in full
    monkeypatch.setattr(build, "MAX_TABLE_ROWS", 3)
    monkeypatch.setattr(build, "MAX_MATRIX_RUNS", 2)
    page = render_report(db, tmp_path / "out").read_text(encoding="utf-8")
    assert "Heatmap of the dimension words" not in page and "More than 2 runs: a matrix" in page
    shown = re.findall(r"The first 3 of ([\d,]+) rows", page)
    assert shown and all(int(total.replace(",", "")) > 3 for total in shown)
    tables = re.findall(r'<table data-rows="(\d+)">.*?<tbody>(.*?)</tbody>', page, flags=re.S)
    assert any(int(rows) > 3 for rows, _ in tables)
    assert all(body.count("<tr") == min(3, int(rows)) for rows, body in tables)  # every table of a query
    blocks = re.findall(r"<summary>Top 5 words|<caption>Top 5 words of each dimension of", page)
    assert len(blocks) <= 2  # a block per run up to the limit
