//! Turning raw content bytes into UTF-8 text: BOM sniffing, declared encodings, and, for text that
//! is not UTF-8 and declares nothing, a detected legacy encoding that the run reports as a warning.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::error::EngineError;

const SAMPLE: usize = 64 * 1024;

pub struct Decoded<'a> {
    pub reader: Box<dyn BufRead + 'a>,
    /// The beginning of the text, for format detection.
    pub sample: String,
    pub encoding: &'static Encoding,
    /// `declared`, `BOM`, or `detected` (UTF-8 is detected too: it is valid as far as read).
    pub encoding_decided_by: &'static str,
    /// How a detected legacy encoding was chosen: a run records it for the user (never decided
    /// silently).
    pub detected: Option<String>,
}

/// File signatures of formats that people upload by mistake, and what to do instead.
const BINARY_SIGNATURES: [(&[u8], &str); 10] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: export the sheet as CSV)"),
    (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an Office 97 file (an Excel .xls workbook: export the sheet as CSV)"),
    (b"\x1F\x8B", "a gzip archive: unpack it first"),
    (b"BZh", "a bzip2 archive: unpack it first"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive: unpack it first"),
    (b"\x7FELF", "an executable"),
];

/// Refuses content that is not text: a known binary signature, or NUL bytes (which text in any
/// single-byte encoding or UTF-8 never holds; UTF-16 without a BOM must be declared).
fn refuse_binary(file: &str, head: &[u8]) -> Result<(), EngineError> {
    if let Some((_, what)) = BINARY_SIGNATURES.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Err(EngineError::input(file, None, None, format!("this is {what}, not text")));
    }
    let nuls = memchr::memchr_iter(0, head).count();
    if nuls > 0 {
        let first = memchr::memchr(0, head).unwrap_or(0);
        let line = 1 + memchr::memchr_iter(b'\n', &head[..first]).count() as u64;
        return Err(EngineError::input(
            file,
            Some(line),
            None,
            format!(
                "the content holds NUL bytes ({nuls} in its first {} bytes): it is binary, or UTF-16 without a \
                 byte order mark (then declare input.encoding: utf-16le or utf-16be)",
                head.len()
            ),
        ));
    }
    Ok(())
}

/// The first byte of `bytes` that is not UTF-8: (line, column in characters, the byte), counting
/// lines from `first_line`. `None` when the bytes are UTF-8 (or end inside a character).
pub fn utf8_error_at(bytes: &[u8], first_line: u64) -> Option<(u64, u64, u8)> {
    let e = std::str::from_utf8(bytes).err()?;
    e.error_len()?;
    let valid = &bytes[..e.valid_up_to()];
    let line_start = memchr::memrchr(b'\n', valid).map_or(0, |i| i + 1);
    let line = first_line + memchr::memchr_iter(b'\n', valid).count() as u64;
    // The bytes before are UTF-8 (`valid_up_to`), so this counts characters.
    let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() as u64 + 1;
    Some((line, column, bytes[e.valid_up_to()]))
}

/// The error for text that is not UTF-8 where UTF-8 was expected, at the first bad byte.
pub fn not_utf8(file: &str, bytes: &[u8], first_line: u64) -> EngineError {
    let (line, column, byte) = utf8_error_at(bytes, first_line).unwrap_or((first_line, 1, 0));
    EngineError::input(
        file,
        Some(line),
        Some(column),
        format!(
            "byte 0x{byte:02X} is not valid UTF-8; fix the file, or declare its encoding in the context \
             (input.encoding, e.g. windows-1252)"
        ),
    )
}

/// Whether `bytes` hold at least one well-formed multi-byte UTF-8 character.
fn has_utf8_multibyte(bytes: &[u8]) -> bool {
    bytes.utf8_chunks().any(|chunk| chunk.valid().bytes().any(|b| b >= 0x80))
}

/// The encoding of text that declares none: UTF-8 when it is UTF-8; a legacy encoding when the
/// detector is confident and nothing in it is UTF-8; otherwise an error at the first bad byte.
/// Text that is UTF-8 but for a stray byte is refused: decoding it as a legacy encoding would turn
/// every accented letter into mojibake.
fn choose(file: &str, head: &[u8], complete: bool) -> Result<(&'static Encoding, Option<String>), EngineError> {
    let Some((line, column, byte)) = utf8_error_at(head, 1) else {
        return Ok((encoding_rs::UTF_8, None));
    };
    let refuse = |why: &str| {
        EngineError::input(
            file,
            Some(line),
            Some(column),
            format!(
                "byte 0x{byte:02X} is not valid UTF-8 and {why}; fix the file, or declare its encoding in \
                 the context (input.encoding, e.g. windows-1252)"
            ),
        )
    };
    if has_utf8_multibyte(head) {
        return Err(refuse("the text before it is UTF-8"));
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(head, complete);
    match detector.guess_assess(None, false) {
        (encoding, true) => Ok((
            encoding,
            Some(format!(
                "no encoding declared and the text is not UTF-8 (byte 0x{byte:02X} at line {line}, column \
                 {column}); decoded as {} (detected); declare input.encoding to be sure",
                encoding.name()
            )),
        )),
        (encoding, false) => {
            Err(refuse(&format!("no encoding can be told with confidence (the best guess is {})", encoding.name())))
        }
    }
}

pub fn decode<'a>(
    file: &str,
    input: &'a mut dyn Read,
    declared: Option<&'static Encoding>,
) -> Result<Decoded<'a>, EngineError> {
    let mut head = Vec::with_capacity(SAMPLE);
    (&mut *input).take(SAMPLE as u64).read_to_end(&mut head)?;
    let (encoding, bom_len, encoding_decided_by, detected) = match (Encoding::for_bom(&head), declared) {
        (Some((e, n)), _) => (e, n, "BOM", None),
        (None, Some(e)) => (e, 0, "declared", None),
        (None, None) => {
            refuse_binary(file, &head)?;
            let (e, detected) = choose(file, &head, head.len() < SAMPLE)?;
            (e, 0, "detected", detected)
        }
    };
    let sample = encoding.decode_without_bom_handling(&head[bom_len..]).0.into_owned();
    let chained = Cursor::new(head).chain(input);
    let reader: Box<dyn BufRead + 'a> = if encoding == encoding_rs::UTF_8 {
        // No transcoding for UTF-8: the readers validate as they go and report the line.
        let mut r = BufReader::with_capacity(1 << 16, chained);
        r.fill_buf()?;
        r.consume(bom_len);
        Box::new(r)
    } else {
        let decoder = DecodeReaderBytesBuilder::new().encoding(Some(encoding)).bom_override(true).build(chained);
        Box::new(BufReader::with_capacity(1 << 16, decoder))
    };
    Ok(Decoded { reader, sample, encoding, encoding_decided_by, detected })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
    /// Classic Mac OS: a CR alone ends each line.
    Cr,
}

impl LineEnding {
    /// The line ending most lines of the sample use (LF when there is no line break).
    pub fn of(sample: &str) -> LineEnding {
        let bytes = sample.as_bytes();
        let crlf = memchr::memmem::find_iter(bytes, b"\r\n").count();
        let lf = memchr::memchr_iter(b'\n', bytes).count() - crlf;
        let cr = memchr::memchr_iter(b'\r', bytes).count() - crlf;
        if cr > 0 && lf == 0 && crlf == 0 {
            LineEnding::Cr
        } else if crlf > lf {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LineEnding::Lf => "LF",
            LineEnding::CrLf => "CRLF",
            LineEnding::Cr => "CR",
        }
    }
}

/// Text whose lines end in a lone CR, read as if they ended in LF: the line readers split on LF
/// only. Such a file holds no LF, so nothing else changes.
pub struct CrAsLf<R>(pub R);

impl<R: Read> Read for CrAsLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(out)?;
        for b in &mut out[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

/// Reads lines of at most `max` bytes, counting them.
pub struct Lines<'a> {
    inner: Box<dyn BufRead + 'a>,
    pub line: u64,
    max: usize,
}

pub enum LineError {
    TooLong,
    Io(io::Error),
}

impl<'a> Lines<'a> {
    pub fn new(inner: Box<dyn BufRead + 'a>, max: usize) -> Self {
        Lines { inner, line: 0, max }
    }

    /// Passes over the first `n` lines (title lines, a `sep=` line).
    pub fn skip(&mut self, n: usize) -> Result<(), LineError> {
        let mut buf = Vec::new();
        for _ in 0..n {
            buf.clear();
            if !self.read_into(&mut buf)? {
                break;
            }
        }
        Ok(())
    }

    /// Appends the next line (with its `\n`, if any) to `buf`; false at the end of the input.
    pub fn read_into(&mut self, buf: &mut Vec<u8>) -> Result<bool, LineError> {
        let start = buf.len();
        loop {
            let chunk = self.inner.fill_buf().map_err(LineError::Io)?;
            if chunk.is_empty() {
                if buf.len() > start {
                    self.line += 1;
                    return Ok(true);
                }
                return Ok(false);
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if buf.len() - start + take > self.max {
                return Err(LineError::TooLong);
            }
            buf.extend_from_slice(&chunk[..take]);
            self.inner.consume(take);
            if done {
                self.line += 1;
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> Result<(String, &'static str, Option<String>), String> {
        let mut input = bytes;
        let mut d = decode("in.csv", &mut input, None).map_err(|e| e.to_string())?;
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        Ok((s, d.encoding.name(), d.detected))
    }

    #[test]
    fn boms_are_followed_without_a_warning() {
        assert_eq!(text(b"\xEF\xBB\xBFa;b\n").unwrap(), ("a;b\n".into(), "UTF-8", None));
        assert_eq!(text(b"\xFF\xFEa\x00\n\x00").unwrap(), ("a\n".into(), "UTF-16LE", None));
    }

    #[test]
    fn a_detected_legacy_encoding_is_reported_with_its_evidence() {
        let legacy = b"name;city\nM\xFCller;K\xF6ln\nKr\xFCger;S\xFCd\n";
        let (s, encoding, detected) = text(legacy).unwrap();
        assert_eq!((s.as_str(), encoding), ("name;city\nMüller;Köln\nKrüger;Süd\n", "windows-1252"));
        let detected = detected.expect("a warning");
        assert!(detected.contains("byte 0xFC at line 2, column 2"), "{detected}");
        assert!(detected.contains("decoded as windows-1252"), "{detected}");
    }

    #[test]
    fn utf8_with_a_stray_byte_is_refused_at_the_byte() {
        let mixed = "name;city\nKrüger;Süd\nAbc;D".bytes().chain([0xFF]).chain(*b"ef\n").collect::<Vec<u8>>();
        let e = text(&mixed).unwrap_err();
        assert!(e.starts_with("in.csv line 3, column 6: byte 0xFF is not valid UTF-8"), "{e}");
        assert!(e.contains("input.encoding"), "{e}");
    }

    #[test]
    fn a_declared_encoding_is_used_as_is() {
        let mut input: &[u8] = b"M\xFCller\n";
        let mut d = decode("in.csv", &mut input, Some(encoding_rs::WINDOWS_1252)).unwrap();
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), d.detected), ("Müller\n", None));
    }

    #[test]
    fn the_first_bad_byte_is_located_in_characters() {
        assert_eq!(utf8_error_at("ab\nçd".as_bytes(), 1), None);
        assert_eq!(utf8_error_at(b"ab\n\xC3\xA7d\xFF", 7), Some((8, 3, 0xFF)));
    }
}
