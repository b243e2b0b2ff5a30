//! Rows of a serde struct ↔ CSV and Parquet. The columns, their order and their types come from
//! the struct itself: CSV headers from its field names (the csv crate), Parquet column types from
//! a trace of its `Deserialize` impl (serde-reflection). No column list is written by hand.

use crate::error::ResultsError;
use polars::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use serde_reflection::{ContainerFormat, Format, Tracer, TracerConfig};
use std::path::Path;

/// A column's type in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Str,
    U64,
    I64,
    F64,
    Bool,
}

/// The columns of a flat struct: names in field order and their types (all nullable).
pub fn schema<T: DeserializeOwned>() -> Result<Vec<(String, ColumnType)>, ResultsError> {
    let bad = |m: String| ResultsError::Schema(format!("{}: {m}", std::any::type_name::<T>()));
    let mut tracer = Tracer::new(TracerConfig::default());
    let (format, _) = tracer.trace_simple_type::<T>().map_err(|e| bad(e.to_string()))?;
    let Format::TypeName(name) = format else { return Err(bad("not a named struct".into())) };
    let registry = tracer.registry().map_err(|e| bad(e.to_string()))?;
    let Some(ContainerFormat::Struct(fields)) = registry.get(&name) else { return Err(bad("not a struct".into())) };
    fields
        .iter()
        .map(|f| {
            let inner = match &f.value {
                Format::Option(inner) => inner.as_ref(),
                other => other,
            };
            let t = match inner {
                Format::Str => ColumnType::Str,
                Format::U8 | Format::U16 | Format::U32 | Format::U64 => ColumnType::U64,
                Format::I8 | Format::I16 | Format::I32 | Format::I64 => ColumnType::I64,
                Format::F32 | Format::F64 => ColumnType::F64,
                Format::Bool => ColumnType::Bool,
                other => return Err(bad(format!("field `{}` has unsupported type {other:?}", f.name))),
            };
            Ok((f.name.clone(), t))
        })
        .collect()
}

/// Builds a DataFrame with one column per struct field.
pub fn to_frame<T: Serialize + DeserializeOwned>(rows: &[T]) -> Result<DataFrame, ResultsError> {
    let schema = schema::<T>()?;
    let values: Vec<serde_json::Map<String, serde_json::Value>> = rows
        .iter()
        .map(|r| match serde_json::to_value(r) {
            Ok(serde_json::Value::Object(m)) => Ok(m),
            Ok(_) => Err(ResultsError::Schema("a row is not a struct".into())),
            Err(e) => Err(ResultsError::Schema(e.to_string())),
        })
        .collect::<Result<_, _>>()?;
    let mut columns = Vec::with_capacity(schema.len());
    for (name, t) in &schema {
        let cells = values.iter().map(|m| m.get(name).filter(|v| !v.is_null()));
        let series = match t {
            ColumnType::Str => Series::new(
                name.into(),
                cells.map(|v| v.and_then(|v| v.as_str().map(str::to_string))).collect::<Vec<_>>(),
            ),
            ColumnType::U64 => {
                Series::new(name.into(), cells.map(|v| v.and_then(serde_json::Value::as_u64)).collect::<Vec<_>>())
            }
            ColumnType::I64 => {
                Series::new(name.into(), cells.map(|v| v.and_then(serde_json::Value::as_i64)).collect::<Vec<_>>())
            }
            ColumnType::F64 => {
                Series::new(name.into(), cells.map(|v| v.and_then(serde_json::Value::as_f64)).collect::<Vec<_>>())
            }
            ColumnType::Bool => {
                Series::new(name.into(), cells.map(|v| v.and_then(serde_json::Value::as_bool)).collect::<Vec<_>>())
            }
        };
        columns.push(Column::from(series));
    }
    DataFrame::new(rows.len(), columns).map_err(|e| ResultsError::Schema(e.to_string()))
}

/// Writes rows as CSV to `path` atomically (a unique temp file, then rename).
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T], headers_if_empty: &[String]) -> Result<(), ResultsError> {
    crate::atomic::write_with(path, |file| {
        let mut w = csv::WriterBuilder::new().has_headers(true).from_writer(file);
        if rows.is_empty() {
            w.write_record(headers_if_empty)?;
        }
        for r in rows {
            w.serialize(r)?;
        }
        w.flush()?;
        Ok(())
    })
}

/// Writes rows as Parquet to `path` atomically.
pub fn write_parquet<T: Serialize + DeserializeOwned>(path: &Path, rows: &[T]) -> Result<(), ResultsError> {
    let mut df = to_frame(rows)?;
    crate::atomic::write_with(path, |file| {
        ParquetWriter::new(file).finish(&mut df).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(())
    })
}

/// Reads every complete row of a CSV file. A last line without its newline (a write cut short by
/// a crash) is ignored; any other unreadable row is an error naming the file and line.
pub fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ResultsError> {
    let text = std::fs::read_to_string(path).map_err(|e| ResultsError::io(path, e))?;
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(complete.as_bytes());
    let mut rows = Vec::new();
    for (i, row) in r.deserialize::<T>().enumerate() {
        rows.push(row.map_err(|e| ResultsError::Csv {
            file: path.to_path_buf(),
            line: i + 2,
            message: e.to_string(),
        })?);
    }
    Ok(rows)
}

/// The CSV header a struct's rows get (for writing an empty file with the right columns).
pub fn csv_headers<T: DeserializeOwned>() -> Result<Vec<String>, ResultsError> {
    Ok(schema::<T>()?.into_iter().map(|(n, _)| n).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Row {
        name: String,
        n: u64,
        x: f64,
        maybe: Option<f64>,
        label: Option<String>,
    }

    fn rows() -> Vec<Row> {
        vec![
            Row { name: "a".into(), n: 1, x: 0.1 + 0.2, maybe: None, label: Some("l".into()) },
            Row { name: "b,\"c\"".into(), n: u64::MAX, x: -1e-300, maybe: Some(f64::MAX), label: None },
        ]
    }

    #[test]
    fn schema_comes_from_the_struct() {
        let s = schema::<Row>().unwrap();
        let names: Vec<_> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["name", "n", "x", "maybe", "label"]);
        assert_eq!(s[3].1, ColumnType::F64);
        assert_eq!(s[4].1, ColumnType::Str);
    }

    #[test]
    fn csv_round_trips_exactly_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        write_csv(&p, &rows(), &[]).unwrap();
        assert_eq!(read_csv::<Row>(&p).unwrap(), rows());
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("c,3,0.5,,x"); // no newline: cut short
        std::fs::write(&p, text).unwrap();
        assert_eq!(read_csv::<Row>(&p).unwrap(), rows());
    }

    #[test]
    fn parquet_holds_the_same_values_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.parquet");
        write_parquet(&p, &rows()).unwrap();
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap()).finish().unwrap();
        assert_eq!(df.height(), 2);
        assert_eq!(df.column("n").unwrap().dtype(), &DataType::UInt64);
        assert_eq!(df.column("maybe").unwrap().dtype(), &DataType::Float64);
        assert_eq!(df.column("label").unwrap().dtype(), &DataType::String);
        let x = df.column("x").unwrap().f64().unwrap().get(0).unwrap();
        assert_eq!(x, 0.1 + 0.2);
        assert_eq!(df.column("maybe").unwrap().f64().unwrap().get(0), None);
        // An all-null optional column keeps its type.
        let none = vec![Row { maybe: None, label: None, ..rows()[0].clone() }];
        let df = to_frame(&none).unwrap();
        assert_eq!(df.column("label").unwrap().dtype(), &DataType::String);
    }
}
