//! Latent codes of a dataset split, written as CSV or Parquet: one row per image with its index,
//! its label and one column per code dimension (`z0`, `z1`, …).

use crate::error::ResultsError;
use polars::prelude::*;
use std::io::Write;
use std::path::Path;

/// Writes `codes` (`labels.len()` rows of `dim` values) to `path`; the extension picks the format.
pub fn write_codes(path: &Path, labels: &[u8], codes: &[f32], dim: usize) -> Result<(), ResultsError> {
    if dim == 0 || codes.len() != labels.len() * dim {
        return Err(ResultsError::Invalid(format!(
            "{} code values for {} images of dimension {dim}",
            codes.len(),
            labels.len()
        )));
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => atomic_file::write_with(path, |w| -> std::io::Result<()> {
            let header: Vec<String> = (0..dim).map(|j| format!("z{j}")).collect();
            writeln!(w, "index,label,{}", header.join(","))?;
            for (i, (label, row)) in labels.iter().zip(codes.chunks(dim)).enumerate() {
                let values: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                writeln!(w, "{i},{label},{}", values.join(","))?;
            }
            Ok(())
        })
        .map_err(|e| ResultsError::io(path, e)),
        Some("parquet") => {
            let mut columns = vec![
                Column::new("index".into(), (0..labels.len() as u64).collect::<Vec<_>>()),
                Column::new("label".into(), labels.iter().map(|&l| l as u32).collect::<Vec<_>>()),
            ];
            for j in 0..dim {
                columns.push(Column::new(
                    format!("z{j}").into(),
                    codes.iter().skip(j).step_by(dim).copied().collect::<Vec<f32>>(),
                ));
            }
            let mut df = DataFrame::new(labels.len(), columns).map_err(|e| ResultsError::Schema(e.to_string()))?;
            crate::table::write_frame(path, &mut df)
        }
        _ => Err(ResultsError::Invalid(format!("{}: the output must end in .csv or .parquet", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_csv_and_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        write_codes(&csv, &[3, 7], &[0.5, -1.0, 2.0, 0.25], 2).unwrap();
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "index,label,z0,z1\n0,3,0.5,-1\n1,7,2,0.25\n");
        let pq = dir.path().join("c.parquet");
        write_codes(&pq, &[3, 7], &[0.5, -1.0, 2.0, 0.25], 2).unwrap();
        let df = ParquetReader::new(std::fs::File::open(&pq).unwrap()).finish().unwrap();
        assert_eq!(df.shape(), (2, 4));
        assert_eq!(df.column("z1").unwrap().f32().unwrap().get(1), Some(0.25));
        assert!(write_codes(&dir.path().join("c.txt"), &[1], &[0.0], 1).is_err());
        assert!(write_codes(&csv, &[1], &[0.0, 1.0, 2.0], 2).is_err());
    }
}
