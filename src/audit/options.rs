//! Which options of its service a scenario sets, to what, and whether the setting changes
//! anything: a key written at its default value opens no door.

use crate::scenario::Scenario;
use toml::de::ValueDeserializer;
use toml::{Table, Value};

/// What a knob-randomized scenario sets a knob to: a value drawn per seed.
pub const DRAWN_BY_KNOBS: &str = "(drawn by --knobs)";

/// One key a scenario sets in its service's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSet {
    /// `key`, or `table.key` inside a nested table.
    pub key: String,
    /// The value as written (a nested table as `{...}`), or [`DRAWN_BY_KNOBS`].
    pub value: String,
    /// Whether the options differ from those with the key left out (its default), or the
    /// key cannot be left out (the rest would not validate without it).
    pub away_from_default: bool,
}

/// Every key `sc` sets in its `[<service>]` table (`text` is its file), plus the knobs a
/// `[randomize] knobs = true` scenario draws.
pub fn options_set(sc: &Scenario, text: &str) -> Result<Vec<OptionSet>, toml::de::Error> {
    let file: Table = text.parse()?;
    let mut out = Vec::new();
    if let Some(Value::Table(table)) = file.get(sc.service_name()) {
        let mut path = Vec::new();
        walk(sc, table, table, &mut path, &mut out);
    }
    if sc.randomize.knobs {
        for knob in sc.plugin().knob_names() {
            out.retain(|o| o.key != knob);
            out.push(OptionSet {
                key: knob.to_string(),
                value: DRAWN_BY_KNOBS.to_string(),
                away_from_default: true,
            });
        }
    }
    Ok(out)
}

fn walk(
    sc: &Scenario,
    root: &Table,
    table: &Table,
    path: &mut Vec<String>,
    out: &mut Vec<OptionSet>,
) {
    for (key, value) in table {
        path.push(key.clone());
        let text = match value {
            Value::Table(_) => "{...}".to_string(),
            v => v.to_string(),
        };
        out.push(OptionSet {
            key: path.join("."),
            value: text,
            away_from_default: !same_without(sc, root, path),
        });
        if let Value::Table(inner) = value {
            walk(sc, root, inner, path, out);
        }
        path.pop();
    }
}

/// Whether the service's options are the same with the key at `path` left out of `root`.
fn same_without(sc: &Scenario, root: &Table, path: &[String]) -> bool {
    let mut trimmed = root.clone();
    remove(&mut trimmed, path);
    // `Value`'s text is an inline table, which is what a value deserializer reads.
    let text = Value::Table(trimmed).to_string();
    let Ok(de) = ValueDeserializer::parse(&text) else {
        return false;
    };
    let parsed = sc.plugin().parse_options(Some(de), &sc.shape());
    matches!(parsed, Ok(opts) if opts == sc.service)
}

fn remove(table: &mut Table, path: &[String]) {
    match path {
        [] => {}
        [last] => {
            table.remove(last);
        }
        [first, rest @ ..] => {
            if let Some(Value::Table(inner)) = table.get_mut(first) {
                remove(inner, rest);
            }
        }
    }
}
