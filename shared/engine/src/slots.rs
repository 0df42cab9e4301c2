//! The values of one record on the direct path and the object tree they fill: what the direct
//! path (`direct`) produces and the shape check (`validate`) reads. Both modules import these
//! types from here; `direct` uses `validate`, never the other way round.

use std::borrow::Cow;

use serde_json::{Number, Value};

/// A field's value on the direct path.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Null,
    Bool(bool),
    Num(Number),
    Str(Cow<'a, str>),
}

impl<'a> Scalar<'a> {
    pub fn owned(v: Value) -> Option<Scalar<'a>> {
        Some(match v {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(b),
            Value::Number(n) => Scalar::Num(n),
            Value::String(s) => Scalar::Str(Cow::Owned(s)),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    pub fn borrowed(v: &'a Value) -> Option<Scalar<'a>> {
        Some(match v {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(*b),
            Value::Number(n) => Scalar::Num(n.clone()),
            Value::String(s) => Scalar::Str(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => return None,
        })
    }

    pub fn to_value(&self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Num(n) => Value::Number(n.clone()),
            Scalar::Str(s) => Value::String(s.to_string()),
        }
    }

    pub fn is_null_or_empty(&self) -> bool {
        matches!(self, Scalar::Null) || matches!(self, Scalar::Str(s) if s.is_empty())
    }
}

/// Slots of one record, one per field: `None` where a field's `when` was false.
pub type Slots<'a> = [Option<Scalar<'a>>];

/// One key of an output object.
#[derive(Debug)]
pub struct Entry {
    pub key: String,
    /// `,"key":` as serde_json writes it (the first key of an object goes without the comma).
    pub json_key: Vec<u8>,
    pub node: Node,
}

#[derive(Debug)]
pub enum Node {
    /// The value of field (and slot) N.
    Leaf(usize),
    Object(Vec<Entry>),
}
