//! How the execution commands print: aligned tables for people (the default), `-o json` and `-o yaml` for
//! scripts, with the same fields in both machine forms.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

/// Output format of the execution commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns (lists) or `Field: value` lines (one execution).
    #[default]
    Table,
    Json,
    Yaml,
}

/// The `-o` flag, shared by every execution command.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Rows under a header, each column as wide as its widest cell, separated by three spaces as kubectl does.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 3));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `value` as pretty JSON or YAML (`Table` is the caller's own rendering).
pub fn machine_readable<T: Serialize>(value: &T, format: Format) -> anyhow::Result<String> {
    let json = serde_json::to_value(value).context("serialising the result")?;
    Ok(match format {
        Format::Yaml => serde_saphyr::to_string(&json).context("rendering YAML")?,
        Format::Json | Format::Table => format!("{}\n", serde_json::to_string_pretty(&json)?),
    })
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing the result")
        }
        _ => Ok(()),
    }
}

/// Compact JSON of a value for a table cell or a `Field:` line.
pub fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "-".into(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell() {
        let text = table(
            &["NAME", "STATUS"],
            &[
                vec!["a-long-name".into(), "RUNNING".into()],
                vec!["b".into(), "FAILED".into()],
            ],
        );
        assert_eq!(
            text,
            "NAME          STATUS\na-long-name   RUNNING\nb             FAILED\n"
        );
    }
}
