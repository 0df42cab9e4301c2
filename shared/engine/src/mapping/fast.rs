//! A fast evaluator for the common subset of Jinja expressions (variables, literals, arithmetic,
//! comparisons, a fixed set of filters). Rendering through minijinja costs about a microsecond
//! per field; this path is what makes per-field templates as cheap as hand-written code.
//!
//! It never decides semantics on its own: every expression is also compiled by minijinja, and
//! whenever the fast path meets something it does not model exactly (an unknown variable, a
//! failing conversion, an overflow) it returns `Fallback` and minijinja evaluates the field.

use std::borrow::Cow;

use serde_json::Value;

use super::helpers::{self, Num};
use crate::record::Data;

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Concat,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Trim,
    Upper,
    Lower,
    Replace(String, String),
    Round(i32),
    Int,
    Float,
    Default,
    CapitalizeWords,
    Date(helpers::DatePattern),
    /// Locale name and its separators, looked up once.
    Decimal(String, char, &'static [char]),
    ValueMap(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Lit(Lit),
    /// A top-level variable, by slot (see `Program::vars`).
    Var(usize),
    Attr(Box<Expr>, String),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `x | f | g`: a value and the filters applied to it, in order.
    Pipe(Box<Expr>, Vec<Filter>),
    Coalesce(Vec<Expr>),
    /// A part equal to the whole expression of an earlier field (by index): that field's value
    /// for this record where the evaluation has it ([`Env::values`]), else evaluated here.
    Same(usize, Box<Expr>),
}

impl Expr {
    /// Marks the parts of this expression equal to `whole`, field `field`'s expression, as
    /// [`Expr::Same`]: `total: (QTY | decimal) * (PRICE | decimal)` beside
    /// `quantity: QTY | decimal` parses the quantity once per record. Only for an expression
    /// that is work to evaluate (not a column or a literal).
    pub fn share(&mut self, field: usize, whole: &Expr) {
        if matches!(whole, Expr::Lit(_) | Expr::Var(_)) {
            return;
        }
        if self == whole {
            let part = std::mem::replace(self, Expr::Lit(Lit::None));
            *self = Expr::Same(field, Box::new(part));
            return;
        }
        match self {
            Expr::Attr(x, _) | Expr::Not(x) | Expr::Neg(x) | Expr::Pipe(x, _) => x.share(field, whole),
            Expr::Bin(_, l, r) => {
                l.share(field, whole);
                r.share(field, whole);
            }
            Expr::Coalesce(items) => items.iter_mut().for_each(|x| x.share(field, whole)),
            Expr::Lit(_) | Expr::Var(_) | Expr::Same(..) => {}
        }
    }
}

impl Expr {
    /// Marks the fields whose value this expression reads ([`Expr::Same`]).
    pub fn mark_shared(&self, shared: &mut [bool]) {
        match self {
            Expr::Same(field, x) => {
                if let Some(s) = shared.get_mut(*field) {
                    *s = true;
                }
                x.mark_shared(shared);
            }
            Expr::Attr(x, _) | Expr::Not(x) | Expr::Neg(x) | Expr::Pipe(x, _) => x.mark_shared(shared),
            Expr::Bin(_, l, r) => {
                l.mark_shared(shared);
                r.mark_shared(shared);
            }
            Expr::Coalesce(items) => items.iter().for_each(|x| x.mark_shared(shared)),
            Expr::Lit(_) | Expr::Var(_) => {}
        }
    }
}

/// The evaluator cannot model this case exactly; minijinja must evaluate it.
#[derive(Debug)]
pub struct Fallback;

#[derive(Debug, Clone)]
pub enum FVal<'a> {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Json(&'a Value),
}

impl<'a> FVal<'a> {
    fn from_json(v: &'a Value) -> FVal<'a> {
        match v {
            Value::Null => FVal::None,
            Value::Bool(b) => FVal::Bool(*b),
            Value::String(s) => FVal::Str(Cow::Borrowed(s)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => FVal::Int(i),
                None => n.as_f64().map_or(FVal::Json(v), FVal::Float),
            },
            _ => FVal::Json(v),
        }
    }

    fn from_num(n: Num) -> FVal<'a> {
        match n {
            Num::Int(i) => FVal::Int(i),
            Num::Float(f) => FVal::Float(f),
        }
    }

    pub fn into_json(self) -> Result<Value, Fallback> {
        Ok(match self {
            FVal::None => Value::Null,
            FVal::Bool(b) => Value::Bool(b),
            FVal::Int(i) => Value::from(i),
            FVal::Float(f) => serde_json::Number::from_f64(f).map(Value::Number).ok_or(Fallback)?,
            FVal::Str(s) => Value::String(s.into_owned()),
            FVal::Json(v) => v.clone(),
        })
    }

    /// minijinja's truthiness.
    pub fn is_true(&self) -> bool {
        match self {
            FVal::None => false,
            FVal::Bool(b) => *b,
            FVal::Int(i) => *i != 0,
            FVal::Float(f) => *f != 0.0,
            FVal::Str(s) => !s.is_empty(),
            FVal::Json(v) => match v {
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            },
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            FVal::Int(i) => Some(*i as f64),
            FVal::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// Variable slots of one compiled mapping, resolved against each input's header once.
#[derive(Debug, Default)]
pub struct Vars {
    pub names: Vec<String>,
}

impl Vars {
    fn slot(&mut self, name: &str) -> usize {
        match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_owned());
                self.names.len() - 1
            }
        }
    }
}

/// Column index of each variable slot for one header (`None`: not a column → fallback).
pub type Columns = Vec<Option<usize>>;

pub struct Env<'a, 'c> {
    pub data: &'a Data,
    pub columns: &'c Columns,
    pub vars: &'a Vars,
    pub maps: &'a [super::ValueMap],
    /// `limits.max_value_bytes`: text that would grow past it is left to minijinja, which
    /// rejects it naming the limit.
    pub max_bytes: usize,
    /// The values of the record's fields evaluated so far, by field, where kept (see
    /// [`Expr::Same`]).
    pub values: &'c [Option<FVal<'a>>],
}

impl<'a> Env<'a, '_> {
    #[inline]
    fn var(&self, slot: usize) -> Result<FVal<'a>, Fallback> {
        match self.data {
            Data::Row(row) => {
                let col = self.columns.get(slot).copied().flatten().ok_or(Fallback)?;
                row.get(col).map(|s| FVal::Str(Cow::Borrowed(s))).ok_or(Fallback)
            }
            Data::Tree(Value::Object(map)) => map.get(&self.vars.names[slot]).map(FVal::from_json).ok_or(Fallback),
            Data::Tree(_) => Err(Fallback),
        }
    }
}

fn str_arg(s: FVal<'_>) -> Result<Cow<'_, str>, Fallback> {
    match s {
        FVal::Str(s) => Ok(s),
        _ => Err(Fallback),
    }
}

fn map_str<'a>(v: FVal<'a>, f: impl FnOnce(&str) -> String) -> Result<FVal<'a>, Fallback> {
    Ok(FVal::Str(Cow::Owned(f(&str_arg(v)?))))
}

pub fn eval<'a>(e: &'a Expr, env: &Env<'a, '_>) -> Result<FVal<'a>, Fallback> {
    Ok(match e {
        Expr::Lit(l) => match l {
            Lit::None => FVal::None,
            Lit::Bool(b) => FVal::Bool(*b),
            Lit::Int(i) => FVal::Int(*i),
            Lit::Float(f) => FVal::Float(*f),
            Lit::Str(s) => FVal::Str(Cow::Borrowed(s)),
        },
        Expr::Var(slot) => env.var(*slot)?,
        Expr::Attr(base, name) => match eval(base, env)? {
            FVal::Json(Value::Object(map)) => map.get(name).map(FVal::from_json).ok_or(Fallback)?,
            _ => return Err(Fallback),
        },
        Expr::Not(x) => FVal::Bool(!eval(x, env)?.is_true()),
        Expr::Neg(x) => match eval(x, env)? {
            FVal::Int(i) => FVal::Int(i.checked_neg().ok_or(Fallback)?),
            FVal::Float(f) => FVal::Float(-f),
            _ => return Err(Fallback),
        },
        Expr::Bin(op, l, r) => binary(*op, l, r, env)?,
        Expr::Pipe(x, filters) => {
            // Mostly a column: read without a call of its own.
            let mut v = match &**x {
                Expr::Var(slot) => env.var(*slot)?,
                x => eval(x, env)?,
            };
            for f in filters {
                v = filter(v, f, env.maps, env.max_bytes)?;
            }
            v
        }
        Expr::Same(field, x) => match env.values.get(*field) {
            Some(Some(v)) => v.clone(),
            _ => eval(x, env)?,
        },
        Expr::Coalesce(items) => {
            for item in items {
                let v = eval(item, env)?;
                let empty = matches!(&v, FVal::None) || matches!(&v, FVal::Str(s) if s.is_empty());
                if !empty {
                    return Ok(v);
                }
            }
            FVal::None
        }
    })
}

fn binary<'a>(op: BinOp, l: &'a Expr, r: &'a Expr, env: &Env<'a, '_>) -> Result<FVal<'a>, Fallback> {
    match op {
        BinOp::And => {
            let a = eval(l, env)?;
            return if a.is_true() { eval(r, env) } else { Ok(a) };
        }
        BinOp::Or => {
            let a = eval(l, env)?;
            return if a.is_true() { Ok(a) } else { eval(r, env) };
        }
        _ => {}
    }
    let (a, b) = (eval(l, env)?, eval(r, env)?);
    Ok(match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul => match (&a, &b) {
            (FVal::Int(x), FVal::Int(y)) => FVal::Int(
                match op {
                    BinOp::Add => x.checked_add(*y),
                    BinOp::Sub => x.checked_sub(*y),
                    _ => x.checked_mul(*y),
                }
                .ok_or(Fallback)?,
            ),
            _ => {
                let (x, y) = (a.as_f64().ok_or(Fallback)?, b.as_f64().ok_or(Fallback)?);
                FVal::Float(match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    _ => x * y,
                })
            }
        },
        BinOp::Div => {
            let (x, y) = (a.as_f64().ok_or(Fallback)?, b.as_f64().ok_or(Fallback)?);
            if y == 0.0 {
                return Err(Fallback);
            }
            FVal::Float(x / y)
        }
        BinOp::Concat => {
            let text = |v: &FVal<'_>| -> Result<String, Fallback> {
                match v {
                    FVal::Str(s) => Ok(s.to_string()),
                    FVal::Int(i) => Ok(i.to_string()),
                    _ => Err(Fallback),
                }
            };
            let (a, b) = (text(&a)?, text(&b)?);
            if a.len() + b.len() > env.max_bytes {
                return Err(Fallback);
            }
            FVal::Str(Cow::Owned(a + &b))
        }
        BinOp::Eq | BinOp::Ne => {
            let eq = match (&a, &b) {
                (FVal::Str(x), FVal::Str(y)) => x == y,
                (FVal::None, FVal::None) => true,
                (FVal::Bool(x), FVal::Bool(y)) => x == y,
                _ => match (a.as_f64(), b.as_f64()) {
                    (Some(x), Some(y)) => x == y,
                    _ if matches!(a, FVal::Json(_)) || matches!(b, FVal::Json(_)) => return Err(Fallback),
                    _ => false,
                },
            };
            FVal::Bool(eq == (op == BinOp::Eq))
        }
        _ => {
            let ord = match (&a, &b) {
                (FVal::Str(x), FVal::Str(y)) => x.cmp(y),
                _ => a.as_f64().ok_or(Fallback)?.partial_cmp(&b.as_f64().ok_or(Fallback)?).ok_or(Fallback)?,
            };
            FVal::Bool(match op {
                BinOp::Lt => ord.is_lt(),
                BinOp::Le => ord.is_le(),
                BinOp::Gt => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
    })
}

/// `COL | f | g` on the column's text, as [`eval`] computes it: the direct path's common field,
/// without an [`Env`]. Inlined into the direct path's record loop, its one caller.
#[inline(always)]
pub fn pipe<'a>(
    text: &'a str,
    filters: &'a [Filter],
    maps: &'a [super::ValueMap],
    max_bytes: usize,
) -> Result<FVal<'a>, Fallback> {
    let mut v = FVal::Str(Cow::Borrowed(text));
    for f in filters {
        v = match (f, v) {
            // The usual first filter, without a call.
            (Filter::Trim, FVal::Str(Cow::Borrowed(s))) => FVal::Str(Cow::Borrowed(helpers::trim(s))),
            (f, v) => filter(v, f, maps, max_bytes)?,
        };
    }
    Ok(v)
}

fn filter<'a>(v: FVal<'a>, f: &'a Filter, maps: &'a [super::ValueMap], max_bytes: usize) -> Result<FVal<'a>, Fallback> {
    Ok(match f {
        Filter::Trim => match v {
            FVal::Str(Cow::Borrowed(s)) => FVal::Str(Cow::Borrowed(helpers::trim(s))),
            other => map_str(other, |s| helpers::trim(s).to_owned())?,
        },
        Filter::Upper => FVal::Str(helpers::upper(str_arg(v)?)),
        Filter::Lower => FVal::Str(helpers::lower(str_arg(v)?)),
        Filter::Replace(from, to) => {
            let s = str_arg(v)?;
            // At most this many matches, each growing the text by the difference.
            if to.len() > from.len() {
                let matches = if from.is_empty() { s.len() + 1 } else { s.len() / from.len() };
                if matches.saturating_mul(to.len() - from.len()).saturating_add(s.len()) > max_bytes {
                    return Err(Fallback);
                }
            }
            FVal::Str(Cow::Owned(s.replace(from.as_str(), to)))
        }
        Filter::CapitalizeWords => match str_arg(v)? {
            Cow::Borrowed(s) => FVal::Str(helpers::capitalize_words(s)),
            Cow::Owned(s) => FVal::Str(Cow::Owned(helpers::capitalize_words(&s).into_owned())),
        },
        Filter::Round(p) => match v {
            FVal::Int(_) if *p >= 0 => v,
            FVal::Float(x) if (0..=300).contains(p) => {
                FVal::Float(helpers::round_decimal(x, *p as u32).ok_or(Fallback)?)
            }
            _ => return Err(Fallback),
        },
        Filter::Int => match v {
            FVal::Int(_) => v,
            FVal::Str(s) => {
                let digits = s.strip_prefix('-').or_else(|| s.strip_prefix('+')).unwrap_or(&s);
                if digits.starts_with(['+', '-']) {
                    return Err(Fallback);
                }
                FVal::Int(s.strip_prefix('+').unwrap_or(&s).parse::<i64>().map_err(|_| Fallback)?)
            }
            _ => return Err(Fallback),
        },
        Filter::Float => match v {
            FVal::Int(i) => FVal::Float(i as f64),
            FVal::Float(_) => v,
            _ => return Err(Fallback),
        },
        Filter::Default => v,
        Filter::Date(pattern) => match v {
            FVal::None => FVal::None,
            other => match pattern.iso(&str_arg(other)?) {
                Ok(Some(d)) => FVal::Str(Cow::Owned(d)),
                Ok(None) => FVal::None,
                Err(_) => return Err(Fallback),
            },
        },
        Filter::Decimal(locale, dec, groups) => match v {
            FVal::None => FVal::None,
            FVal::Int(_) | FVal::Float(_) => v,
            other => match helpers::parse_decimal_with(&str_arg(other)?, locale, *dec, groups) {
                Ok(Some(n)) => FVal::from_num(n),
                Ok(None) => FVal::None,
                Err(_) => return Err(Fallback),
            },
        },
        Filter::ValueMap(i) => {
            let key = str_arg(v)?;
            let map = &maps[*i];
            match map.get(&key).or(map.default.as_ref()) {
                Some(out) => FVal::from_json(out),
                None => FVal::Str(key),
            }
        }
    })
}

// ---------------------------------------------------------------- parser

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Lit),
    Op(&'static str),
}

fn lex(src: &str) -> Option<Vec<Tok>> {
    const OPS: [&str; 18] =
        ["==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "~", "|", "(", ")", ",", ".", "=", "["];
    let mut toks = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &src[start..i];
            toks.push(match word {
                "none" | "None" => Tok::Lit(Lit::None),
                "true" | "True" => Tok::Lit(Lit::Bool(true)),
                "false" | "False" => Tok::Lit(Lit::Bool(false)),
                _ => Tok::Ident(word.to_owned()),
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                toks.push(Tok::Lit(Lit::Float(src[start..i].parse().ok()?)));
            } else {
                toks.push(Tok::Lit(Lit::Int(src[start..i].parse().ok()?)));
            }
        } else if c == b'\'' || c == b'"' {
            let end = src[i + 1..].find(c as char)? + i + 1;
            let s = &src[i + 1..end];
            if s.contains('\\') {
                return None;
            }
            toks.push(Tok::Lit(Lit::Str(s.to_owned())));
            i = end + 1;
        } else {
            let op = OPS.iter().find(|op| src[i..].starts_with(*op))?;
            if *op == "[" || *op == "=" {
                return None;
            }
            toks.push(Tok::Op(op));
            i += op.len();
        }
    }
    Some(toks)
}

struct Parser<'p> {
    toks: Vec<Tok>,
    pos: usize,
    vars: &'p mut Vars,
    map_index: &'p dyn Fn(&str) -> Option<usize>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(i)) if i == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Expr> {
        let mut l = self.and()?;
        while self.eat_word("or") {
            l = Expr::Bin(BinOp::Or, Box::new(l), Box::new(self.and()?));
        }
        Some(l)
    }

    fn and(&mut self) -> Option<Expr> {
        let mut l = self.not()?;
        while self.eat_word("and") {
            l = Expr::Bin(BinOp::And, Box::new(l), Box::new(self.not()?));
        }
        Some(l)
    }

    fn not(&mut self) -> Option<Expr> {
        if self.eat_word("not") {
            return Some(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Option<Expr> {
        let l = self.add()?;
        for (op, bin) in [
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
        ] {
            if self.eat_op(op) {
                return Some(Expr::Bin(bin, Box::new(l), Box::new(self.add()?)));
            }
        }
        Some(l)
    }

    fn add(&mut self) -> Option<Expr> {
        let mut l = self.mul()?;
        loop {
            let op = if self.eat_op("+") {
                BinOp::Add
            } else if self.eat_op("-") {
                BinOp::Sub
            } else if self.eat_op("~") {
                BinOp::Concat
            } else {
                return Some(l);
            };
            l = Expr::Bin(op, Box::new(l), Box::new(self.mul()?));
        }
    }

    fn mul(&mut self) -> Option<Expr> {
        let mut l = self.unary()?;
        loop {
            let op = if self.eat_op("*") {
                BinOp::Mul
            } else if matches!(self.peek(), Some(Tok::Op("/")))
                && !matches!(self.toks.get(self.pos + 1), Some(Tok::Op("/")))
            {
                self.pos += 1;
                BinOp::Div
            } else {
                return Some(l);
            };
            l = Expr::Bin(op, Box::new(l), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Option<Expr> {
        if self.eat_op("-") {
            return Some(Expr::Neg(Box::new(self.unary()?)));
        }
        let e = self.postfix()?;
        let mut filters = Vec::new();
        while self.eat_op("|") {
            let Some(Tok::Ident(name)) = self.peek().cloned() else { return None };
            self.pos += 1;
            let args = if self.eat_op("(") { self.lit_args()? } else { Vec::new() };
            let f = match (name.as_str(), args.as_slice()) {
                ("trim", []) => Filter::Trim,
                ("upper", []) => Filter::Upper,
                ("lower", []) => Filter::Lower,
                ("int", []) => Filter::Int,
                ("float", []) => Filter::Float,
                ("capitalize_words", []) => Filter::CapitalizeWords,
                ("replace", [Lit::Str(a), Lit::Str(b)]) => Filter::Replace(a.clone(), b.clone()),
                ("round", []) => Filter::Round(0),
                ("round", [Lit::Int(p)]) => Filter::Round(i32::try_from(*p).ok()?),
                ("default" | "d", [_]) => Filter::Default,
                ("date", [Lit::Str(p)]) => Filter::Date(helpers::DatePattern::new(p)),
                ("decimal", []) => decimal("en")?,
                ("decimal", [Lit::Str(l)]) => decimal(l)?,
                ("valuemap", [Lit::Str(m)]) => Filter::ValueMap((self.map_index)(m)?),
                _ => return None,
            };
            filters.push(f);
        }
        Some(if filters.is_empty() { e } else { Expr::Pipe(Box::new(e), filters) })
    }

    fn lit_args(&mut self) -> Option<Vec<Lit>> {
        let mut args = Vec::new();
        if self.eat_op(")") {
            return Some(args);
        }
        loop {
            let neg = self.eat_op("-");
            match (self.peek().cloned()?, neg) {
                (Tok::Lit(Lit::Int(i)), true) => args.push(Lit::Int(-i)),
                (Tok::Lit(Lit::Float(f)), true) => args.push(Lit::Float(-f)),
                (Tok::Lit(l), false) => args.push(l),
                _ => return None,
            }
            self.pos += 1;
            if self.eat_op(")") {
                return Some(args);
            }
            if !self.eat_op(",") {
                return None;
            }
        }
    }

    fn postfix(&mut self) -> Option<Expr> {
        let mut e = self.primary()?;
        while self.eat_op(".") {
            let Some(Tok::Ident(name)) = self.peek().cloned() else { return None };
            self.pos += 1;
            e = Expr::Attr(Box::new(e), name);
        }
        Some(e)
    }

    fn primary(&mut self) -> Option<Expr> {
        match self.peek().cloned()? {
            Tok::Lit(l) => {
                self.pos += 1;
                Some(Expr::Lit(l))
            }
            Tok::Op("(") => {
                self.pos += 1;
                let e = self.expr()?;
                self.eat_op(")").then_some(e)
            }
            Tok::Ident(name) => {
                self.pos += 1;
                if name == "coalesce" && self.eat_op("(") {
                    let mut items = vec![self.expr()?];
                    while self.eat_op(",") {
                        items.push(self.expr()?);
                    }
                    return self.eat_op(")").then_some(Expr::Coalesce(items));
                }
                if matches!(name.as_str(), "and" | "or" | "not" | "if" | "else" | "in" | "is")
                    || matches!(self.peek(), Some(Tok::Op("(")))
                {
                    return None;
                }
                Some(Expr::Var(self.vars.slot(&name)))
            }
            Tok::Op(_) => None,
        }
    }
}

/// An unknown locale is left to minijinja, which reports it.
fn decimal(locale: &str) -> Option<Filter> {
    let (dec, groups) = helpers::separators(locale).ok()?;
    Some(Filter::Decimal(locale.to_owned(), dec, groups))
}

/// Compiles an expression, or `None` when it is outside the subset (minijinja handles it then).
pub fn compile(src: &str, vars: &mut Vars, map_index: &dyn Fn(&str) -> Option<usize>) -> Option<Expr> {
    let toks = lex(src)?;
    let mut p = Parser { toks, pos: 0, vars, map_index };
    let e = p.expr()?;
    // Slots registered by a parse that fails later are harmless: they resolve to nothing.
    (p.pos == p.toks.len()).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parts_read_the_earlier_fields_value() {
        let mut vars = Vars::default();
        let no_maps = |_: &str| None;
        let qty = compile("QTY | decimal('de')", &mut vars, &no_maps).unwrap();
        let mut total =
            compile("((QTY | decimal('de')) * (PRICE | decimal('de'))) | round(2)", &mut vars, &no_maps).unwrap();
        total.share(0, &qty);
        let Expr::Pipe(product, _) = &total else { panic!("{total:?}") };
        let Expr::Bin(BinOp::Mul, l, r) = &**product else { panic!("{product:?}") };
        assert!(matches!(&**l, Expr::Same(0, x) if **x == qty), "{l:?}");
        assert!(matches!(&**r, Expr::Pipe(..)), "{r:?}");
        // A column alone is not worth sharing.
        let mut trimmed = compile("QTY | trim", &mut vars, &no_maps).unwrap();
        let column = compile("QTY", &mut vars, &no_maps).unwrap();
        trimmed.share(0, &column);
        assert!(matches!(&trimmed, Expr::Pipe(x, _) if matches!(**x, Expr::Var(_))), "{trimmed:?}");
    }
}
