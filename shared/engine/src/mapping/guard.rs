//! Size bounds on what one template or expression evaluation builds (`limits.max_value_bytes`,
//! or `limits.max_document_bytes` for a whole-document template).
//!
//! minijinja bounds instructions (fuel) but not the size of the values they make: a loop that
//! doubles a string takes a gigabyte in 28 cheap steps. It offers no hook into its operators, so
//! the bound is enforced at every place where a value can grow, each checked before the large
//! allocation where the growth is a multiple of the inputs:
//!
//! * the growing operators: templates are rewritten when the context is compiled (see
//!   `check`), so that `a ~ b ~ c` runs as `(a) | __helix_cat(b, c)`, `a + b` as
//!   `(a) | __helix_add(b)` and `a * b` as `(a) | __helix_mul(b)`, each checked before it
//!   builds its result (a lazy list sum, which minijinja builds without copying, is counted
//!   after);
//! * the filters that make text or lists out of other values (`join`, `replace`, `format`,
//!   `indent`, `tojson`, `pprint`, `string`, `sum`, `batch`, `slice`, `regex_replace` …): each
//!   checks the size of its result from its inputs first, or, where that size is a small
//!   multiple of an input (`escape`, `chain`), checks its result;
//! * the text a template writes: every `{{ … }}` output is counted, also when a `{% set %}` block,
//!   a macro or a `{% call %}`/`{% filter %}` block captures it, and so is a loop body's literal
//!   text, once per iteration (the loops are rewritten to `for x in (items) | __helix_loop(bytes)`,
//!   which counts it at once when the number of items is known). The total per evaluation is
//!   bounded, and so is the output ([`render`]).
//!
//! Text counts its bytes; a list counts [`ITEM_BYTES`] per item. Values read from the input are
//! bounded by the input limits and are not counted until a template makes something from them.

use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::sync::{Arc, OnceLock};

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Rest, StringInput, Value, ValueKind, ValueOrKwargs};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, filters};

/// The filters the rewritten templates apply (`(a) | __helix_cat(b, c)` is `a ~ b ~ c`).
pub const CAT: &str = "__helix_cat";
pub const ADD: &str = "__helix_add";
pub const MUL: &str = "__helix_mul";
pub const LOOP: &str = "__helix_loop";
/// Prefix of the names above (they are not variables a context reads).
pub const PREFIX: &str = "__helix_";

/// What one list item counts towards the bound (a value is 24 bytes; text items count their
/// text as well when a list is made into text).
pub const ITEM_BYTES: usize = 8;

/// A size bound: bytes, and the limit's name for messages.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub bytes: usize,
    pub name: &'static str,
}

thread_local! {
    /// Bytes the current evaluation on this thread has written (see [`begin`]).
    static WRITTEN: Cell<usize> = const { Cell::new(0) };
}

/// Starts an evaluation on this thread: its written text is counted from zero.
pub fn begin() {
    WRITTEN.with(|w| w.set(0));
}

/// Renders a template (an evaluation of its own) within the bound: its output is all it writes
/// outside captured blocks, which the counting bounds (the literal text outside loops is
/// the template's own).
pub fn render(template: &minijinja::Template<'_, '_>, ctx: Value, bound: Bound) -> Result<String, Error> {
    begin();
    let text = template.render(ctx)?;
    if text.len() > bound.bytes {
        return Err(bound.exceeded("the template's text"));
    }
    Ok(text)
}

impl Bound {
    pub fn exceeded(&self, what: &str) -> Error {
        Error::new(ErrorKind::InvalidOperation, self.message(what))
    }

    /// "… would be longer than N bytes (limits.max_value_bytes)".
    pub fn message(&self, what: &str) -> String {
        format!("{what} would be longer than {} bytes (limits.{})", self.bytes, self.name)
    }

    fn check(&self, size: Option<usize>, what: &str) -> Result<(), Error> {
        match size {
            Some(n) if n <= self.bytes => Ok(()),
            _ => Err(self.exceeded(what)),
        }
    }

    /// Counts `n` bytes written by the current evaluation.
    fn charge(&self, n: usize, what: &str) -> Result<(), Error> {
        let total = WRITTEN.with(|w| {
            let total = w.get().saturating_add(n);
            w.set(total);
            total
        });
        if total > self.bytes { Err(self.exceeded(what)) } else { Ok(()) }
    }
}

/// A `fmt::Write` that only counts, and fails once past `max` (formatting stops there).
struct Counter {
    n: usize,
    max: usize,
}

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.n += s.len();
        if self.n > self.max { Err(fmt::Error) } else { Ok(()) }
    }
}

/// Length of `v` as text (what `~`, output and `join` make of it); `None` when above `max`.
/// Text is measured directly; other values are formatted into a counter that stops at `max`.
pub fn text_len(v: &Value, max: usize) -> Option<usize> {
    if let Some(s) = v.as_str() {
        return (s.len() <= max).then_some(s.len());
    }
    let len = match v.kind() {
        // Integers by their digits; other scalars are short (at most "false", a float's 24).
        ValueKind::Number => match v.as_i64() {
            Some(i) => i.unsigned_abs().checked_ilog10().map_or(1, |d| d as usize + 1) + usize::from(i < 0),
            None => 40,
        },
        ValueKind::Bool | ValueKind::None | ValueKind::Undefined => 5,
        _ => {
            let mut c = Counter { n: 0, max };
            return write!(c, "{v}").ok().map(|()| c.n);
        }
    };
    (len <= max).then_some(len)
}

fn debug_len(v: &Value, max: usize) -> Option<usize> {
    let mut c = Counter { n: 0, max };
    write!(c, "{v:#?}").ok().map(|()| c.n)
}

/// Size of a value as a result, `None` when above `max`: text its bytes, lists and maps
/// [`ITEM_BYTES`] per item (a lazy list of unknown length is counted up to the bound).
fn size(v: &Value, max: usize) -> Option<usize> {
    let n = if let Some(s) = v.as_str() {
        s.len()
    } else if matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable | ValueKind::Map) {
        let items = match v.len() {
            Some(n) => n,
            None => v.try_iter().map_or(0, |items| items.take(max / ITEM_BYTES + 1).count()),
        };
        items.saturating_mul(ITEM_BYTES)
    } else {
        0
    };
    (n <= max).then_some(n)
}

/// The error minijinja gives for an undefined operand (it names the undefined expression), or
/// `None` for a value an operator may use (a silent undefined, as a missing `else` gives).
fn undefined_error(state: &State, v: &Value) -> Option<Error> {
    if !v.is_undefined() {
        return None;
    }
    // `string` fails on an undefined value exactly when an operator does, with the same error
    // (`list` wraps it in "cannot convert value to list", which names nothing).
    filters::string(state, v).err()
}

fn item_at(item: &Value, path: Option<&str>) -> Value {
    let Some(path) = path else { return item.clone() };
    let mut v = item.clone();
    for part in path.split('.') {
        let next = match part.parse::<usize>() {
            Ok(i) => v.get_item_by_index(i),
            Err(_) => v.get_attr(part),
        };
        match next {
            Ok(n) => v = n,
            Err(_) => return Value::UNDEFINED,
        }
    }
    v
}

/// Text length of the items of `v` (after `attribute`), plus `per_gap` between items; `None`
/// past `max`, `Some(0)` when `v` is not iterable (the filter reports that).
fn items_len(v: &Value, attribute: Option<&str>, per_gap: usize, max: usize) -> Option<usize> {
    let mut total = 0usize;
    let mut add = |i: usize, item: &Value| -> Option<()> {
        if i > 0 {
            total = total.saturating_add(per_gap);
        }
        let len = match attribute {
            None => text_len(item, max.saturating_sub(total)),
            Some(_) => text_len(&item_at(item, attribute), max.saturating_sub(total)),
        };
        total = total.saturating_add(len?);
        (total <= max).then_some(())
    };
    // A list is read in place; other iterables through minijinja's iteration.
    if let Some(list) = v.downcast_object_ref::<Vec<Value>>() {
        for (i, item) in list.iter().enumerate() {
            add(i, item)?;
        }
    } else if let Ok(items) = v.try_iter() {
        for (i, item) in items.enumerate() {
            add(i, &item)?;
        }
    }
    Some(total)
}

/// An upper bound of what a printf-style format makes: the format, plus for each `%` the
/// longest argument and the largest number in the format (a width or precision).
fn format_len(fmt: &str, args: &[ValueOrKwargs], max: usize) -> Option<usize> {
    let conversions = fmt.matches('%').count();
    let mut widest = 0usize;
    let mut number = 0usize;
    for c in fmt.chars() {
        match c.to_digit(10) {
            Some(d) => number = number.saturating_mul(10).saturating_add(d as usize),
            None => number = 0,
        }
        widest = widest.max(number);
    }
    let mut longest = 0usize;
    for arg in args {
        longest = longest.max(text_len(&arg.clone().into_value(), max)?);
    }
    let total = conversions.saturating_mul(longest.saturating_add(widest)).saturating_add(fmt.len());
    (total <= max).then_some(total)
}

/// A loop's items, counting `per_item` bytes of literal text per iteration.
#[derive(Debug)]
struct Charged {
    items: Value,
    per_item: usize,
    bound: Bound,
}

impl Object for Charged {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Iterable
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let Ok(iter) = self.items.try_iter() else { return Enumerator::NonEnumerable };
        let this = self.clone();
        Enumerator::Iter(Box::new(iter.map(move |item| match this.bound.charge(this.per_item, "the loop's text") {
            Ok(()) => item,
            Err(e) => Value::from(e),
        })))
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        self.items.len()
    }
}

/// minijinja's own `a * b` or `a + b`, for the cases [`multiply`] and [`add`] leave to it
/// (lists, whose repetition and sums minijinja makes lazily, and operands it rejects).
fn native(op: &str, a: Value, b: Value) -> Result<Value, Error> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    let env = ENV.get_or_init(Environment::empty);
    env.compile_expression_owned(format!("a {op} b"))?.eval(minijinja::context! { a => a, b => b })
}

/// minijinja's arithmetic on numbers (and booleans, which count as 0 and 1): integers as
/// 128-bit integers, failing on overflow, anything with a float as floats. `None` when an
/// operand is not a number.
fn arithmetic(
    a: &Value,
    b: &Value,
    op: &str,
    int: fn(i128, i128) -> Option<i128>,
    float: fn(f64, f64) -> f64,
) -> Option<Result<Value, Error>> {
    let number = |v: &Value| matches!(v.kind(), ValueKind::Number | ValueKind::Bool);
    if !number(a) || !number(b) {
        return None;
    }
    let is_float = |v: &Value| v.kind() == ValueKind::Number && !v.is_integer();
    if is_float(a) || is_float(b) {
        let as_f64 = |v: &Value| match v.kind() {
            ValueKind::Bool => Some(if v.is_true() { 1.0 } else { 0.0 }),
            _ => f64::try_from(v.clone()).ok(),
        };
        return Some(match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => Ok(Value::from(float(x, y))),
            _ => Err(Error::new(ErrorKind::InvalidOperation, format!("unable to calculate {a} {op} {b}"))),
        });
    }
    let result = match (i128::try_from(a.clone()), i128::try_from(b.clone())) {
        (Ok(x), Ok(y)) => int(x, y),
        _ => None,
    };
    Some(match result {
        Some(r) => Ok(i64::try_from(r).map_or_else(|_| Value::from(r), Value::from)),
        None => Err(Error::new(ErrorKind::InvalidOperation, format!("unable to calculate {a} {op} {b}"))),
    })
}

fn check_defined(state: &State, values: &[&Value]) -> Result<(), Error> {
    match values.iter().find_map(|v| undefined_error(state, v)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `a + b`, checked before text is joined (and lists after, as they are not copied).
fn add(state: &State, a: Value, b: Value, bound: Bound) -> Result<Value, Error> {
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        bound.check(x.len().checked_add(y.len()), "the `+` result")?;
        return Ok(Value::from([x, y].concat()));
    }
    if let Some(result) = arithmetic(&a, &b, "+", i128::checked_add, |x, y| x + y) {
        return result;
    }
    check_defined(state, &[&a, &b])?;
    let sum = native("+", a, b)?;
    bound.check(size(&sum, bound.bytes), "the `+` result")?;
    Ok(sum)
}

/// `a * b`, checked before a repetition is built.
fn multiply(state: &State, a: Value, b: Value, bound: Bound) -> Result<Value, Error> {
    if let Some((s, n)) = a.as_str().map(|s| (s, &b)).or_else(|| b.as_str().map(|s| (s, &a))) {
        let Some(n) = n.as_usize() else {
            return Err(Error::new(ErrorKind::InvalidOperation, "strings can only be multiplied with integers"));
        };
        bound.check(s.len().checked_mul(n), "the `*` result")?;
        return Ok(Value::from(s.repeat(n)));
    }
    if let Some(result) = arithmetic(&a, &b, "*", i128::checked_mul, |x, y| x * y) {
        return result;
    }
    let is_seq = |v: &Value| matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable);
    if let Some((seq, n)) = if is_seq(&a) { Some((&a, &b)) } else { is_seq(&b).then_some((&b, &a)) }
        && let (Some(len), Some(n)) = (seq.len(), n.as_usize())
    {
        bound.check(len.checked_mul(n).and_then(|l| l.checked_mul(ITEM_BYTES)), "the `*` result")?;
    }
    check_defined(state, &[&a, &b])?;
    native("*", a, b)
}

/// Folds a chain of operands (`a op b op c`, left to right) with a checked operator.
fn fold(
    state: &State,
    first: Value,
    second: Value,
    more: Rest<Value>,
    bound: Bound,
    op: fn(&State, Value, Value, Bound) -> Result<Value, Error>,
) -> Result<Value, Error> {
    let acc = op(state, first, second, bound)?;
    more.0.into_iter().try_fold(acc, |acc, v| op(state, acc, v, bound))
}

/// Installs the checked operators and filters and the output counting into `env`.
pub fn install(env: &mut Environment<'static>, bound: Bound) {
    let max = bound.bytes;
    // The operators are filters on their first operand: minijinja looks a filter up once per
    // evaluation, a function at every call.
    env.add_filter(CAT, move |state: &State, first: Value, second: Value, more: Rest<Value>| {
        let parts = || std::iter::once(&first).chain(std::iter::once(&second)).chain(more.iter());
        let mut len = 0;
        for v in parts() {
            if let Some(e) = undefined_error(state, v) {
                return Err(e);
            }
            len += text_len(v, max - len).ok_or_else(|| bound.exceeded("the `~` result"))?;
        }
        let mut out = String::with_capacity(len);
        for v in parts() {
            match v.as_str() {
                Some(s) => out.push_str(s),
                None => write!(out, "{v}").expect("formatting into a string cannot fail"),
            }
        }
        Ok(Value::from(out))
    });
    env.add_filter(ADD, move |state: &State, first: Value, second: Value, more: Rest<Value>| {
        fold(state, first, second, more, bound, add)
    });
    env.add_filter(MUL, move |state: &State, first: Value, second: Value, more: Rest<Value>| {
        fold(state, first, second, more, bound, multiply)
    });
    env.add_filter(LOOP, move |items: Value, per_item: usize| -> Result<Value, Error> {
        let iterable =
            matches!(items.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::String);
        if per_item == 0 || !iterable {
            return Ok(items);
        }
        // A loop runs over all its items (this engine has no `break`): when their number is
        // known, the loop's text is counted at once.
        if let Some(n) = items.len() {
            bound.charge(n.saturating_mul(per_item), "the loop's text")?;
            return Ok(items);
        }
        Ok(Value::from_object(Charged { items, per_item, bound }))
    });
    env.set_formatter(move |out, state, value| {
        let n = text_len(value, max).ok_or_else(|| bound.exceeded("the template's text"))?;
        bound.charge(n, "the template's text")?;
        minijinja::escape_formatter(out, state, value)
    });

    env.add_filter(
        "replace",
        move |state: &mut State, value: StringInput<'_>, from: StringInput<'_>, to: StringInput<'_>| {
            let (s, f, t) = (value.as_str(), from.as_str(), to.as_str());
            if t.len() > f.len() {
                let matches = if f.is_empty() { s.chars().count() + 1 } else { s.matches(f).count() };
                let escaping = if matches!(state.auto_escape(), AutoEscape::None) { 1 } else { 6 };
                let len = matches
                    .checked_mul(t.len() - f.len())
                    .and_then(|grow| grow.checked_add(s.len()))
                    .and_then(|l| l.checked_mul(escaping));
                bound.check(len, "the `replace` result")?;
            }
            filters::replace(state, value, from, to)
        },
    );
    env.add_filter(
        "join",
        move |state: &mut State,
              value: &Value,
              joiner: Option<StringInput<'_>>,
              attribute: Option<&str>,
              kwargs: Kwargs| {
            let sep = match &joiner {
                Some(j) => j.as_str().len(),
                None => kwargs.peek::<Option<&str>>("d").ok().flatten().map_or(0, str::len),
            };
            let attr =
                attribute.map(str::to_owned).or_else(|| kwargs.peek::<Option<String>>("attribute").ok().flatten());
            bound.check(items_len(value, attr.as_deref(), sep, max), "the `join` result")?;
            let out = filters::join(state, value, joiner, attribute, kwargs)?;
            bound.check(size(&out, max), "the `join` result")?;
            Ok(out)
        },
    );
    env.add_filter("format", move |state: &mut State, fmt: &Value, args: Rest<ValueOrKwargs>| {
        if let Some(f) = fmt.as_str() {
            bound.check(format_len(f, &args, max), "the `format` result")?;
        }
        let out = filters::format(state, fmt, args)?;
        bound.check(size(&out, max), "the `format` result")?;
        Ok(out)
    });
    env.add_filter(
        "indent",
        move |value: StringInput<'_>,
              width: Option<usize>,
              first: Option<bool>,
              blank: Option<bool>,
              kwargs: Kwargs|
              -> Result<Value, Error> {
            let w = match width {
                Some(w) => w,
                None => kwargs.peek::<Option<usize>>("width").ok().flatten().unwrap_or(4),
            };
            let lines = value.as_str().matches('\n').count() + 1;
            bound
                .check(lines.checked_mul(w).and_then(|l| l.checked_add(value.as_str().len())), "the `indent` result")?;
            filters::indent(value, width, first, blank, kwargs)
        },
    );
    env.add_filter("tojson", move |value: &Value, indent: Option<Value>, kwargs: Kwargs| -> Result<Value, Error> {
        let width = match indent.clone().or_else(|| kwargs.peek::<Option<Value>>("indent").ok().flatten()) {
            None => 0,
            Some(v) => match v.kind() {
                ValueKind::Bool => 2 * usize::from(v.is_true()),
                _ => v.as_usize().unwrap_or(0),
            },
        };
        bound.check(json_len(value, width, max), "the `tojson` result")?;
        let out = filters::tojson(value, indent, kwargs)?;
        bound.check(size(&out, max), "the `tojson` result")?;
        Ok(out)
    });
    env.add_filter("pprint", move |value: &Value| -> Result<String, Error> {
        bound.check(debug_len(value, max), "the `pprint` result")?;
        Ok(filters::pprint(value))
    });
    env.add_filter("string", move |state: &State, value: &Value| -> Result<Value, Error> {
        bound.check(text_len(value, max), "the `string` result")?;
        filters::string(state, value)
    });
    env.add_filter(
        "sum",
        move |state: &State, values: Value, attribute: Option<&str>, start: Option<Value>, kwargs: Kwargs| {
            let attr =
                attribute.map(str::to_owned).or_else(|| kwargs.peek::<Option<String>>("attribute").ok().flatten());
            let first = start.clone().or_else(|| kwargs.peek::<Option<Value>>("start").ok().flatten());
            if let Some(text) = first.as_ref().and_then(Value::as_str) {
                let items = items_len(&values, attr.as_deref(), 0, max);
                bound.check(items.and_then(|n| n.checked_add(text.len())), "the `sum` result")?;
            }
            let out = filters::sum(state, values, attribute, start, kwargs)?;
            bound.check(size(&out, max), "the `sum` result")?;
            Ok(out)
        },
    );
    // What these add to their input: up to `count` fill items, or `count` lists (a list of its
    // own counts like a few items).
    env.add_filter("batch", move |state: &State, value: Value, count: usize, fill: Option<Value>| {
        bound.check(count.checked_mul(ITEM_BYTES), "the `batch` result")?;
        filters::batch(state, value, count, fill)
    });
    env.add_filter("slice", move |state: &State, value: Value, count: usize, fill: Option<Value>| {
        bound.check(count.checked_mul(8 * ITEM_BYTES), "the `slice` result")?;
        filters::slice(state, value, count, fill)
    });
    env.add_filter("chain", move |state: &State, value: Value, others: Rest<Value>| -> Result<Value, Error> {
        let out = filters::chain(state, value, others)?;
        bound.check(size(&out, max), "the `chain` result")?;
        Ok(out)
    });
    for name in ["escape", "e"] {
        env.add_filter(name, move |state: &mut State, v: &Value| -> Result<Value, Error> {
            let out = filters::escape(state, v)?;
            bound.check(size(&out, max), "the `escape` result")?;
            Ok(out)
        });
    }
}

/// Length of `value` as JSON with `indent` spaces per level (a little less than minijinja's
/// `tojson` writes, which also escapes `<`, `>`, `&` and `'`; its result is checked as well).
fn json_len(value: &Value, indent: usize, max: usize) -> Option<usize> {
    struct Bytes(Counter);
    impl std::io::Write for Bytes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.n += buf.len();
            if self.0.n > self.0.max { Err(std::io::Error::other("too long")) } else { Ok(buf.len()) }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    if indent > max {
        return None;
    }
    let mut out = Bytes(Counter { n: 0, max });
    let spaces = vec![b' '; indent];
    let written = if indent == 0 {
        serde_json::to_writer(&mut out, value).is_ok()
    } else {
        let formatter = serde_json::ser::PrettyFormatter::with_indent(&spaces);
        serde::Serialize::serialize(value, &mut serde_json::Serializer::with_formatter(&mut out, formatter)).is_ok()
    };
    // A value that does not serialise is reported by `tojson` itself.
    if written || out.0.n <= max { Some(out.0.n.min(max)) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(bytes: usize) -> Environment<'static> {
        let mut env = Environment::new();
        install(&mut env, Bound { bytes, name: "max_value_bytes" });
        env
    }

    #[test]
    fn a_loop_over_items_of_unknown_number_counts_as_it_goes() {
        let env = env(1000);
        let items = env.compile_expression("range(100) | chain([])").unwrap().eval(()).unwrap();
        assert_eq!(items.len(), None);
        let t = "{% for i in range(100) | chain([]) | __helix_loop(20) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}";
        begin();
        let e = env.render_str(t, ()).unwrap_err();
        assert_eq!(e.detail(), Some("the loop's text would be longer than 1000 bytes (limits.max_value_bytes)"));
        begin();
        let t = "{% for i in range(10) | chain([]) | __helix_loop(20) %}{{ loop.index }}{% endfor %}";
        assert_eq!(env.render_str(t, ()).unwrap(), "12345678910");
    }

    #[test]
    fn sizes_are_measured_without_building_the_text() {
        let env = env(1 << 20);
        // A list nested 60 times in itself is 2^60 items as text: measuring stops at the bound.
        let nested = env
            .compile_expression("x")
            .unwrap()
            .eval(minijinja::context! { x => (0..60).fold(Value::from(1), |v, _| Value::from(vec![v.clone(), v])) })
            .unwrap();
        assert_eq!(text_len(&nested, 1 << 20), None);
        assert_eq!(text_len(&Value::from("abc"), 3), Some(3));
        assert_eq!(text_len(&Value::from(vec![1, 2]), 100), Some(6));
        for n in [0i64, 7, 10, -10, 999, i64::MIN, i64::MAX] {
            assert_eq!(text_len(&Value::from(n), 100), Some(n.to_string().len()), "{n}");
        }
        // Two conversions, each at most the widest number in the format (no arguments here).
        assert_eq!(format_len("%s-%05d", &[], 100), Some(17));
        assert_eq!(format_len("%100000000s", &[], 1 << 20), None);
    }
}
