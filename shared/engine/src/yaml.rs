//! A bounded YAML loader. Contexts are user input: we build the document ourselves from parser
//! events so that alias expansion, nesting depth and size are capped (an alias bomb becomes an
//! error, not gigabytes), and so that every node keeps its line and column for error messages.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// 1-based line and column of a node in the YAML text.
pub type Pos = (u64, u64);

#[derive(Debug, Clone, Copy)]
pub struct YamlLimits {
    /// Nodes that aliases may add in total (a billion-laughs document needs millions).
    pub max_alias_nodes: usize,
    pub max_depth: usize,
}

#[derive(Debug)]
pub struct YamlError {
    pub pos: Option<Pos>,
    pub message: String,
}

/// The loaded document and the position of every node, keyed by its JSON pointer.
pub struct Document {
    pub value: Value,
    pub positions: HashMap<String, Pos>,
}

impl Document {
    /// Position of the node at `pointer`, or of its nearest ancestor that has one.
    pub fn position(&self, pointer: &str) -> Option<Pos> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            p = &p[..p.rfind('/')?];
        }
    }
}

enum Frame {
    Seq { items: Vec<Value>, anchor: usize, pointer: String },
    Map { map: Map<String, Value>, key: Option<String>, anchor: usize, pointer: String },
}

fn pos(mark: &Marker) -> Pos {
    (mark.line() as u64, mark.col() as u64 + 1)
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn node_count(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(node_count).sum::<usize>(),
        Value::Object(o) => 1 + o.values().map(node_count).sum::<usize>(),
        _ => 1,
    }
}

/// Plain scalars follow the YAML 1.2 core schema; quoted and block scalars are always strings.
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_numeric =
        text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text)
}

/// A syntax error inside `[` or `{` is usually that bracket left open, but the parser notices only
/// lines later: name where the innermost open bracket is, as a linter does.
fn with_unclosed_bracket(info: &str, text: &str, stack: &[Frame], positions: &HashMap<String, Pos>) -> String {
    let opened = stack.iter().rev().find_map(|frame| {
        let pointer = match frame {
            Frame::Seq { pointer, .. } | Frame::Map { pointer, .. } => pointer,
        };
        let (line, column) = *positions.get(pointer)?;
        let bracket = text
            .lines()
            .nth(usize::try_from(line).ok()?.checked_sub(1)?)?
            .chars()
            .nth(usize::try_from(column).ok()? - 1)?;
        matches!(bracket, '[' | '{').then_some((bracket, line, column))
    });
    match opened {
        Some((bracket, line, column)) => {
            let close = if bracket == '[' { ']' } else { '}' };
            format!("{info} (the `{bracket}` opened on line {line}, column {column} is never closed with `{close}`)")
        }
        None => info.to_owned(),
    }
}

pub fn load(text: &str, limits: YamlLimits) -> Result<Document, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut positions = HashMap::new();
    let mut alias_nodes = 0usize;
    let mut root: Option<Value> = None;
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError {
            pos: Some(pos(e.marker())),
            message: with_unclosed_bracket(e.info(), text, &stack, &positions),
        })?;
        let here = pos(&mark);
        let err = |message: String| YamlError { pos: Some(here), message };
        // The pointer a value completed now would get in its parent.
        let child_pointer = |stack: &Vec<Frame>| -> Option<String> {
            match stack.last() {
                None => Some(String::new()),
                Some(Frame::Seq { items, pointer, .. }) => Some(format!("{pointer}/{}", items.len())),
                Some(Frame::Map { key: Some(k), pointer, .. }) => Some(format!("{pointer}/{}", escape_pointer(k))),
                Some(Frame::Map { key: None, .. }) => None,
            }
        };
        let value = match event {
            Event::StreamStart | Event::DocumentStart | Event::Nothing => continue,
            Event::DocumentEnd => {
                if root.is_some() {
                    // Only the first document counts; a context is one document.
                    break;
                }
                continue;
            }
            Event::StreamEnd => break,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= limits.max_depth {
                    return Err(err(format!("nesting deeper than {} levels (limits.yaml_depth)", limits.max_depth)));
                }
                let pointer = child_pointer(&stack).unwrap_or_default();
                positions.insert(pointer.clone(), here);
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { items: Vec::new(), anchor, pointer }
                } else {
                    Frame::Map { map: Map::new(), key: None, anchor, pointer }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, anchor, .. }) => {
                    let v = Value::Array(items);
                    if anchor > 0 {
                        anchors.insert(anchor, v.clone());
                    }
                    v
                }
                Some(Frame::Map { map, anchor, .. }) => {
                    let v = Value::Object(map);
                    if anchor > 0 {
                        anchors.insert(anchor, v.clone());
                    }
                    v
                }
                None => return Err(err("unbalanced document".into())),
            },
            Event::Alias(id) => {
                let v = anchors.get(&id).cloned().ok_or_else(|| err("alias to an unknown anchor".into()))?;
                alias_nodes += node_count(&v);
                if alias_nodes > limits.max_alias_nodes {
                    return Err(err(format!(
                        "aliases expand to more than {} nodes (limits.yaml_alias_nodes); is this an alias bomb?",
                        limits.max_alias_nodes
                    )));
                }
                if let Some(p) = child_pointer(&stack) {
                    positions.insert(p, here);
                }
                v
            }
            Event::Scalar(text, style, anchor, _) => {
                if let Some(Frame::Map { key: key @ None, map, .. }) = stack.last_mut() {
                    if map.contains_key(&text) {
                        return Err(err(format!("duplicate key `{text}`")));
                    }
                    *key = Some(text);
                    continue;
                }
                if let Some(p) = child_pointer(&stack) {
                    positions.insert(p, here);
                }
                let v = scalar(text, style);
                if anchor > 0 {
                    anchors.insert(anchor, v.clone());
                }
                v
            }
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                Some(k) => {
                    map.insert(k, value);
                }
                None => return Err(err("mapping keys must be plain strings".into())),
            },
        }
    }
    Ok(Document { value: root.unwrap_or(Value::Null), positions })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: YamlLimits = YamlLimits { max_alias_nodes: 10_000, max_depth: 64 };

    #[test]
    fn keeps_order_types_and_positions() {
        let doc = load("b: 1\na:\n  - x\n  - '2'\nc: ~\n", LIMITS).unwrap();
        assert_eq!(serde_json::to_string(&doc.value).unwrap(), r#"{"b":1,"a":["x","2"],"c":null}"#);
        assert_eq!(doc.positions["/a/1"], (4, 5));
        assert_eq!(doc.position("/a/1/zzz"), Some((4, 5)));
    }

    #[test]
    fn alias_bomb_is_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
        }
        let e = load(&text, LIMITS).err().unwrap();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
    }

    #[test]
    fn depth_and_syntax_errors_have_positions() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(load(&deep, LIMITS).err().unwrap().message.contains("nesting"));
        let e = load("a: [1, 2\nb: 3\n", LIMITS).err().unwrap();
        assert!(e.pos.is_some());
        assert!(load("a: 1\na: 2\n", LIMITS).err().unwrap().message.contains("duplicate"));
    }

    #[test]
    fn an_unclosed_bracket_is_named_where_it_opened() {
        let text = "fields:\n  a: '{{ x }}'\nlists:\n  ok: [1, 2]\n  codes: [a, b\n  other: 1\n";
        let e = load(text, LIMITS).err().unwrap();
        assert_eq!(e.pos.map(|p| p.0), Some(6), "{}", e.message);
        assert!(e.message.ends_with("(the `[` opened on line 5, column 10 is never closed with `]`)"), "{}", e.message);
        let e = load("a: {b: [1, 2], c: 3\nd: 4\n", LIMITS).err().unwrap();
        assert!(e.message.contains("the `{` opened on line 1, column 4"), "{}", e.message);
        let e = load("a:\n  - x\n - y\n", LIMITS).err().unwrap();
        assert!(!e.message.contains("opened"), "a block collection has no bracket: {}", e.message);
    }
}
