//! The HTML page: a snapshot of the fixture's page (its SVG and embedded pictures elided); every
//! table row and every chart of `--plots` is on it; it references nothing outside itself;
//! everything taken from the results is escaped; pictures are embedded byte for byte; and a
//! search (a `search.json`, a `trial` column, a pruned trial) gets its charts and shows the
//! pruned trial with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use base64::Engine as _;
use report::{html_report, load, plots, Metric, PlotOptions, SweepResults, TableOptions};

fn options() -> report::HtmlOptions {
    report::HtmlOptions { table: TableOptions::default(), generator: "runner (test)".to_string() }
}

fn page_of(sweeps: &[SweepResults]) -> String {
    html_report(sweeps, &options()).unwrap()
}

/// `text` with everything from each `open` to the next `close` replaced by `marker`.
fn cut(text: &str, open: &str, close: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let end = rest[start..].find(close).unwrap() + start + close.len();
        out.push_str(marker);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The page with each inline SVG, each embedded picture's data and the (constant) style sheet
/// and script replaced by markers: what is left is the page's own structure and text.
fn elided(page: &str) -> String {
    let out = cut(page, "<svg ", "</svg>", "<svg>…</svg>");
    let out = cut(&out, "<style>", "</style>", "<style>…</style>");
    let out = cut(&out, "<script>", "</script>", "<script>…</script>");
    let mut elided = String::new();
    let mut rest = out.as_str();
    while let Some(start) = rest.find("base64,") {
        elided.push_str(&rest[..start + "base64,".len()]);
        let end = rest[start..].find('"').unwrap() + start;
        elided.push('…');
        rest = &rest[end..];
    }
    elided.push_str(rest);
    elided
}

/// The values of `attr="…"` on the page, in order.
fn attributes(page: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    page.match_indices(&needle)
        .map(|(i, _)| {
            let from = i + needle.len();
            page[from..from + page[from..].find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn the_page_of_the_fixture() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    insta::assert_snapshot!(elided(&page_of(&sweeps)));
}

#[test]
fn every_table_row_and_every_chart_of_the_plots_is_on_the_page() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let page = page_of(&sweeps);
    let t = report::table(&sweeps[0], &TableOptions::default()).unwrap();
    assert_eq!(page.matches("<tr class=\"config").count(), t.rows.len());
    assert_eq!(page.matches("<tr class=\"config best\"").count(), 1, "one best row");
    assert_eq!(page.matches("<details>").count(), t.rows.len(), "each row's configuration one click away");
    // The charts are those `--plots` writes, by the same names, then the best run's latent codes.
    let out = tempfile::tempdir().unwrap();
    let pngs = plots(&sweeps[0], &PlotOptions::new(Metric::TestBce), out.path()).unwrap();
    let mut expected: Vec<String> = pngs.iter().map(|p| p.file_stem().unwrap().to_string_lossy().to_string()).collect();
    expected.push("latent".to_string());
    assert_eq!(attributes(&page, "data-chart"), expected);
    // Each chart is drawn: an SVG with lines and text.
    for chart in page.split("<figure class=\"chart\"").skip(1) {
        let svg = &chart[..chart.find("</figure>").unwrap()];
        assert!(svg.contains("<svg ") && svg.contains("<polyline") && svg.contains("<text"), "{}", &svg[..200]);
    }
    // The diverged run, with its reason.
    assert!(page.contains("Runs that did not complete"));
    assert!(page.contains("training loss became NaN at epoch 2, batch 1"));
    assert!(page.contains(common::DIVERGED));
}

#[test]
fn the_page_references_nothing_outside_itself() {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    let page = page_of(&sweeps);
    for attr in ["src", "href", "srcset", "poster", "action", "data"] {
        for v in attributes(&page, attr) {
            assert!(v.starts_with('#') || v.starts_with("data:image/png;base64,"), "{attr}={v:?}");
        }
    }
    let lower = page.to_lowercase();
    for bad in ["@import", "url(", "<link", "<iframe", "<object", "<embed", "fetch(", "xmlhttprequest", "@font-face"] {
        assert!(!lower.contains(bad), "{bad}");
    }
    // The only URL is the SVG namespace, which is a name, not something fetched.
    let urls: Vec<&str> = lower.match_indices("http").map(|(i, _)| &page[i..i + 26]).collect();
    assert!(urls.iter().all(|u| *u == "http://www.w3.org/2000/svg"), "{urls:?}");
    assert_eq!(page.matches("<script>").count(), 1, "one small inline script");
}

#[test]
fn everything_taken_from_the_results_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("fixture");
    common::copy_tree(&common::fixture_sweep(), &sweep);
    let mut r = common::record(&sweep, common::DIVERGED);
    r["label"] = "dae <script>alert(1)</script>".into();
    r["error"] = "loss & <b>NaN</b> \"quoted\"".into();
    common::write_record(&sweep, common::DIVERGED, &r);
    let config = sweep.join("runs").join(common::LONE_SEED).join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("[data]", "# <img src=x onerror=alert(2)>\n[data]")).unwrap();
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let page = page_of(&sweeps);
    assert!(!page.contains("<script>alert") && !page.contains("<b>NaN") && !page.contains("<img src=x"));
    assert!(page.contains("dae &lt;script&gt;alert(1)&lt;/script&gt;"), "the label, escaped");
    assert!(page.contains("loss &amp; &lt;b&gt;NaN&lt;/b&gt; &quot;quoted&quot;"), "the error text, escaped");
    assert!(page.contains("# &lt;img src=x onerror=alert(2)&gt;"), "the configuration, escaped");
}

/// A PNG of `w` × `h` grey pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&vec![128u8; (w * h) as usize]).unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn the_best_and_worst_configurations_reconstructions_are_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("fixture");
    common::copy_tree(&common::fixture_sweep(), &sweep);
    // A distinct picture per run, so that the page shows which run's it embedded.
    let mut pictures = Vec::new();
    for (i, entry) in std::fs::read_dir(sweep.join("runs")).unwrap().enumerate() {
        let run = entry.unwrap().path();
        let bytes = png(20 + i as u32, 8);
        std::fs::write(run.join(spec::layout::RECONSTRUCTIONS), &bytes).unwrap();
        pictures.push((run.file_name().unwrap().to_string_lossy().to_string(), bytes));
    }
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    let page = page_of(&sweeps);
    let t = report::table(&sweeps[0], &TableOptions::default()).unwrap();
    let embedded: Vec<Vec<u8>> = attributes(&page, "src")
        .iter()
        .map(|v| {
            base64::engine::general_purpose::STANDARD.decode(v.strip_prefix("data:image/png;base64,").unwrap()).unwrap()
        })
        .collect();
    assert_eq!(embedded.len(), 2, "the best and the worst configuration");
    assert_eq!(attributes(&page, "data-picture"), ["best", "worst"]);
    // The best configuration's best run by final test_bce, and the worst's worst.
    let runs = &sweeps[0].runs;
    let ids = runs.column("run_id").unwrap().str().unwrap().clone();
    let bce = runs.column("final_test_bce").unwrap().f64().unwrap().clone();
    let status = runs.column("status").unwrap().str().unwrap().clone();
    let completed: Vec<(String, f64)> = (0..runs.height())
        .filter(|&i| status.get(i) == Some("completed"))
        .map(|i| (ids.get(i).unwrap().to_string(), bce.get(i).unwrap()))
        .collect();
    let best_row = t.rows.iter().find(|r| r.best).unwrap();
    let best_mean = best_row.metrics[0].mean.unwrap();
    let worst_mean = t.rows.iter().filter_map(|r| r.metrics[0].mean).fold(f64::MIN, f64::max);
    assert!(worst_mean > best_mean);
    let picture_of = |id: &str| pictures.iter().find(|(i, _)| i == id).unwrap().1.clone();
    let best_run = completed.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(embedded[0], picture_of(&best_run.0), "the overall best run is in the best configuration here");
    let worst_run = completed.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
    assert_eq!(embedded[1], picture_of(&worst_run.0), "the overall worst run is in the worst configuration here");
    assert!(page.contains(&format!("its best run {}", best_run.0)));
}

#[test]
fn a_search_gets_its_charts_and_shows_its_pruned_trials() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::search_fixture(dir.path());
    let page = page_of(std::slice::from_ref(&s));
    let charts = attributes(&page, "data-chart");
    assert!(charts.contains(&"test_bce_best_so_far_vs_trial".to_string()), "{charts:?}");
    assert!(charts.contains(&"search_parallel_coordinates".to_string()), "{charts:?}");
    // What was searched, said once: by the ranked table's first note.
    assert_eq!(page.matches("tpe search to minimise test_bce over model.latent_dim").count(), 1, "{page}");
    assert!(!page.contains("<p class=\"search\">"));
    // The grid's view of the same runs (`--group-by`) has no ranking notes: a paragraph says it.
    let grouped = report::HtmlOptions {
        table: TableOptions::new(None, &["model.latent_dim".to_string()], false, None).unwrap(),
        generator: "runner (test)".to_string(),
    };
    let page_grouped = html_report(std::slice::from_ref(&s), &grouped).unwrap();
    assert!(page_grouped.contains(
        "<p class=\"search\">A tpe search to minimise <code>test_bce</code> over <code>model.latent_dim</code>"
    ));
    assert!(page.contains("7 runs: 6 completed, 1 pruned"), "every status by its name");
    assert!(page.contains("pruned at rung 1 (epoch 1)"), "the pruned trial with its reason");
    assert!(page.contains("One trial that was pruned or did not complete is left out."));
    // The summary table counts it in a column of its own.
    assert!(page.contains("<th class=\"num\" title=\"sort by other\">other</th>"));
    // The terminal title too.
    assert!(report::table(&s, &TableOptions::default()).unwrap().title().contains("0 diverged, 0 failed, 1 pruned"));
    // The parallel coordinates name the searched keys and leave out the one no run row has.
    let parallel = &page[page.find("data-chart=\"search_parallel_coordinates\"").unwrap()..];
    let parallel = &parallel[..parallel.find("</figure>").unwrap()];
    for axis in ["model.latent_dim (log)", "noise.level", "variant", "test_bce"] {
        assert!(parallel.contains(&format!(">\n{axis}\n</text>")) || parallel.contains(axis), "{axis}");
    }
    assert!(parallel.contains("not columns of the run rows, not drawn: train.warmup"), "the unknown key is named");
    // `--plots` writes the same two charts as PNG.
    let out = dir.path().join("plots");
    let written = plots(&s, &PlotOptions::new(Metric::TestBce), &out).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert!(names.ends_with(&["test_bce_best_so_far_vs_trial.png".into(), "search_parallel_coordinates.png".into()]));
}

#[test]
fn a_search_file_without_trials_draws_no_search_charts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = common::search_fixture(dir.path());
    s.runs = s.runs.drop("trial").unwrap();
    let page = page_of(std::slice::from_ref(&s));
    assert!(!page.contains("best_so_far_vs_trial") && !page.contains("search_parallel_coordinates"));
    assert!(page.contains("A tpe search"), "the search is still described");
}

#[test]
fn several_sweeps_are_sections_of_one_page() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture_sweep(), &dir.path().join("a/fixture"));
    common::copy_tree(&common::fixture_sweep(), &dir.path().join("b/other"));
    let sweeps = load(&[dir.path().to_path_buf()]).unwrap();
    assert_eq!(sweeps.len(), 2);
    let page = page_of(&sweeps);
    let rows = report::table(&sweeps[0], &TableOptions::default()).unwrap().rows.len();
    assert_eq!(attributes(&page, "data-sweep").iter().filter(|v| v.as_str() == "fixture").count(), 1 + rows);
    assert_eq!(page.matches("<section class=\"sweep\"").count(), 2);
    assert!(
        page.contains("<a href=\"#sweep-fixture\">fixture</a>") && page.contains("<a href=\"#sweep-other\">other</a>")
    );
    let ids = attributes(&page, "id");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "ids are unique: {ids:?}");
}
