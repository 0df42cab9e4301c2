//! The helper functions behind the template filters. They are shared by the fast evaluator and
//! the minijinja environment so both paths compute exactly the same values.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

/// A number parsed from text: integral text stays an integer (so `1.250` qty → 1250, not 1250.0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// Splits words on whitespace, drops empty ones, upper-cases each word's first character and
/// lower-cases the rest, joins with one space (`  MÜLLER,  hans` → `Müller, Hans`). Text that is
/// already so (most names) is returned as it is, without a copy.
pub fn capitalize_words(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let (mut i, mut in_word) = (0, false);
    // The text is its own result up to `i`: read on until a character would change.
    let differs = loop {
        let Some(&b) = bytes.get(i) else { break None };
        let c = char_at(s, i, b);
        if is_space(c) {
            // One space between two words stays.
            if c == ' ' && in_word && s[i + 1..].chars().next().is_some_and(|n| !is_space(n)) {
                (i, in_word) = (i + 1, false);
                continue;
            }
            break Some(i);
        }
        let unchanged = if in_word { is_own_lower(c) } else { is_own_upper(c) };
        if !unchanged {
            // A word's first character follows the separating space: the rest is written from
            // that space on, which puts it back.
            break Some(if in_word || i == 0 { i } else { i - 1 });
        }
        i += c.len_utf8();
        in_word = true;
    };
    let Some(start) = differs else { return Cow::Borrowed(s) };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..start]);
    i = start;
    while let Some(&b) = bytes.get(i) {
        let c = char_at(s, i, b);
        i += c.len_utf8();
        if is_space(c) {
            in_word = false;
            continue;
        }
        if in_word {
            match c {
                _ if b.is_ascii() => out.push(char::from(b.to_ascii_lowercase())),
                // À–Ö, Ø–Þ: their lower case is 0x20 up; the rest of Latin-1 is its own lower case.
                '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{DE}' => out.push(char::from(c as u8 + 0x20)),
                '\u{80}'..='\u{FF}' => out.push(c),
                _ => out.extend(c.to_lowercase()),
            }
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if b.is_ascii() {
            out.push(char::from(b.to_ascii_uppercase()));
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = true;
    }
    Cow::Owned(out)
}

/// The character starting at `s[i]`, whose first byte is `b`: decoded only beyond ASCII.
#[inline]
fn char_at(s: &str, i: usize, b: u8) -> char {
    if b.is_ascii() { char::from(b) } else { s[i..].chars().next().expect("a character starts here") }
}

/// `char::is_whitespace`, without its table for Latin-1.
#[inline]
fn is_space(c: char) -> bool {
    if u32::from(c) < 0x100 { matches!(c, ' ' | '\t'..='\r' | '\u{85}' | '\u{a0}') } else { c.is_whitespace() }
}

/// Whether `capitalize_words` keeps `c` inside a word as it is.
fn is_own_lower(c: char) -> bool {
    match c {
        _ if c.is_ascii() => !c.is_ascii_uppercase(),
        '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{DE}' => false,
        '\u{80}'..='\u{FF}' => true,
        _ => is_only(c.to_lowercase(), c),
    }
}

/// Whether `capitalize_words` keeps `c` at the start of a word as it is.
fn is_own_upper(c: char) -> bool {
    if c.is_ascii() { !c.is_ascii_lowercase() } else { is_only(c.to_uppercase(), c) }
}

fn is_only(mut mapped: impl Iterator<Item = char>, c: char) -> bool {
    mapped.next() == Some(c) && mapped.next().is_none()
}

/// `str::to_uppercase`, without a copy when the text is upper case ASCII already.
pub fn upper(s: Cow<'_, str>) -> Cow<'_, str> {
    if !s.is_ascii() {
        return Cow::Owned(s.to_uppercase());
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        return s;
    }
    Cow::Owned(s.to_ascii_uppercase())
}

/// `str::to_lowercase`, without a copy when the text is lower case ASCII already.
pub fn lower(s: Cow<'_, str>) -> Cow<'_, str> {
    if !s.is_ascii() {
        return Cow::Owned(s.to_lowercase());
    }
    if !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return s;
    }
    Cow::Owned(s.to_ascii_lowercase())
}

/// `a == b` for the short texts of records without a call to `memcmp`: up to 16 bytes are
/// compared as two overlapping words.
#[inline]
pub fn text_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let ends = |w: usize| (&a[..w], &a[n - w..], &b[..w], &b[n - w..]);
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..=3 => {
            let w = |s: &[u8]| u16::from_le_bytes(s.try_into().expect("two bytes"));
            let (a0, a1, b0, b1) = ends(2);
            w(a0) == w(b0) && w(a1) == w(b1)
        }
        4..=7 => {
            let w = |s: &[u8]| u32::from_le_bytes(s.try_into().expect("four bytes"));
            let (a0, a1, b0, b1) = ends(4);
            w(a0) == w(b0) && w(a1) == w(b1)
        }
        8..=16 => {
            let w = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("eight bytes"));
            let (a0, a1, b0, b1) = ends(8);
            w(a0) == w(b0) && w(a1) == w(b1)
        }
        _ => a == b,
    }
}

fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t'..=b'\r')
}

/// `str::trim`, deciding the common case (ASCII at both ends) without decoding characters.
#[inline]
pub fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|&c| !is_ascii_space(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !is_ascii_space(c)).map_or(start, |i| i + 1);
    let t = &s[start..end];
    // A character beyond ASCII at either end may be Unicode whitespace.
    if t.as_bytes().first().is_some_and(|c| !c.is_ascii()) || t.as_bytes().last().is_some_and(|c| !c.is_ascii()) {
        return t.trim();
    }
    t
}

/// Decimal and grouping separators of a locale (`de`, `de-CH`, `fr`, `en`, …).
pub fn separators(locale: &str) -> Result<(char, &'static [char]), String> {
    let lower = locale.to_ascii_lowercase().replace('_', "-");
    if lower.ends_with("-ch") || lower == "ch" {
        return Ok(('.', &['\'', '’']));
    }
    let lang = lower.split('-').next().unwrap_or("");
    Ok(match lang {
        "" | "c" | "en" | "us" | "uk" | "ja" | "zh" | "ko" | "he" | "th" => ('.', &[',']),
        "de" | "at" | "es" | "it" | "nl" | "pt" | "da" | "id" | "tr" | "ro" | "el" | "hr" | "sl" | "sr" | "is" => {
            (',', &['.'])
        }
        "fr" | "sv" | "fi" | "nb" | "no" | "pl" | "cs" | "sk" | "ru" | "uk-ua" | "hu" | "bg" | "lt" | "lv" | "et" => {
            (',', &[' ', '\u{a0}', '\u{202f}', '.'])
        }
        _ => return Err(format!("unknown locale `{locale}` (use e.g. en, de, fr, de-CH)")),
    })
}

/// Parses `1.234,50` (de) / `1,234.50` (en) / `1 234,50` (fr) into a number.
pub fn parse_decimal(text: &str, locale: &str) -> Result<Option<Num>, String> {
    let (dec, groups) = separators(locale)?;
    parse_decimal_with(text, locale, dec, groups)
}

/// [`parse_decimal`] with the locale's separators already looked up (the fast evaluator does
/// that once per expression, not per value).
pub fn parse_decimal_with(text: &str, locale: &str, dec: char, groups: &[char]) -> Result<Option<Num>, String> {
    let t = trim(text);
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(n) = plain_decimal(t, dec, groups) {
        return Ok(Some(n));
    }
    if !groups_of_three(t, dec, groups) {
        return Err(format!(
            "`{text}` is not a decimal number in locale {locale}: its digits are not grouped by three \
             (for a decimal comma, use a locale such as decimal('de'))"
        ));
    }
    // Only ASCII digits, signs and '.' are kept; short numbers stay on the stack.
    let mut stack = [0u8; 48];
    let mut heap = Vec::new();
    let mut len = 0usize;
    let mut push = |b: u8| {
        if len < stack.len() {
            stack[len] = b;
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&stack);
            }
            heap.push(b);
        }
        len += 1;
    };
    let mut seen_dec = false;
    for (i, c) in t.char_indices() {
        if c == dec && !seen_dec {
            seen_dec = true;
            push(b'.');
        } else if groups.contains(&c) && !seen_dec {
        } else if c.is_ascii_digit() || ((c == '-' || c == '+') && i == 0) {
            push(c as u8);
        } else {
            return Err(format!("`{text}` is not a decimal number in locale {locale}"));
        }
    }
    let bytes = if len <= stack.len() { &stack[..len] } else { &heap[..] };
    let plain = std::str::from_utf8(bytes).expect("only ASCII was kept");
    let digits = plain.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.starts_with('.') && digits.len() == 1 {
        return Err(format!("`{text}` is not a decimal number in locale {locale}"));
    }
    if !seen_dec && let Ok(i) = plain.parse::<i64>() {
        return Ok(Some(Num::Int(i)));
    }
    plain
        .parse::<f64>()
        .map(|f| Some(Num::Float(f)))
        .map_err(|_| format!("`{text}` is not a decimal number in locale {locale}"))
}

/// Whether the grouping separators of the integer part, if any, group its digits by three
/// (`1,234,567`). `12,50` read in `en` is a decimal comma in the wrong locale, not 1250.
pub fn groups_of_three(t: &str, dec: char, groups: &[char]) -> bool {
    let integer = t.split(dec).next().unwrap_or(t).trim_start_matches(['+', '-']);
    let mut parts = integer.split(|c| groups.contains(&c));
    let first = parts.next().unwrap_or("");
    let mut rest = parts.peekable();
    rest.peek().is_none() || (1..=3).contains(&first.len()) && rest.all(|p| p.len() == 3)
}

/// 10^0 to 10^15, all exact in `f64` (as `10f64.powi` computes them).
const POWERS_OF_TEN: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The common case of [`parse_decimal_with`] without building the plain text: ASCII, at most 15
/// digits. An integer is exact; a fraction `m / 10^k` with `m < 2^53` divides two exact floats,
/// which IEEE rounds correctly, exactly like parsing the decimal text does. `None`: not
/// that case (the general code decides, errors included).
fn plain_decimal(t: &str, dec: char, groups: &[char]) -> Option<Num> {
    if !dec.is_ascii() {
        return None;
    }
    let dec = dec as u8;
    let bytes = t.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let (mut mantissa, mut count, mut decimals, mut seen_dec, mut grouped) = (0i64, 0u32, 0i32, false, false);
    // `groups_of_three` as the digits go by: the digits since the integer part's last grouping
    // separator, and whether its groups are of three so far.
    let (mut run, mut by_three) = (0u32, true);
    for &b in digits {
        if b.is_ascii_digit() {
            mantissa = mantissa * 10 + i64::from(b - b'0');
            count += 1;
            decimals += i32::from(seen_dec);
            run += 1;
            if count > 15 {
                return None;
            }
        } else if b == dec && !seen_dec {
            seen_dec = true;
            by_three &= !grouped || run == 3;
        } else if !seen_dec && b.is_ascii() && groups.contains(&(b as char)) {
            by_three &= if grouped { run == 3 } else { (1..=3).contains(&run) };
            (grouped, run) = (true, 0);
        } else {
            return None;
        }
    }
    by_three &= !grouped || seen_dec || run == 3;
    if count == 0 || !by_three {
        return None;
    }
    let signed = if negative { -mantissa } else { mantissa };
    if !seen_dec {
        return Some(Num::Int(signed));
    }
    let x = mantissa as f64 / POWERS_OF_TEN[decimals as usize];
    Some(Num::Float(if negative { -x } else { x }))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DatePart {
    Year4,
    Year2,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

const TOKENS: [(&str, DatePart); 13] = [
    ("YYYY", DatePart::Year4),
    ("YY", DatePart::Year2),
    ("MM", DatePart::Month),
    ("M", DatePart::Month),
    ("DD", DatePart::Day),
    ("D", DatePart::Day),
    ("hh", DatePart::Hour),
    ("HH", DatePart::Hour),
    ("h", DatePart::Hour),
    ("H", DatePart::Hour),
    ("mm", DatePart::Minute),
    ("m", DatePart::Minute),
    ("ss", DatePart::Second),
];

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses `text` with an explicit pattern (`DD.MM.YYYY`, `YYYYMMDD`, `M/D/YY hh:mm`) and writes it
/// as ISO 8601 (`YYYY-MM-DD`, or `YYYY-MM-DDThh:mm:ss` when the pattern has a time). Day and month
/// tokens accept one or two digits unless the next pattern character is a digit token too.
pub fn iso_date(text: &str, pattern: &str) -> Result<Option<String>, String> {
    DatePattern::new(pattern).iso(text)
}

/// A date pattern taken apart once (the fast evaluator keeps it with its expression).
#[derive(Debug, Clone, PartialEq)]
pub struct DatePattern {
    text: String,
    elements: Vec<DateElement>,
    has_time: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum DateElement {
    /// `min` to `max` digits of a part.
    Digits {
        part: DatePart,
        min: usize,
        max: usize,
    },
    Literal(char),
}

impl DatePattern {
    pub fn new(pattern: &str) -> DatePattern {
        let (mut elements, mut has_time) = (Vec::new(), false);
        let mut p = pattern;
        while let Some(c) = p.chars().next() {
            if let Some((tok, part)) = TOKENS.iter().find(|(tok, _)| p.starts_with(tok)) {
                p = &p[tok.len()..];
                // Fixed width when the next pattern element is adjacent digits (YYYYMMDD), else 1–n digits.
                let adjacent = TOKENS.iter().any(|(t2, _)| p.starts_with(t2));
                let max = if tok.starts_with('Y') { tok.len() } else { 2 };
                let min = if adjacent || tok.starts_with('Y') { tok.len().max(2).min(max) } else { 1 };
                has_time |= *part as usize >= 4;
                elements.push(DateElement::Digits { part: *part, min, max });
            } else {
                p = &p[c.len_utf8()..];
                elements.push(DateElement::Literal(c));
            }
        }
        DatePattern { text: pattern.to_owned(), elements, has_time }
    }

    /// [`iso_date`] with this pattern.
    pub fn iso(&self, text: &str) -> Result<Option<String>, String> {
        let t = trim(text);
        if t.is_empty() {
            return Ok(None);
        }
        let pattern = &self.text;
        let bad = || format!("`{text}` does not match the date pattern {pattern}");
        let mut parts = [None::<i64>; 7];
        let mut s = t;
        for element in &self.elements {
            match *element {
                DateElement::Digits { part, min, max } => {
                    let digits = s.bytes().take(max).take_while(u8::is_ascii_digit);
                    let (n, v) = digits.fold((0, 0i64), |(n, v), d| (n + 1, v * 10 + i64::from(d - b'0')));
                    if n < min {
                        return Err(bad());
                    }
                    s = &s[n..];
                    parts[part as usize] = Some(match part {
                        DatePart::Year2 => 2000 + v,
                        _ => v,
                    });
                }
                DateElement::Literal(c) => {
                    s = s.strip_prefix(c).ok_or_else(bad)?;
                }
            }
        }
        if !s.is_empty() {
            return Err(bad());
        }
        let year = parts[0].or(parts[1]).ok_or_else(|| format!("date pattern {pattern} has no year (YYYY or YY)"))?;
        let month = parts[2].ok_or_else(|| format!("date pattern {pattern} has no month (MM)"))?;
        let day = parts[3].unwrap_or(1);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(format!("`{text}` is not a valid date ({pattern})"));
        }
        // Written as bytes and turned into text once: cheaper than a character at a time.
        let mut out = [0u8; 19];
        push_digits(&mut out[0..4], year);
        out[4] = b'-';
        push_digits(&mut out[5..7], month);
        out[7] = b'-';
        push_digits(&mut out[8..10], day);
        let mut len = 10;
        if self.has_time {
            let (h, mi, se) = (parts[4].unwrap_or(0), parts[5].unwrap_or(0), parts[6].unwrap_or(0));
            if h > 23 || mi > 59 || se > 59 {
                return Err(format!("`{text}` is not a valid time ({pattern})"));
            }
            out[10] = b'T';
            push_digits(&mut out[11..13], h);
            out[13] = b':';
            push_digits(&mut out[14..16], mi);
            out[16] = b':';
            push_digits(&mut out[17..19], se);
            len = 19;
        }
        let out = std::str::from_utf8(&out[..len]).expect("ASCII").to_owned();
        Ok(Some(out))
    }
}

/// `format!("{v:0width$}")` into `out` (`width` bytes) for the parts of a parsed date: each
/// has at most that many digits (a year four, the others two) and is not negative.
fn push_digits(out: &mut [u8], mut v: i64) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `x` rounded to `precision` decimals exactly as `format!("{x:.precision$}").parse()` does
/// (the decimal nearest to `x`, read back as the nearest `f64`), without formatting in the
/// common case: away from a tie, `round(x·10^p) / 10^p` is that same number, because IEEE
/// division of two exact integers is correctly rounded, like parsing is.
pub fn round_decimal(x: f64, precision: u32) -> Option<f64> {
    if precision <= 15 {
        let scale = POWERS_OF_TEN[precision as usize];
        let y = x * scale;
        if y.is_finite() && y.abs() < (1u64 << 52) as f64 {
            // Below 2^52 the conversion truncates exactly: `floor` and `round` without their
            // library calls.
            let truncated = y as i64 as f64;
            let floor = if truncated > y { truncated - 1.0 } else { truncated };
            // y carries at most half an ulp of error: decide only where that cannot matter.
            let frac = y - floor;
            if (frac - 0.5).abs() > y.abs() * f64::EPSILON * 4.0 + f64::MIN_POSITIVE {
                // Not a tie: the nearest integer, a zero with the sign of `y` (as `round` keeps it).
                let nearest = if frac > 0.5 { floor + 1.0 } else { floor };
                let nearest = if nearest == 0.0 { 0f64.copysign(y) } else { nearest };
                return Some(nearest / scale);
            }
        }
    }
    format!("{x:.prec$}", prec = precision as usize).parse().ok()
}

thread_local! {
    static REGEXES: RefCell<HashMap<String, Arc<Regex>>> = RefCell::new(HashMap::new());
}

/// Compiled once per thread and pattern; the size limit keeps a hostile pattern from eating memory.
pub fn regex(pattern: &str) -> Result<Arc<Regex>, String> {
    REGEXES.with(|cache| {
        if let Some(r) = cache.borrow().get(pattern) {
            return Ok(r.clone());
        }
        let r = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(Arc::new)
            .map_err(|e| format!("invalid regex `{pattern}`: {e}"))?;
        let mut cache = cache.borrow_mut();
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), r.clone());
        Ok(r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_date("1.3.2024", "DD.MM.YYYY").unwrap().unwrap(), "2024-03-01");
        assert_eq!(iso_date("20240229", "YYYYMMDD").unwrap().unwrap(), "2024-02-29");
        assert_eq!(iso_date("3/1/24 7:05", "M/D/YY h:mm").unwrap().unwrap(), "2024-03-01T07:05:00");
        assert!(iso_date("30.02.2023", "DD.MM.YYYY").is_err());
        assert!(iso_date("2023-01-01", "DD.MM.YYYY").is_err());
        assert_eq!(iso_date(" ", "DD.MM.YYYY").unwrap(), None);
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("24.933,60", "de").unwrap(), Some(Num::Float(24933.6)));
        assert_eq!(parse_decimal("1.250", "de").unwrap(), Some(Num::Int(1250)));
        assert_eq!(parse_decimal("1,250.5", "en").unwrap(), Some(Num::Float(1250.5)));
        assert_eq!(parse_decimal("1 234,5", "fr").unwrap(), Some(Num::Float(1234.5)));
        assert_eq!(parse_decimal("1'234.5", "de-CH").unwrap(), Some(Num::Float(1234.5)));
        assert!(parse_decimal("12a", "de").is_err());
        assert_eq!(parse_decimal("1.234.567,5", "de").unwrap(), Some(Num::Float(1234567.5)));
        assert_eq!(parse_decimal("-1,234", "en").unwrap(), Some(Num::Int(-1234)));
        let e = parse_decimal("12,50", "en").unwrap_err();
        assert!(e.contains("not grouped by three") && e.contains("decimal('de')"), "{e}");
        assert!(parse_decimal("1,2345", "en").is_err());
        assert!(parse_decimal("1234,567", "en").is_err());
        assert!(parse_decimal("1.2.3,4", "de").is_err());
    }

    #[test]
    fn plain_decimals_match_the_general_parse() {
        let general = |t: &str, locale: &str| -> Result<Option<Num>, String> {
            let (dec, groups) = separators(locale).unwrap();
            if t.trim().is_empty() {
                return Ok(None);
            }
            if !groups_of_three(t.trim(), dec, groups) {
                return Err("bad".into());
            }
            let mut plain = String::new();
            let mut seen_dec = false;
            for (i, c) in t.trim().char_indices() {
                if c == dec && !seen_dec {
                    seen_dec = true;
                    plain.push('.');
                } else if groups.contains(&c) && !seen_dec {
                } else if c.is_ascii_digit() || ((c == '-' || c == '+') && i == 0) {
                    plain.push(c);
                } else {
                    return Err("bad".into());
                }
            }
            if !seen_dec && let Ok(i) = plain.parse::<i64>() {
                return Ok(Some(Num::Int(i)));
            }
            plain.parse::<f64>().map(|f| Some(Num::Float(f))).map_err(|_| "bad".into())
        };
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+7",
            "-0,0",
            "1.250",
            "24.933,60",
            "12,5",
            ",5",
            "5,",
            "-,5",
            "1.2.3,4",
            "999.999.999.999.999",
            "0,1",
            "0,3",
            "123456789012345",
            "1234567890123456",
            "0,000000000000001",
            "1,23e5",
            "--1",
            "-",
            ",",
            "",
            "1,2,3",
            "١٢",
            "1..234",
            ".123",
            "1.,5",
            "1.23",
            "12.345.678",
            "1234.567",
            "1.234,5.6",
            "-1.234,5",
            "+12.345",
            "1.234.",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..50_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = seed % 10_000_000_000;
            let mut s = digits.to_string();
            let k = (seed >> 40) as usize % (s.len() + 1);
            if (seed >> 50) & 1 == 1 {
                s.insert(k, ',');
            }
            // Grouping separators, in the right places or not.
            for bit in [54, 56] {
                if (seed >> bit) & 1 == 1 {
                    let at = (seed >> (bit - 20)) as usize % (s.len() + 1);
                    s.insert(at, '.');
                }
            }
            if (seed >> 52) & 1 == 1 {
                s.insert(0, '-');
            }
            cases.push(s);
            // The digits grouped by three, as a German export writes them.
            let plain = digits.to_string();
            let mut grouped = String::new();
            for (i, c) in plain.chars().enumerate() {
                if i > 0 && (plain.len() - i).is_multiple_of(3) {
                    grouped.push('.');
                }
                grouped.push(c);
            }
            if (seed >> 58) & 1 == 1 {
                grouped.push_str(",25");
            }
            cases.push(grouped);
        }
        for t in cases {
            if let Some(fast) = plain_decimal(t.trim(), ',', &['.']) {
                let slow = general(&t, "de").unwrap().unwrap();
                match (fast, slow) {
                    (Num::Float(a), Num::Float(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{t}"),
                    (a, b) => assert_eq!(a, b, "{t}"),
                }
            }
            assert_eq!(parse_decimal(&t, "de").ok(), general(&t, "de").ok(), "{t}");
        }
    }

    #[test]
    fn date_parts_are_padded_like_format() {
        for (v, w) in [(0, 2), (7, 2), (12, 2), (99, 2), (2024, 4), (5, 4), (9999, 4)] {
            let mut out = vec![0; w];
            push_digits(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), format!("{v:0w$}"));
        }
    }

    #[test]
    fn rounding_matches_format_and_parse() {
        let slow = |x: f64, p: u32| format!("{x:.prec$}", prec = p as usize).parse::<f64>().unwrap();
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut cases = vec![
            0.0,
            -0.0,
            0.005,
            0.015,
            0.125,
            2.675,
            1.005,
            -1.005,
            0.004,
            -0.004,
            1e-300,
            123456.785,
            4503599627370495.5,
        ];
        for _ in 0..20_000 {
            let r = next();
            let cents = (r % 100_000_000) as f64;
            let qty = ((r >> 40) % 10_000) as f64;
            cases.push(qty * (cents / 100.0));
            cases.push(f64::from_bits(r >> 2) * if r & 1 == 1 { -1.0 } else { 1.0 });
            cases.push((r % 1_000_000) as f64 / 1000.0 + 0.0005);
        }
        for x in cases {
            for p in [0, 1, 2, 3, 6, 15] {
                let want = slow(x, p);
                let got = round_decimal(x, p).unwrap();
                assert_eq!(got.to_bits(), want.to_bits(), "round({x:e}, {p}): {got} vs {want}");
            }
        }
    }

    #[test]
    fn latin1_is_lower_cased_like_unicode_says() {
        for c in (0..=0xFFu8).map(char::from).chain(['Ā', 'İ', 'Σ', 'ǅ', 'Ｗ']).filter(|c| !c.is_whitespace()) {
            let lower: String = c.to_lowercase().collect();
            let upper: String = c.to_uppercase().collect();
            assert_eq!(capitalize_words(&format!("{c}{c}")), format!("{upper}{lower}"), "{c:?}");
        }
    }

    /// The one-pass definition `capitalize_words` must equal, however much of the text it keeps.
    fn capitalized(s: &str) -> String {
        let mut out = String::new();
        for word in s.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            let mut chars = word.chars();
            out.extend(chars.next().into_iter().flat_map(char::to_uppercase));
            out.extend(chars.flat_map(char::to_lowercase));
        }
        out
    }

    #[test]
    fn words_are_kept_or_rewritten_like_the_definition() {
        let pieces =
            ["a", "A", "ab", "Ab", "AB", " ", "  ", "\t", "ü", "Ü", "ß", "İ", "ǅ", "\u{a0}", "\u{2003}", "x", "-", "'"];
        // Every text of up to four pieces: each place a change can first appear at.
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> =
                texts.iter().flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}"))).collect();
            texts.extend(longer);
        }
        for text in &texts {
            let got = capitalize_words(text);
            assert_eq!(got, capitalized(text), "{text:?}");
            assert_eq!(matches!(got, Cow::Borrowed(_)), got == text.as_str(), "{text:?}");
        }
    }

    #[test]
    fn latin1_spaces_are_unicode_whitespace() {
        for c in (0..=0x2000u32).filter_map(char::from_u32) {
            assert_eq!(is_space(c), c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn texts_are_equal_where_every_byte_is() {
        for len in 0..40 {
            let a: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            assert!(text_eq(&a, &a.clone()));
            assert!(!text_eq(&a, &format!("{a}x")));
            for at in 0..len {
                let mut b = a.clone().into_bytes();
                b[at] = b'Z';
                assert!(!text_eq(&a, &String::from_utf8(b).unwrap()), "{len} {at}");
            }
        }
    }

    #[test]
    fn upper_and_lower_keep_text_that_is_so_already() {
        for text in ["GBP", "gbp", "GbP", "", "ÄÖü", "ß", "12-AB"] {
            assert_eq!(upper(Cow::Borrowed(text)), text.to_uppercase());
            assert_eq!(lower(Cow::Borrowed(text)), text.to_lowercase());
        }
        assert!(matches!(upper(Cow::Borrowed("EUR 12")), Cow::Borrowed(_)));
        assert!(matches!(lower(Cow::Borrowed("eur 12")), Cow::Borrowed(_)));
    }

    #[test]
    fn words() {
        assert_eq!(capitalize_words("  MÜLLER,  hans"), "Müller, Hans");
        assert_eq!(capitalize_words("O'BRIEN \"zur"), "O'brien \"zur");
        assert_eq!(capitalize_words("  a  ÉCOLE ß x\u{a0}y "), "A École SS X Y");
        assert_eq!(capitalize_words("\u{2003}ÖL-ÄRA\u{85}\u{3000}\tİSTANBUL  ÿ xİ"), "Öl-ära İstanbul Ÿ Xi\u{307}");
        assert_eq!(capitalize_words(" \n "), "");
    }
}
