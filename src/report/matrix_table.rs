//! One table per matrix task with an `os` axis in a merged report: a row per
//! combination of its other axes, a column per `os` leg, each cell pass, fail or skip.
//! Built from the result ids alone (`TASK-010[os=macos-14,toolchain=stable]`), which
//! come from run.json files we did not write: every name is escaped and the tables are
//! bounded.

use std::collections::BTreeMap;

use super::escape::inline;
use crate::config::matrix::split_id;
use crate::evidence::{TaskResult, TaskStatus};

/// At most this many tables and rows per table: a report is read, not searched.
const MAX_TABLES: usize = 20;
const MAX_ROWS: usize = 64;
const MAX_COLUMNS: usize = 16;

/// One task's cells: row label → os → status.
#[derive(Default)]
struct Table {
    columns: Vec<String>,
    rows: Vec<(String, BTreeMap<String, TaskStatus>)>,
}

/// The tables of `results`' combinations that have an `os`, as Markdown (empty when
/// none has). `clean` masks secrets before escaping.
pub(crate) fn render(results: &[TaskResult], clean: &dyn Fn(&str) -> String) -> String {
    let mut tables: Vec<(String, Table)> = Vec::new();
    for result in results {
        let Some((base, values)) = split_id(&result.task) else {
            continue;
        };
        let Some(os) = values
            .iter()
            .find(|(k, _)| k == "os")
            .map(|(_, v)| v.clone())
        else {
            continue;
        };
        let row: Vec<String> = values
            .iter()
            .filter(|(k, _)| k != "os")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let row = if row.is_empty() {
            "(all)".to_owned()
        } else {
            row.join(", ")
        };
        let index = match tables.iter().position(|(b, _)| b == base) {
            Some(i) => i,
            None if tables.len() < MAX_TABLES => {
                tables.push((base.to_owned(), Table::default()));
                tables.len() - 1
            }
            None => continue,
        };
        tables[index].1.add(row, os, result.status);
    }
    let mut out = String::new();
    for (base, table) in &tables {
        out.push_str(&table.markdown(&inline(&clean(base)), clean));
    }
    out
}

impl Table {
    fn add(&mut self, row: String, os: String, status: TaskStatus) {
        if !self.columns.contains(&os) {
            if self.columns.len() >= MAX_COLUMNS {
                return;
            }
            self.columns.push(os.clone());
        }
        match self.rows.iter().position(|(r, _)| *r == row) {
            Some(i) => {
                self.rows[i].1.insert(os, status);
            }
            None if self.rows.len() < MAX_ROWS => {
                self.rows.push((row, BTreeMap::from([(os, status)])));
            }
            None => {}
        }
    }

    fn markdown(&self, base: &str, clean: &dyn Fn(&str) -> String) -> String {
        let mut out = format!("\n#### Matrix of {base} by os\n\n| combination |");
        for column in &self.columns {
            out.push_str(&format!(" {} |", inline(&clean(column))));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(self.columns.len()));
        out.push('\n');
        for (row, cells) in &self.rows {
            out.push_str(&format!("| {} |", inline(&clean(row))));
            for column in &self.columns {
                let cell = cells.get(column).map_or("—", |s| cell(*s));
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
        out
    }
}

fn cell(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Ok | TaskStatus::Noop | TaskStatus::Flaky => "✅ pass",
        TaskStatus::Error | TaskStatus::Timeout => "❌ fail",
        TaskStatus::Skipped | TaskStatus::Cancelled => "⏭️ skip",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(task: &str, status: TaskStatus) -> TaskResult {
        let mut r: TaskResult = serde_json::from_value(serde_json::json!({
            "task": task, "queue": "Q", "agent": "shell", "status": "ok"
        }))
        .unwrap();
        r.status = status;
        r
    }

    #[test]
    fn a_row_per_combination_a_column_per_os_and_hostile_names_escaped() {
        let results = [
            result("T[os=ubuntu-latest,tc=stable]", TaskStatus::Ok),
            result("T[os=ubuntu-latest,tc=msrv]", TaskStatus::Error),
            result("T[os=macos-14,tc=stable]", TaskStatus::Ok),
            result("T[os=macos-14,tc=msrv]", TaskStatus::Skipped),
            result("U[tc=stable]", TaskStatus::Ok),
            result("V[os=<b>|x,tc=a]", TaskStatus::Ok),
        ];
        let md = render(&results, &|s: &str| s.to_owned());
        assert!(md.contains("#### Matrix of T by os"), "{md}");
        // Punctuation is backslash-escaped: it renders as written.
        assert!(
            md.contains("| combination | ubuntu\\-latest | macos\\-14 |"),
            "{md}"
        );
        assert!(md.contains("| tc\\=stable | ✅ pass | ✅ pass |"), "{md}");
        assert!(md.contains("| tc\\=msrv | ❌ fail | ⏭️ skip |"), "{md}");
        assert!(!md.contains("Matrix of U"), "no os, no table: {md}");
        assert!(md.contains("&lt;b&gt;&#124;x"), "{md}");
        assert!(!md.contains("<b>"), "{md}");
    }
}
