//! Snapshots of the rendered tables of the fixture results tree, in every format. The fixture has
//! no combined Parquet files, so the run folders are read whatever the files' times, and nothing
//! rendered holds a path: the snapshots are the same on every machine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use report::{load, render, table, Format, SweepTable, TableOptions};

fn tables(options: &TableOptions) -> Vec<SweepTable> {
    let sweeps = load(&[common::fixture_results()]).unwrap();
    sweeps.iter().map(|s| table(s, options).unwrap()).collect()
}

#[test]
fn default_table_as_markdown() {
    insta::assert_snapshot!(render(&tables(&TableOptions::default()), Format::Markdown));
}

#[test]
fn default_table_as_csv() {
    insta::assert_snapshot!(render(&tables(&TableOptions::default()), Format::Csv));
}

#[test]
fn default_table_as_json() {
    insta::assert_snapshot!(render(&tables(&TableOptions::default()), Format::Json));
}

#[test]
fn default_table_for_a_terminal() {
    insta::assert_snapshot!(render(&tables(&TableOptions::default()), Format::Table));
}

#[test]
fn best_configuration_per_latent_size_as_markdown() {
    let options = TableOptions::new(Some("test_psnr"), &["model.latent_dim".to_string()], true, None).unwrap();
    insta::assert_snapshot!(render(&tables(&options), Format::Markdown));
}

#[test]
fn variants_compared_over_latent_sizes_as_csv() {
    let options = TableOptions::new(Some("test_mse"), &["variant".to_string()], false, None).unwrap();
    insta::assert_snapshot!(render(&tables(&options), Format::Csv));
}
