//! Rows ↔ CSV and Parquet. A row type says its columns and its cells ([`Rows`]); for a flat serde
//! struct both come from the struct itself — the column names and order from its fields, their
//! types from a trace of its `Deserialize` impl (serde-reflection) — so no column list is written
//! by hand ([`flat_schema`], [`flat_cells`]). A row made of parts (a run's row: its fixed fields,
//! its kind's keys, one final value per metric of the epoch rows) joins its parts' columns.

use crate::error::ResultsError;
use polars::prelude::*;
use serde::{de::DeserializeOwned, Serialize, Serializer};
use serde_reflection::{ContainerFormat, Format, Tracer, TracerConfig};
use std::any::TypeId;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

/// A column's type in Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Str,
    U64,
    I64,
    F64,
    Bool,
}

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Bool(bool),
}

/// Written as the primitive it holds, so that the csv crate formats it as it formats a struct
/// field (an empty field for `Null`).
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_none(),
            Cell::Str(v) => s.serialize_str(v),
            Cell::U64(v) => s.serialize_u64(*v),
            Cell::I64(v) => s.serialize_i64(*v),
            Cell::F64(v) => s.serialize_f64(*v),
            Cell::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// A type whose values are rows of a table.
pub trait Rows {
    /// The columns: names in order and their types (all nullable).
    fn schema() -> Result<Vec<(String, ColumnType)>, ResultsError>;
    /// This row's cells, in [`Rows::schema`] order.
    fn cells(&self) -> Result<Vec<Cell>, ResultsError>;
}

impl Rows for spec::MetricRow {
    fn schema() -> Result<Vec<(String, ColumnType)>, ResultsError> {
        flat_schema::<Self>()
    }
    fn cells(&self) -> Result<Vec<Cell>, ResultsError> {
        flat_cells(self)
    }
}

/// The columns of a flat struct: names in field order and their types. Traced once per type.
pub fn flat_schema<T: DeserializeOwned + 'static>() -> Result<Vec<(String, ColumnType)>, ResultsError> {
    type Cache = HashMap<TypeId, Vec<(String, ColumnType)>>;
    static TRACED: LazyLock<Mutex<Cache>> = LazyLock::new(|| Mutex::new(HashMap::new()));
    let id = TypeId::of::<T>();
    if let Some(schema) = TRACED.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return Ok(schema);
    }
    let schema = trace::<T>()?;
    if let Ok(mut cache) = TRACED.lock() {
        cache.insert(id, schema.clone());
    }
    Ok(schema)
}

fn trace<T: DeserializeOwned>() -> Result<Vec<(String, ColumnType)>, ResultsError> {
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

/// The cells of a flat struct, in [`flat_schema`] order. A field its serialisation leaves out
/// (`skip_serializing_if`) is `Null`; so is a NaN (serde_json has no NaN; no row this project
/// writes holds one: a run whose metrics are not finite is recorded as diverged first).
pub fn flat_cells<T: Serialize + DeserializeOwned + 'static>(row: &T) -> Result<Vec<Cell>, ResultsError> {
    let serde_json::Value::Object(map) = serde_json::to_value(row).map_err(|e| ResultsError::Schema(e.to_string()))?
    else {
        return Err(ResultsError::Schema(format!("a {} is not a struct", std::any::type_name::<T>())));
    };
    Ok(flat_schema::<T>()?.iter().map(|(name, t)| cell(map.get(name), *t)).collect())
}

/// A JSON value as a cell of a column type.
fn cell(value: Option<&serde_json::Value>, t: ColumnType) -> Cell {
    let Some(v) = value.filter(|v| !v.is_null()) else { return Cell::Null };
    let c = match t {
        ColumnType::Str => v.as_str().map(|s| Cell::Str(s.to_string())),
        ColumnType::U64 => v.as_u64().map(Cell::U64),
        ColumnType::I64 => v.as_i64().map(Cell::I64),
        ColumnType::F64 => v.as_f64().map(Cell::F64),
        ColumnType::Bool => v.as_bool().map(Cell::Bool),
    };
    c.unwrap_or(Cell::Null)
}

/// Builds a DataFrame with one column per schema column.
pub fn to_frame<T: Rows>(rows: &[T]) -> Result<DataFrame, ResultsError> {
    let schema = T::schema()?;
    let cells: Vec<Vec<Cell>> = rows.iter().map(Rows::cells).collect::<Result<_, _>>()?;
    if let Some(bad) = cells.iter().find(|c| c.len() != schema.len()) {
        return Err(ResultsError::Schema(format!("a row of {} cells for {} columns", bad.len(), schema.len())));
    }
    let mut columns = Vec::with_capacity(schema.len());
    for (i, (name, t)) in schema.iter().enumerate() {
        let column = cells.iter().map(|row| &row[i]);
        let series = match t {
            ColumnType::Str => Series::new(
                name.into(),
                column.map(|c| if let Cell::Str(s) = c { Some(s.as_str()) } else { None }).collect::<Vec<_>>(),
            ),
            ColumnType::U64 => Series::new(
                name.into(),
                column.map(|c| if let Cell::U64(v) = c { Some(*v) } else { None }).collect::<Vec<_>>(),
            ),
            ColumnType::I64 => Series::new(
                name.into(),
                column.map(|c| if let Cell::I64(v) = c { Some(*v) } else { None }).collect::<Vec<_>>(),
            ),
            ColumnType::F64 => Series::new(
                name.into(),
                column.map(|c| if let Cell::F64(v) = c { Some(*v) } else { None }).collect::<Vec<_>>(),
            ),
            ColumnType::Bool => Series::new(
                name.into(),
                column.map(|c| if let Cell::Bool(v) = c { Some(*v) } else { None }).collect::<Vec<_>>(),
            ),
        };
        columns.push(Column::from(series));
    }
    DataFrame::new(rows.len(), columns).map_err(|e| ResultsError::Schema(e.to_string()))
}

/// The CSV header a row type gets.
pub fn csv_headers<T: Rows>() -> Result<Vec<String>, ResultsError> {
    Ok(T::schema()?.into_iter().map(|(n, _)| n).collect())
}

/// Writes rows (after a header line) as CSV to `path`, atomically.
pub fn write_csv<T: Rows>(path: &Path, rows: &[T]) -> Result<(), ResultsError> {
    let headers = csv_headers::<T>()?;
    let cells: Vec<Vec<Cell>> = rows.iter().map(Rows::cells).collect::<Result<_, _>>()?;
    atomic_file::write_with(path, |file| -> Result<(), ResultsError> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(file);
        let err = |e: csv::Error| ResultsError::Write { file: path.to_path_buf(), message: e.to_string() };
        w.write_record(&headers).map_err(err)?;
        for row in &cells {
            w.serialize(row).map_err(err)?;
        }
        w.flush().map_err(|e| ResultsError::io(path, e))
    })
    .map_err(|e| e.naming(path))
}

/// The CSV line (with its newline) of one row, as [`write_csv`] writes it: for appending.
pub fn csv_line<T: Rows>(row: &T, path: &Path) -> Result<Vec<u8>, ResultsError> {
    let err = |message: String| ResultsError::Write { file: path.to_path_buf(), message };
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    w.serialize(row.cells()?).map_err(|e| err(e.to_string()))?;
    w.into_inner().map_err(|e| err(e.to_string()))
}

/// Writes rows as Parquet to `path`, atomically.
pub fn write_parquet<T: Rows>(path: &Path, rows: &[T]) -> Result<(), ResultsError> {
    write_frame(path, &mut to_frame(rows)?)
}

/// Writes a frame as Parquet to `path`, atomically.
pub fn write_frame(path: &Path, df: &mut DataFrame) -> Result<(), ResultsError> {
    atomic_file::write_with(path, |file| -> Result<(), ResultsError> {
        ParquetWriter::new(file)
            .finish(df)
            .map(|_| ())
            .map_err(|e| ResultsError::Write { file: path.to_path_buf(), message: e.to_string() })
    })
    .map_err(|e| e.naming(path))
}

/// Reads every complete row of a CSV file of a flat struct. A last line without its newline (a
/// write cut short by a crash) is ignored; any other unreadable row is an error naming the file
/// and line.
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

    impl Rows for Row {
        fn schema() -> Result<Vec<(String, ColumnType)>, ResultsError> {
            flat_schema::<Self>()
        }
        fn cells(&self) -> Result<Vec<Cell>, ResultsError> {
            flat_cells(self)
        }
    }

    fn rows() -> Vec<Row> {
        vec![
            Row { name: "a".into(), n: 1, x: 0.1 + 0.2, maybe: None, label: Some("l".into()) },
            Row { name: "b,\"c\"".into(), n: u64::MAX, x: -1e-300, maybe: Some(f64::MAX), label: None },
        ]
    }

    #[test]
    fn schema_comes_from_the_struct() {
        let s = flat_schema::<Row>().unwrap();
        let names: Vec<_> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["name", "n", "x", "maybe", "label"]);
        assert_eq!(s[3].1, ColumnType::F64);
        assert_eq!(s[4].1, ColumnType::Str);
    }

    #[test]
    fn csv_round_trips_exactly_and_ignores_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        write_csv(&p, &rows()).unwrap();
        assert_eq!(read_csv::<Row>(&p).unwrap(), rows());
        let mut text = std::fs::read_to_string(&p).unwrap();
        // The cells are written as the csv crate writes the struct's own fields.
        let mut direct = csv::Writer::from_writer(Vec::new());
        for r in rows() {
            direct.serialize(r).unwrap();
        }
        assert_eq!(text.as_bytes(), direct.into_inner().unwrap().as_slice());
        let appended = csv_line(&rows()[0], &p).unwrap();
        assert_eq!(text.lines().nth(1).unwrap().as_bytes(), &appended[..appended.len() - 1]);
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
