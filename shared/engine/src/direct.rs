//! The direct path for the common mapping: a fixed shape of scalar fields. A record is
//! evaluated into slots that borrow the source text, cast as the schema says, checked by a
//! validator compiled for exactly that shape, and written straight into the output buffer: no
//! `serde_json::Value` tree and no map hashing per record.
//!
//! It never decides anything on its own: whenever a record leaves the common case (a value
//! that is not a scalar, a mapping error, a record the shape check cannot vouch for) the
//! general path maps that record again from scratch and is the authority on its result and its
//! reject messages. The shape is only used where it gives the same bytes as the general path:
//! fields in the general path's key order, no `each`, no conditional nested fields.

use std::borrow::Cow;

use bumpalo::Bump;
use serde_json::{Map, Number, Value};

use crate::context::Plan;
use crate::mapping::fast::{self, Columns, FVal};
use crate::mapping::helpers;
use crate::mapping::{Cast, Evaluator, Expr, Field, LazyScope, cast_text};
use crate::record::Data;
use crate::slots::{Entry, Node, Scalar, Slots};
use crate::validate::{LeafCast, Scratch, ShapeCheck, Target};

/// The record shape of a mapping, with what the target schema says about it.
pub struct Shape {
    root: Vec<Entry>,
    /// The bytes of all keys and braces of a record.
    keys_len: usize,
    /// Where every field always has a value (none has a `when`): `root` taken apart, written in
    /// one loop instead of walking it.
    flat: Option<Flat>,
    /// By field, in one list: the record loop walks it beside the fields.
    fields: Vec<FieldPlan>,
    /// `None` with a target schema: the shape check could not be compiled, records are built as
    /// values and validated by the schema validator.
    check: Option<ShapeCheck>,
}

/// A record's bytes between its values, each followed by the slot of the value after it, and
/// the bytes after the last.
struct Flat {
    leaves: Vec<(Vec<u8>, usize)>,
    end: Vec<u8>,
}

/// The record left the direct path: map it the general way.
pub struct General;

/// What the direct path knows of a field before any record.
struct FieldPlan {
    step: Step,
    cast: LeafCast,
    /// A later field reads its value (see `fast::Expr::Same`), so it is kept.
    keep: bool,
}

/// How the direct path makes a field's value. Most fields of a mapping copy a column or trim it,
/// which needs none of the evaluator's generality.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    /// `{{ COL }}` or `{{ COL | trim }}` (`var` is the variable's slot) where the schema takes the
    /// text as it is: the column's text, borrowed.
    Column { var: usize, trim: bool },
    /// `{{ COL | f | g }}` or `{{ COL }}` otherwise, where the field has no value map, default or
    /// `type:` of its own: its filters applied to the column's text straight away, then the
    /// schema's cast. With `memo`, filters that are work to apply (capitalize_words, date) are
    /// applied only when the text differs from the field's text in the record before (see
    /// [`FieldMemo`]): exports repeat an order's name and date on each of its lines. With
    /// `or_none`, the field is `coalesce(COL | f | g, none)`: an empty result is none.
    Pipe { var: usize, memo: bool, or_none: bool },
    /// Everything else: the fast evaluator (minijinja where it falls back), then the field's value
    /// map, default and casts.
    Evaluate,
}

impl Step {
    fn of(field: &Field, cast: &LeafCast, keep: bool) -> Step {
        let own_steps = field.when.is_none() && field.map.is_none() && field.default.is_none() && field.cast.is_none();
        let as_text = !cast.empty_is_null && cast.to.is_none_or(|to| to == Cast::String);
        let Some(Expr::Fast { fast, .. }) = &field.value else { return Step::Evaluate };
        if !own_steps {
            return Step::Evaluate;
        }
        let (piped, or_none) = match fast {
            fast::Expr::Coalesce(items) => match &items[..] {
                [piped, fast::Expr::Lit(fast::Lit::None)] => (piped, true),
                _ => return Step::Evaluate,
            },
            piped => (piped, false),
        };
        match piped {
            fast::Expr::Var(var) if as_text && !or_none => Step::Column { var: *var, trim: false },
            fast::Expr::Var(var) => Step::Pipe { var: *var, memo: false, or_none },
            fast::Expr::Pipe(x, filters) => match **x {
                fast::Expr::Var(var) if as_text && !or_none && filters[..] == [fast::Filter::Trim] => {
                    Step::Column { var, trim: true }
                }
                fast::Expr::Var(var) => Step::Pipe { var, memo: !keep && filters.iter().any(is_work), or_none },
                _ => Step::Evaluate,
            },
            _ => Step::Evaluate,
        }
    }
}

/// Whether a filter costs much more than comparing its text with the one before.
fn is_work(filter: &fast::Filter) -> bool {
    matches!(filter, fast::Filter::CapitalizeWords | fast::Filter::Date(_))
}

/// The last text a memoised field (see [`Step::Pipe`]) read and what its filters made of it,
/// both borrowed for the records mapped together: the text from its record, a text the filters
/// made from the arena of those records (the slots of earlier records may still borrow the
/// value a later record replaces).
#[derive(Default, Clone, Copy)]
pub struct FieldMemo<'a> {
    input: &'a str,
    /// `None` until a value is memoised; `Some(None)` for none.
    output: Option<Option<&'a str>>,
}

impl<'a> FieldMemo<'a> {
    /// Whether `text` is the text memoised.
    #[inline]
    fn holds(&self, text: &str) -> bool {
        self.output.is_some() && helpers::text_eq(self.input, text)
    }

    /// The value memoised.
    #[inline]
    fn value(&self) -> Scalar<'a> {
        match self.output {
            Some(Some(s)) => Scalar::Str(Cow::Borrowed(s)),
            _ => Scalar::Null,
        }
    }

    /// Keeps what the filters made of `text` (nothing where the value is of another kind), and
    /// gives the value back: a text of its own moved into `arena`, where the memo borrows it.
    fn remember(&mut self, text: &'a str, value: FVal<'a>, arena: &'a Bump) -> FVal<'a> {
        let output = match value {
            FVal::None => None,
            FVal::Str(Cow::Owned(s)) => Some(&*arena.alloc_str(&s)),
            FVal::Str(Cow::Borrowed(s)) => Some(s),
            value => return value,
        };
        *self = FieldMemo { input: text, output: Some(output) };
        output.map_or(FVal::None, |s| FVal::Str(Cow::Borrowed(s)))
    }
}

/// The filters of a [`Step::Pipe`] field.
#[inline]
fn filters(field: &Field) -> &[fast::Filter] {
    let Some(Expr::Fast { fast, .. }) = &field.value else { return &[] };
    match fast {
        fast::Expr::Pipe(_, filters) => filters,
        fast::Expr::Coalesce(items) => match items.first() {
            Some(fast::Expr::Pipe(_, filters)) => filters,
            _ => &[],
        },
        _ => &[],
    }
}

/// A value of the fast evaluator as a scalar of the direct path: `None` where the general path
/// decides (a non-finite float is not JSON, a value map's value may be no scalar).
#[inline]
fn fast_scalar(v: FVal<'_>) -> Option<Scalar<'_>> {
    match v {
        FVal::None => Some(Scalar::Null),
        FVal::Bool(b) => Some(Scalar::Bool(b)),
        FVal::Int(i) => Some(Scalar::Num(i.into())),
        FVal::Float(x) => Number::from_f64(x).map(Scalar::Num),
        FVal::Str(s) => Some(Scalar::Str(s)),
        FVal::Json(v) => Scalar::borrowed(v),
    }
}

/// The value of a field kept for later fields: not a text of its own (copying it would cost
/// what it saves).
#[inline]
fn kept<'a>(v: &FVal<'a>, keep: bool) -> Option<FVal<'a>> {
    match v {
        FVal::Str(Cow::Owned(_)) => None,
        v if keep => Some(v.clone()),
        _ => None,
    }
}

/// The text of a variable that is a column of the record, as the fast evaluator reads it.
#[inline]
fn column<'a>(data: &'a Data, columns: &Columns, var: usize) -> Option<&'a str> {
    match data {
        Data::Row(row) => row.get(columns.get(var).copied().flatten()?),
        Data::Tree(_) => None,
    }
}

fn insert(entries: &mut Vec<Entry>, path: &[String], slot: usize) -> Option<()> {
    let (first, rest) = path.split_first()?;
    let pos = entries.iter().position(|e| &e.key == first);
    let json_key = {
        let mut k = vec![b','];
        serde_json::to_writer(&mut k, first).ok()?;
        k.push(b':');
        k
    };
    match (pos, rest.is_empty()) {
        (None, true) => entries.push(Entry { key: first.clone(), json_key, node: Node::Leaf(slot) }),
        (None, false) => {
            let mut children = Vec::new();
            insert(&mut children, rest, slot)?;
            entries.push(Entry { key: first.clone(), json_key, node: Node::Object(children) });
        }
        // A repeated path, or a scalar and an object under one key: the general path's
        // overwriting decides, so the shape is not used.
        (Some(i), false) => match &mut entries[i].node {
            Node::Object(children) => insert(children, rest, slot)?,
            Node::Leaf(_) => return None,
        },
        (Some(_), true) => return None,
    }
    Some(())
}

impl Shape {
    /// The shape of a plan's mapping, if it has one the direct path reproduces exactly.
    pub fn new(plan: &Plan, target: Option<&Target>) -> Option<Shape> {
        if plan.document.is_some() {
            return None;
        }
        let mapping = plan.mapping.as_ref()?;
        let mut root = Vec::new();
        for (slot, field) in mapping.fields.iter().enumerate() {
            // A nested field that may be absent moves its parent object in the key order.
            if field.each.is_some() || (field.when.is_some() && field.path.len() > 1) {
                return None;
            }
            insert(&mut root, &field.path, slot)?;
        }
        let casts = mapping.fields.iter().map(|f| match target {
            Some(t) if plan.casts => t.leaf_cast(&f.path),
            _ => LeafCast::default(),
        });
        let check = target.and_then(|t| t.shape_check(&root));
        fn keys_len(entries: &[Entry]) -> usize {
            2 + entries
                .iter()
                .map(|e| match &e.node {
                    Node::Leaf(_) => e.json_key.len(),
                    Node::Object(children) => e.json_key.len() + keys_len(children),
                })
                .sum::<usize>()
        }
        let mut shared = vec![false; mapping.fields.len()];
        for field in &mapping.fields {
            if let Some(Expr::Fast { fast, .. }) = &field.value {
                fast.mark_shared(&mut shared);
            }
        }
        let fields = mapping
            .fields
            .iter()
            .zip(casts)
            .zip(shared)
            .map(|((field, cast), keep)| FieldPlan { step: Step::of(field, &cast, keep), cast, keep })
            .collect();
        let flat = mapping.fields.iter().all(|f| f.when.is_none()).then(|| {
            let (mut leaves, mut end) = (Vec::new(), Vec::new());
            flatten(&root, &mut end, &mut leaves);
            Flat { leaves, end }
        });
        Some(Shape { keys_len: keys_len(&root), root, flat, fields, check })
    }

    /// Maps one record: its slots appended to `slots` (one per field; on `Err(General)` some may
    /// be, and the general path maps the record). `values` (emptied first) keeps the fields'
    /// values for the expressions that repeat them; `memos` (one per field) and `arena` are those
    /// of the records mapped together (see [`FieldMemo`]).
    #[allow(clippy::too_many_arguments)]
    pub fn eval<'a>(
        &self,
        fields: &'a [Field],
        ev: &Evaluator<'a>,
        columns: &Columns,
        scope: &mut LazyScope<'a>,
        slots: &mut Vec<Option<Scalar<'a>>>,
        values: &mut Vec<Option<FVal<'a>>>,
        memos: &mut [FieldMemo<'a>],
        arena: &'a Bump,
    ) -> Result<(), General> {
        values.clear();
        for ((field, &FieldPlan { step, cast: ref leaf_cast, keep }), memo) in
            fields.iter().zip(&self.fields).zip(memos.iter_mut())
        {
            if let Step::Column { var, trim } = step
                && let Some(text) = column(scope.data, columns, var)
            {
                let text = if trim { helpers::trim(text) } else { text };
                values.push(keep.then_some(FVal::Str(Cow::Borrowed(text))));
                slots.push(Some(Scalar::Str(Cow::Borrowed(text))));
                continue;
            }
            // Where the filters or the value leave the common case, the evaluation below decides.
            if let Step::Pipe { var, memo: memoised, or_none } = step
                && let Some(text) = column(scope.data, columns, var)
            {
                // A memoised field's value is never kept (`Step::of`).
                if memoised && memo.holds(text) {
                    values.push(None);
                    slots.push(Some(schema_cast(memo.value(), leaf_cast)));
                    continue;
                }
                if let Ok(fast) = fast::pipe(text, filters(field), ev.maps, ev.bound.bytes) {
                    let fast = match fast {
                        FVal::Str(s) if or_none && s.is_empty() => FVal::None,
                        fast => fast,
                    };
                    let fast = if memoised { memo.remember(text, fast, arena) } else { fast };
                    let kept = kept(&fast, keep);
                    if let Some(value) = fast_scalar(fast) {
                        values.push(kept);
                        slots.push(Some(schema_cast(value, leaf_cast)));
                        continue;
                    }
                }
            }
            if let Some(when) = &field.when
                && !ev.try_truth(when, columns, scope).map_err(|_| General)?
            {
                slots.push(None);
                values.push(None);
                continue;
            }
            let mut value = match &field.value {
                Some(e) => {
                    let (value, kept) = scalar(ev, e, columns, scope, values, keep)?;
                    values.push(kept);
                    value
                }
                None => {
                    values.push(None);
                    Scalar::Null
                }
            };
            if let Some(i) = field.map {
                let map = &ev.maps[i];
                let key: Option<Cow<'_, str>> = match &value {
                    Scalar::Str(s) => Some(Cow::Borrowed(s.as_ref())),
                    Scalar::Num(n) => Some(Cow::Owned(n.to_string())),
                    Scalar::Bool(b) => Some(Cow::Owned(b.to_string())),
                    Scalar::Null => None,
                };
                if let Some(v) = key.as_deref().and_then(|k| map.get(k)).or(map.default.as_ref()) {
                    value = Scalar::borrowed(v).ok_or(General)?;
                }
            }
            if let Some(d) = &field.default
                && value.is_null_or_empty()
            {
                value = Scalar::borrowed(d).ok_or(General)?;
            }
            if let Some(c) = field.cast {
                value = explicit_cast(value, c)?;
            }
            slots.push(Some(schema_cast(value, leaf_cast)));
        }
        Ok(())
    }

    /// The shape check, to be cloned once per thread (see `LeafCheck`'s `Clone`).
    pub fn check(&self) -> Option<&ShapeCheck> {
        self.check.as_ref()
    }

    /// Whether the record is valid against the target (`true` without a target), with this
    /// thread's copy of [`Self::check`]. `false` means "not vouched for": the general path decides.
    pub fn valid(
        &self,
        target: Option<&Target>,
        check: Option<&ShapeCheck>,
        slots: &Slots<'_>,
        scratch: &mut Scratch,
    ) -> bool {
        let Some(target) = target else { return true };
        match check {
            Some(check) => check.is_valid(slots, scratch),
            None => target.is_valid(&self.to_value(slots)),
        }
    }

    /// The record as the general path builds it.
    pub fn to_value(&self, slots: &Slots<'_>) -> Value {
        fn object(entries: &[Entry], slots: &Slots<'_>) -> Value {
            let mut map = Map::new();
            for e in entries {
                match &e.node {
                    Node::Leaf(i) => {
                        if let Some(v) = &slots[*i] {
                            map.insert(e.key.clone(), v.to_value());
                        }
                    }
                    Node::Object(children) => {
                        map.insert(e.key.clone(), object(children, slots));
                    }
                }
            }
            Value::Object(map)
        }
        object(&self.root, slots)
    }

    /// Writes the record as compact JSON, byte for byte what serde_json writes for `to_value`.
    pub fn write(&self, out: &mut Vec<u8>, slots: &Slots<'_>) {
        // Room for the whole record at once: the writing below then never grows the buffer.
        let values: usize = slots
            .iter()
            .flatten()
            .map(|v| match v {
                Scalar::Str(s) => s.len() + 2,
                _ => 24,
            })
            .sum();
        out.reserve(self.keys_len + values);
        match &self.flat {
            Some(Flat { leaves, end }) => {
                for (before, slot) in leaves {
                    put(out, before);
                    write_scalar(out, slots[*slot].as_ref().expect("a field without `when` has a value"));
                }
                put(out, end);
            }
            None => write_object(out, &self.root, slots),
        }
    }
}

/// `write_object` of a record whose every slot has a value, taken apart into the bytes before
/// each value (`pending` holds those not followed by a value yet).
fn flatten(entries: &[Entry], pending: &mut Vec<u8>, leaves: &mut Vec<(Vec<u8>, usize)>) {
    pending.push(b'{');
    for (i, e) in entries.iter().enumerate() {
        pending.extend_from_slice(if i == 0 { &e.json_key[1..] } else { &e.json_key[..] });
        match &e.node {
            Node::Leaf(slot) => leaves.push((std::mem::take(pending), *slot)),
            Node::Object(children) => flatten(children, pending, leaves),
        }
    }
    pending.push(b'}');
}

fn write_object(out: &mut Vec<u8>, entries: &[Entry], slots: &Slots<'_>) {
    out.push(b'{');
    let mut first = true;
    for e in entries {
        let key = if first { &e.json_key[1..] } else { &e.json_key[..] };
        match &e.node {
            Node::Leaf(i) => {
                let Some(v) = &slots[*i] else { continue };
                put(out, key);
                write_scalar(out, v);
            }
            Node::Object(children) => {
                put(out, key);
                write_object(out, children, slots);
            }
        }
        first = false;
    }
    out.push(b'}');
}

/// The common case, a text without escapes, inline; the others in [`write_other`].
#[inline(always)]
fn write_scalar(out: &mut Vec<u8>, v: &Scalar<'_>) {
    match v {
        // Most texts need no escaping: copy them.
        Scalar::Str(s) if !needs_escape(s.as_bytes()) => {
            out.push(b'"');
            put(out, s.as_bytes());
            out.push(b'"');
        }
        v => write_other(out, v),
    }
}

#[inline(never)]
fn write_other(out: &mut Vec<u8>, v: &Scalar<'_>) {
    match v {
        Scalar::Null => out.extend_from_slice(b"null"),
        Scalar::Bool(true) => out.extend_from_slice(b"true"),
        Scalar::Bool(false) => out.extend_from_slice(b"false"),
        Scalar::Num(n) => write_number(out, n),
        Scalar::Str(s) => serde_json::to_writer(&mut *out, s.as_ref()).expect("serialising into memory cannot fail"),
    }
}

/// A number as serde_json writes it (itoa, zmij), without its serializer's layers.
fn write_number(out: &mut Vec<u8>, n: &Number) {
    if let Some(u) = n.as_u64() {
        put(out, itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        put(out, itoa::Buffer::new().format(i).as_bytes());
    } else if let Some(x) = n.as_f64()
        && !write_hundredths(out, x)
    {
        // A `Number` is finite.
        put(out, zmij::Buffer::new().format_finite(x).as_bytes());
    }
}

/// Writes `x` when it is the double nearest to a whole number of hundredths (prices, totals,
/// most measures), as zmij would, at a fraction of its cost. Such a decimal of at most 15
/// significant digits is the only one of that length that reads back as `x` (`f64::DIGITS`), so
/// it is the shortest text of `x`; below 10^13 zmij writes it without an exponent.
#[inline]
fn write_hundredths(out: &mut Vec<u8>, x: f64) -> bool {
    // `x` is finite (a `Number`); `scaled` may overflow to infinity, never to NaN.
    let scaled = x * 100.0;
    if scaled.abs() >= 1e15 {
        return false;
    }
    let hundredths = scaled.round() as i64;
    // `hundredths` is exact in an f64 and the division rounds once: this is the nearest double
    // to the decimal, which must be `x` itself.
    if hundredths == 0 || hundredths as f64 / 100.0 != x {
        return false;
    }
    if hundredths < 0 {
        out.push(b'-');
    }
    let (whole, cents) = (hundredths.unsigned_abs() / 100, (hundredths.unsigned_abs() % 100) as u8);
    put(out, itoa::Buffer::new().format(whole).as_bytes());
    match (cents / 10, cents % 10) {
        (tenths, 0) => out.extend_from_slice(&[b'.', b'0' + tenths]),
        (tenths, last) => out.extend_from_slice(&[b'.', b'0' + tenths, b'0' + last]),
    }
    true
}

/// `out.extend_from_slice(bytes)` for the short pieces a record is made of (keys, most values,
/// numbers): up to 32 bytes are copied inline in two overlapping loads and stores, where
/// `extend_from_slice` calls `memcpy`, whose call and size dispatch cost more than the copy of
/// a dozen bytes (about 5 % of a record's time, some twenty pieces per record).
#[inline(always)]
fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if !(4..=32).contains(&n) {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(n);
    let len = out.len();
    let src = bytes.as_ptr();
    // SAFETY: `reserve` made room for `n` bytes after `len`. Each load reads inside `bytes`
    // (its start, and its end minus the load's width, both in bounds as `n` is at least that
    // width) and each store writes inside `out[len..len + n]`; the two may overlap each other,
    // not the source, which `out` does not own. Then the `n` bytes after `len` are initialised.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        if n >= 16 {
            let (a, b) = (src.cast::<u128>().read_unaligned(), src.add(n - 16).cast::<u128>().read_unaligned());
            dst.cast::<u128>().write_unaligned(a);
            dst.add(n - 16).cast::<u128>().write_unaligned(b);
        } else if n >= 8 {
            let (a, b) = (src.cast::<u64>().read_unaligned(), src.add(n - 8).cast::<u64>().read_unaligned());
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else {
            let (a, b) = (src.cast::<u32>().read_unaligned(), src.add(n - 4).cast::<u32>().read_unaligned());
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        }
        out.set_len(len + n);
    }
}

/// Whether JSON escapes any byte of `s` (a control character, `"` or `\`): eight bytes at a
/// time, as no byte borrows from the next unless it is one of those.
#[inline]
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w;
    let escaped = |w: u64| {
        let (quote, backslash) = (w ^ (ONES * u64::from(b'"')), w ^ (ONES * u64::from(b'\\')));
        (below(w, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGH != 0
    };
    let Some(last) = s.last_chunk::<8>() else {
        return s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
    };
    // The last eight bytes cover the rest after the whole words (overlapping them).
    s.chunks_exact(8).any(|w| escaped(u64::from_le_bytes(w.try_into().expect("eight bytes"))))
        || escaped(u64::from_le_bytes(*last))
}

/// `Evaluator::value` for a scalar result, borrowing the source text where it can; with the fast
/// evaluator's value where it is kept for later fields (`keep`; not a text of its own: copying
/// it would cost what it saves).
fn scalar<'a>(
    ev: &Evaluator<'a>,
    e: &'a Expr,
    columns: &Columns,
    scope: &mut LazyScope<'a>,
    values: &[Option<FVal<'a>>],
    keep: bool,
) -> Result<(Scalar<'a>, Option<FVal<'a>>), General> {
    match e {
        Expr::Fast { fast: f, .. } => {
            let env = fast::Env {
                data: scope.data,
                columns,
                vars: ev.vars,
                maps: ev.maps,
                max_bytes: ev.bound.bytes,
                values,
            };
            let fast = fast::eval(f, &env);
            let kept = fast.as_ref().map_or(None, |v| kept(v, keep));
            let direct = match fast {
                // A value map's value that is no scalar: the general path maps the record.
                Ok(FVal::Json(v)) => Some(Scalar::borrowed(v).ok_or(General)?),
                // A non-finite float is not JSON: the general path evaluates it with minijinja.
                Ok(v) => fast_scalar(v),
                Err(fast::Fallback) => None,
            };
            match direct {
                Some(v) => Ok((v, kept)),
                None => Ok((general(ev, e, columns, scope)?, None)),
            }
        }
        Expr::Const(v) => Ok((Scalar::borrowed(v).ok_or(General)?, None)),
        _ => Ok((general(ev, e, columns, scope)?, None)),
    }
}

fn general<'a>(
    ev: &Evaluator<'a>,
    e: &'a Expr,
    columns: &Columns,
    scope: &mut LazyScope<'a>,
) -> Result<Scalar<'a>, General> {
    Scalar::owned(ev.try_value(e, columns, scope).map_err(|_| General)?).ok_or(General)
}

/// `mapping::cast` (a field's explicit `type:`).
fn explicit_cast(value: Scalar<'_>, to: Cast) -> Result<Scalar<'_>, General> {
    Ok(match (to, value) {
        (Cast::String, v @ Scalar::Str(_)) => v,
        (_, Scalar::Str(s)) => Scalar::owned(cast_text(&s, to).ok_or(General)?).ok_or(General)?,
        (Cast::String, Scalar::Num(n)) => Scalar::Str(Cow::Owned(n.to_string())),
        (Cast::String, Scalar::Bool(b)) => Scalar::Str(Cow::Owned(b.to_string())),
        (_, v) => v,
    })
}

/// `Target::cast` on one scalar leaf. Mostly it changes nothing, which is decided here, inline.
#[inline(always)]
fn schema_cast<'a>(value: Scalar<'a>, c: &LeafCast) -> Scalar<'a> {
    match value {
        Scalar::Str(s) if !c.empty_is_null && c.to.is_none_or(|to| to == Cast::String) => Scalar::Str(s),
        Scalar::Null => Scalar::Null,
        v @ (Scalar::Num(_) | Scalar::Bool(_)) if c.to != Some(Cast::String) => v,
        v => cast_leaf(v, c),
    }
}

/// `schema_cast` where it may change the value.
#[inline(never)]
fn cast_leaf<'a>(value: Scalar<'a>, c: &LeafCast) -> Scalar<'a> {
    match value {
        Scalar::Str(s) if c.empty_is_null && helpers::trim(&s).is_empty() => Scalar::Null,
        Scalar::Str(s) => match c.to.filter(|&t| t != Cast::String) {
            Some(to) => match cast_text(&s, to) {
                Some(v) => Scalar::owned(v).unwrap_or(Scalar::Str(s)),
                None => Scalar::Str(s),
            },
            None => Scalar::Str(s),
        },
        v @ (Scalar::Num(_) | Scalar::Bool(_)) if c.to == Some(Cast::String) => {
            Scalar::Str(Cow::Owned(v.to_value().to_string()))
        }
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Source, compile};

    #[test]
    fn put_appends_what_extend_from_slice_appends() {
        let source: Vec<u8> = (0u8..64).map(|b| b.wrapping_mul(37)).collect();
        for start in 0..3 {
            for n in 0..=40 {
                let mut expected = b"prefix".to_vec();
                expected.extend_from_slice(&source[start..start + n]);
                // No spare room, then plenty: `put` grows the buffer or writes into its room.
                for room in [0, 64] {
                    let mut out = Vec::with_capacity(6 + room);
                    out.extend_from_slice(b"prefix");
                    put(&mut out, &source[start..start + n]);
                    assert_eq!(out, expected, "{n} bytes from {start}, room {room}");
                }
            }
        }
    }

    /// The direct path and the general path give the same bytes and the same rejects.
    fn both_paths(context: &str, schema: Option<&str>, input: &str) -> (String, String) {
        let run = |direct: bool| {
            let mut t = compile(
                Some(Source { name: "c.yaml", text: context }),
                schema.map(|text| Source { name: "s.json", text }),
            )
            .unwrap();
            t.set_threads(1);
            if !direct {
                t.disable_direct();
            }
            let (mut out, mut rej) = (Vec::new(), Vec::new());
            let mut r = t.start(&mut out, &mut rej).unwrap();
            r.feed("in.csv", &mut input.as_bytes()).unwrap();
            r.finish().unwrap();
            (String::from_utf8(out).unwrap(), String::from_utf8(rej).unwrap())
        };
        let general = run(false);
        let direct = run(true);
        assert_eq!(direct, general);
        direct
    }

    fn has_shape(context: &str, schema: Option<&str>) -> (bool, bool) {
        let t =
            compile(Some(Source { name: "c.yaml", text: context }), schema.map(|text| Source { name: "s.json", text }))
                .unwrap();
        (t.direct.is_some(), t.direct.as_ref().is_some_and(|d| d.check.is_some()))
    }

    const INPUT: &str = "ID;QTY;NAME;FLAG;WHEN\n 1 ;1.250;müller, HANS;A;1.2.2024\n2;7;\"q\"\"uote\";B;\n3;-2,5;;C;31.2.2024\n4;;  ;;\n5;x;zz;A;29.2.2024\n6;2,5;ÄRGER  über;A;29.2.2024\n";

    #[test]
    fn same_output_as_general_path() {
        let ctx = r##"
output: { format: ndjson }
maps: { flag: { values: { A: 1, B: true }, default: other } }
fields:
  id: "{{ ID | trim }}"
  detail.qty: "{{ QTY | decimal('de') }}"
  detail.name: "{{ NAME | capitalize_words }}"
  flag: "{{ FLAG | valuemap('flag') }}"
  date: "{{ WHEN | date('D.M.YYYY') }}"
  twice: "{{ (QTY | decimal('de')) * 2 }}"
  label: "#{{ ID | trim }}"
  const: 7
  typed: { value: "{{ ID | trim }}", type: integer }
  maybe: { value: "{{ NAME }}", when: "FLAG == 'A'" }
  mapped: { value: "{{ FLAG }}", map: { A: alpha }, default: none }
"##;
        let schema = r#"{"type":"object","additionalProperties":false,"required":["id","detail"],
            "properties":{"id":{"type":"integer","minimum":2},"detail":{"type":"object","properties":{"qty":{"type":["number","null"]},"name":{"type":"string","minLength":1,"pattern":"^\\S"}}},
            "flag":{"enum":[1,true,"other"]},"date":{"type":["string","null"],"format":"date"},"twice":{"type":"number"},"label":{"type":"string"},
            "const":{"type":"string"},"typed":{"type":"integer"},"maybe":{"type":"string"},"mapped":{"type":["string","null"]}}}"#;
        assert_eq!(has_shape(ctx, Some(schema)), (true, true));
        let (out, rej) = both_paths(ctx, Some(schema), INPUT);
        assert!(out.contains("\"detail\":{\"qty\":7,\"name\":\"Q\\\"uote\"}"), "{out}");
        assert!(out.contains("\"name\":\"Ärger Über\"},\"flag\":1,\"date\":\"2024-02-29\",\"twice\":5.0"), "{out}");
        assert!(rej.contains("\"keyword\":\"minimum\""), "{rej}");
        both_paths(ctx, None, INPUT);
    }

    #[test]
    fn columns_copied_or_trimmed_are_read_without_the_evaluator_and_map_alike() {
        let ctx = r##"
output: { format: ndjson }
fields:
  id: "{{ ID }}"
  name: "{{ NAME | trim }}"
  date: "{{ WHEN | trim }}"
  qty: "{{ QTY | trim }}"
  flag: { value: "{{ FLAG | trim }}", default: none }
  upper: "{{ NAME | trim | upper }}"
  missing: "{{ NOPE | trim }}"
"##;
        let schema = r#"{"properties":{"id":{"type":"string","pattern":"^[0-9]$"},"qty":{"type":["integer","null"]},
            "date":{"type":["string","null"]},"name":{"type":"string","minLength":1}}}"#;
        let t =
            compile(Some(Source { name: "c.yaml", text: ctx }), Some(Source { name: "s.json", text: schema })).unwrap();
        let steps: Vec<Step> = t.direct.as_ref().unwrap().fields.iter().map(|f| f.step).collect();
        assert_eq!(
            steps,
            [
                Step::Column { var: 0, trim: false },
                Step::Column { var: 1, trim: true },
                // A text, or null: the text stays as it is.
                Step::Column { var: 2, trim: true },
                // Cast to an integer by the schema.
                Step::Pipe { var: 3, memo: false, or_none: false },
                // A default of its own.
                Step::Evaluate,
                Step::Pipe { var: 1, memo: false, or_none: false },
                Step::Column { var: 5, trim: true },
            ]
        );
        // A column the record lacks falls back to the evaluator, which rejects the record.
        let (out, rej) = both_paths(ctx, Some(schema), INPUT);
        assert!(out.is_empty(), "{out}");
        assert!(rej.contains("`NOPE` is undefined"), "{rej}");
        let without_missing = ctx.replace("  missing: \"{{ NOPE | trim }}\"\n", "");
        let (out, rej) = both_paths(&without_missing, Some(schema), INPUT);
        assert!(
            out.contains(
                "{\"id\":\"2\",\"name\":\"q\\\"uote\",\"date\":\"\",\"qty\":7,\"flag\":\"B\",\"upper\":\"Q\\\"UOTE\"}"
            ),
            "{out}"
        );
        assert!(rej.contains("\"keyword\":\"minLength\""), "{rej}");
        both_paths(&without_missing, None, INPUT);
    }

    #[test]
    fn empty_to_none_coalesces_map_like_the_general_path() {
        let ctx = r#"
output: { format: ndjson }
fields:
  name: "{{ coalesce(NAME | trim, none) }}"
  when: "{{ coalesce(WHEN, none) }}"
  qty: "{{ coalesce(QTY | decimal('de'), none) }}"
"#;
        let t = compile(Some(Source { name: "c.yaml", text: ctx }), None).unwrap();
        let steps: Vec<Step> = t.direct.as_ref().unwrap().fields.iter().map(|f| f.step).collect();
        assert_eq!(steps, (0..3).map(|var| Step::Pipe { var, memo: false, or_none: true }).collect::<Vec<_>>());
        let (out, _) = both_paths(ctx, None, INPUT);
        assert!(out.contains("{\"name\":\"müller, HANS\",\"when\":\"1.2.2024\",\"qty\":1250}\n"), "{out}");
        assert!(out.contains("{\"name\":null,\"when\":null,\"qty\":null}\n"), "{out}");
    }

    #[test]
    fn nested_fields_without_when_are_written_in_one_loop_alike() {
        let ctx = "fields:\n  a.b: \"{{ ID }}\"\n  x: \"{{ QTY }}\"\n  a.c: \"{{ NAME }}\"\n  d.e.f: 1\n";
        let t = compile(Some(Source { name: "c.yaml", text: ctx }), None).unwrap();
        assert!(t.direct.as_ref().unwrap().flat.is_some());
        let (out, _) = both_paths(ctx, None, INPUT);
        assert!(
            out.contains("{\"a\":{\"b\":\" 1 \",\"c\":\"müller, HANS\"},\"x\":\"1.250\",\"d\":{\"e\":{\"f\":1}}},\n"),
            "{out}"
        );
    }

    #[test]
    fn memoised_fields_map_like_the_general_path() {
        let ctx = r#"
output: { format: ndjson }
fields:
  name: "{{ NAME | trim | capitalize_words }}"
  date: "{{ WHEN | date('D.M.YYYY') }}"
  raw: "{{ NAME }}"
"#;
        let schema = r#"{"properties":{"date":{"type":["string","null"]}}}"#;
        let t =
            compile(Some(Source { name: "c.yaml", text: ctx }), Some(Source { name: "s.json", text: schema })).unwrap();
        let steps: Vec<Step> = t.direct.as_ref().unwrap().fields.iter().map(|f| f.step).collect();
        assert_eq!(
            steps,
            [
                Step::Pipe { var: 0, memo: true, or_none: false },
                Step::Pipe { var: 1, memo: true, or_none: false },
                Step::Column { var: 0, trim: false }
            ]
        );
        // Each value repeated: the second of each pair is the memo's (a text of its own, a part
        // of the column's, null), and a value the filters refuse is the general path's.
        let input = "NAME;WHEN\nMÜLLER hans;1.2.2024\nMÜLLER hans;1.2.2024\n Müller Hans ;\n Müller Hans ;\n\
                     Müller Hans;31.2.2024\nMüller Hans;31.2.2024\nx;1.2.2024\n";
        let (out, rej) = both_paths(ctx, Some(schema), input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"name":"Müller Hans","date":"2024-02-01","raw":"MÜLLER hans"}"#,
                r#"{"name":"Müller Hans","date":"2024-02-01","raw":"MÜLLER hans"}"#,
                r#"{"name":"Müller Hans","date":null,"raw":" Müller Hans "}"#,
                r#"{"name":"Müller Hans","date":null,"raw":" Müller Hans "}"#,
                r#"{"name":"X","date":"2024-02-01","raw":"x"}"#,
            ]
        );
        assert_eq!(rej.matches("not a valid date").count(), 2, "{rej}");
    }

    /// Records are mapped a few at a time before they are written (`pipeline::map_direct`):
    /// memoised values, runs of repeated texts and records the general path rejects cross those
    /// groups, and batches, and the output keeps the input's order.
    #[test]
    fn records_mapped_together_keep_their_values_and_order() {
        let ctx = r#"
output: { format: ndjson }
fields:
  n: "{{ N }}"
  name: "{{ NAME | capitalize_words }}"
  date: "{{ WHEN | date('D.M.YYYY') }}"
"#;
        let schema = r#"{"properties":{"n":{"type":"integer"},"date":{"type":"string"}}}"#;
        let mut input = String::from("N;NAME;WHEN\n");
        for i in 0..1200 {
            let when = if i % 50 == 13 { "31.2.2024".to_string() } else { format!("{}.1.2024", 1 + (i / 5) % 28) };
            input.push_str(&format!("{i};MÜLLER nr{};{when}\n", i / 7));
        }
        let (out, rej) = both_paths(ctx, Some(schema), &input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1200 - 24);
        let expected = (0..1200)
            .filter(|i| i % 50 != 13)
            .map(|i| format!(r#"{{"n":{i},"name":"Müller Nr{}","date":"2024-01-{:02}"}}"#, i / 7, 1 + (i / 5) % 28));
        assert!(lines.iter().copied().eq(expected.collect::<Vec<_>>().iter().map(String::as_str)), "{out}");
        assert_eq!(rej.matches("not a valid date").count(), 24, "{rej}");
    }

    #[test]
    fn text_is_escaped_like_serde_json() {
        for text in [
            "plain",
            "",
            "quote \" and \\ backslash",
            "tab\tnew\nline\r",
            "\u{1}\u{1f}\u{7f}",
            "ümlaut € 😀",
            "</script>",
            "eight by",
            "sixteen bytes ok",
            "seventeen bytes \"",
            "ümlaut€ümlaut€ümlaut€\u{1f}",
            "aaaaaaa\\aaaaaaaa",
            "\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{7f}\u{80}",
        ] {
            let mut out = Vec::new();
            write_scalar(&mut out, &Scalar::Str(Cow::Borrowed(text)));
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn numbers_are_written_like_serde_json() {
        let mut numbers: Vec<Number> = [0, 1, -1, 42, i64::MIN, i64::MAX].map(Number::from).into();
        numbers.push(Number::from(u64::MAX));
        let floats = [0.0, -0.0, 2.6, 559.0, 24933.6, 40681.68, 1e-7, 1e16, 1.5e300, -3.25, 5e-324];
        numbers.extend(floats.iter().filter_map(|&x| Number::from_f64(x)));
        for n in numbers {
            let mut out = Vec::new();
            write_number(&mut out, &n);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&n).unwrap());
        }
    }

    #[test]
    fn hundredths_are_written_like_zmij() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut values = vec![0.01, 0.1, 0.5, 1.0, 2.6, 559.0, 40681.68, 9_999_999_999_999.99, 1e13, 1e13 - 0.01];
        for digits in 1..=17 {
            for _ in 0..2_000 {
                let m = (next() % 10u64.pow(digits)) as i64;
                let sign = if next() % 2 == 0 { 1 } else { -1 };
                values.push(sign as f64 * m as f64 / 100.0);
                values.push(sign as f64 * m as f64 / 1000.0);
                values.push(f64::from_bits(next() >> 2));
            }
        }
        let mut fast = 0;
        for x in values.into_iter().filter(|x| x.is_finite()) {
            let mut out = Vec::new();
            if write_hundredths(&mut out, x) {
                fast += 1;
                assert_eq!(String::from_utf8(out).unwrap(), zmij::Buffer::new().format_finite(x), "{x:e}");
            }
        }
        assert!(fast > 20_000, "{fast}");
    }

    #[test]
    fn escapes_are_found_at_every_position() {
        for len in [7, 8, 9, 16, 17] {
            for at in 0..len {
                for b in 0..=255u8 {
                    for fill in [b'a', 0x7f, 0xc3] {
                        let mut text = vec![fill; len];
                        text[at] = b;
                        let naive = text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
                        assert_eq!(needs_escape(&text), naive, "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn schemas_the_shape_check_does_not_model_still_validate() {
        let ctx = "fields:\n  id: \"{{ ID | trim }}\"\n  n: \"{{ QTY }}\"\n";
        for schema in [
            r#"{"type":"object","minProperties":3}"#,
            r##"{"allOf":[{"required":["id"]}],"properties":{"id":{"$ref":"#/$defs/id"}},"$defs":{"id":{"type":"string","maxLength":1}}}"##,
            r#"{"type":"object","additionalProperties":{"type":"string","minLength":2}}"#,
            r#"{"type":"array"}"#,
            "false",
            "true",
            r#"{"properties":{"id":false}}"#,
            r#"{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"n":{"type":"string","pattern":"^[0-9.]+$"}},"required":["zz"]}"#,
        ] {
            both_paths(ctx, Some(schema), INPUT);
        }
        assert_eq!(has_shape(ctx, Some(r#"{"type":"object","minProperties":3}"#)), (true, false));
    }

    #[test]
    fn shapes_the_general_path_orders_differently_are_not_used() {
        for ctx in [
            "fields:\n  a.b: \"{{ ID }}\"\n  x: 1\n  a.c: { value: 2, when: \"ID == '2'\" }\n",
            "fields:\n  a: 1\n  a.b: 2\n",
            "fields:\n  items: { each: \"[1, 2]\", fields: { v: \"{{ x }}\" } }\n",
        ] {
            assert!(!has_shape(ctx, None).0, "{ctx}");
            both_paths(ctx, None, INPUT);
        }
    }

    #[test]
    fn non_scalar_values_take_the_general_path() {
        let ctx =
            "fields:\n  list: \"{{ [ID, QTY] }}\"\n  id: \"{{ ID }}\"\n  f: \"{{ 1.0 / 0 if ID == '2' else 1 }}\"\n";
        both_paths(ctx, Some(r#"{"properties":{"list":{"type":"array"}}}"#), INPUT);
    }
}
