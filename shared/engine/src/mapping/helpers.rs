//! The helper functions behind the template filters. They are shared by the fast evaluator and
//! the minijinja environment so both paths compute exactly the same values.

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
/// lower-cases the rest, joins with one space (`  MÜLLER,  hans` → `Müller, Hans`).
pub fn capitalize_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            for c in chars {
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

/// Decimal and grouping separators of a locale (`de`, `de-CH`, `fr`, `en`, …).
fn separators(locale: &str) -> Result<(char, &'static [char]), String> {
    let lower = locale.to_ascii_lowercase().replace('_', "-");
    if lower.ends_with("-ch") || lower == "ch" {
        return Ok(('.', &['\'', '’']));
    }
    let lang = lower.split('-').next().unwrap_or("");
    Ok(match lang {
        "" | "c" | "en" | "us" | "uk" | "ja" | "zh" | "ko" | "he" | "th" => ('.', &[',']),
        "de" | "at" | "es" | "it" | "nl" | "pt" | "da" | "id" | "tr" | "ro" | "el" | "hr" | "sl" | "sr" | "is" => (',', &['.']),
        "fr" | "sv" | "fi" | "nb" | "no" | "pl" | "cs" | "sk" | "ru" | "uk-ua" | "hu" | "bg" | "lt" | "lv" | "et" => {
            (',', &[' ', '\u{a0}', '\u{202f}', '.'])
        }
        _ => return Err(format!("unknown locale `{locale}` (use e.g. en, de, fr, de-CH)")),
    })
}

/// Parses `1.234,50` (de) / `1,234.50` (en) / `1 234,50` (fr) into a number.
pub fn parse_decimal(text: &str, locale: &str) -> Result<Option<Num>, String> {
    let (dec, groups) = separators(locale)?;
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let mut plain = String::with_capacity(t.len());
    let mut seen_dec = false;
    for (i, c) in t.char_indices() {
        if c == dec && !seen_dec {
            seen_dec = true;
            plain.push('.');
        } else if groups.contains(&c) && !seen_dec {
        } else if c.is_ascii_digit() || ((c == '-' || c == '+') && i == 0) {
            plain.push(c);
        } else {
            return Err(format!("`{text}` is not a decimal number in locale {locale}"));
        }
    }
    let digits = plain.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.starts_with('.') && digits.len() == 1 {
        return Err(format!("`{text}` is not a decimal number in locale {locale}"));
    }
    if !seen_dec {
        if let Ok(i) = plain.parse::<i64>() {
            return Ok(Some(Num::Int(i)));
        }
    }
    plain.parse::<f64>().map(|f| Some(Num::Float(f))).map_err(|_| format!("`{text}` is not a decimal number in locale {locale}"))
}

#[derive(Clone, Copy)]
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
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || format!("`{text}` does not match the date pattern {pattern}");
    let (mut parts, mut has_time) = ([None::<i64>; 7], false);
    let (mut p, mut s) = (pattern, t);
    while !p.is_empty() {
        if let Some((tok, part)) = TOKENS.iter().find(|(tok, _)| p.starts_with(tok)) {
            p = &p[tok.len()..];
            // Fixed width when the next pattern element is adjacent digits (YYYYMMDD), else 1–n digits.
            let adjacent = TOKENS.iter().any(|(t2, _)| p.starts_with(t2));
            let max = if tok.starts_with('Y') { tok.len() } else { 2 };
            let min = if adjacent || tok.starts_with('Y') { tok.len().max(2).min(max) } else { 1 };
            let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
            if n < min {
                return Err(bad());
            }
            let v: i64 = s[..n].parse().map_err(|_| bad())?;
            s = &s[n..];
            let idx = *part as usize;
            if idx >= 4 {
                has_time = true;
            }
            parts[idx] = Some(match part {
                DatePart::Year2 => 2000 + v,
                _ => v,
            });
        } else {
            let c = p.chars().next().unwrap_or_default();
            if !s.starts_with(c) {
                return Err(bad());
            }
            p = &p[c.len_utf8()..];
            s = &s[c.len_utf8()..];
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
    let mut out = format!("{year:04}-{month:02}-{day:02}");
    if has_time {
        let (h, mi, se) = (parts[4].unwrap_or(0), parts[5].unwrap_or(0), parts[6].unwrap_or(0));
        if h > 23 || mi > 59 || se > 59 {
            return Err(format!("`{text}` is not a valid time ({pattern})"));
        }
        out.push_str(&format!("T{h:02}:{mi:02}:{se:02}"));
    }
    Ok(Some(out))
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
    }

    #[test]
    fn words() {
        assert_eq!(capitalize_words("  MÜLLER,  hans"), "Müller, Hans");
        assert_eq!(capitalize_words("O'BRIEN \"zur"), "O'brien \"zur");
    }
}
