//! Turning raw content bytes into UTF-8 text: BOM sniffing, declared encodings, and, for text that
//! is not UTF-8 and declares nothing, a detected legacy encoding that the run reports as a warning.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::error::EngineError;

const SAMPLE: usize = 64 * 1024;

/// An encoding a context may declare: any WHATWG label, or IBM EBCDIC code page 037 (US/Canada),
/// which the WHATWG standard, and so `encoding_rs`, leaves out but mainframe exports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredEncoding {
    Whatwg(&'static Encoding),
    Cp037,
}

impl DeclaredEncoding {
    pub fn for_label(label: &str) -> Option<DeclaredEncoding> {
        let label = label.trim().to_ascii_lowercase();
        match label.as_str() {
            "cp037" | "cp37" | "ibm037" | "ibm-037" | "ibm37" | "csibm037" | "ebcdic-cp-us" | "ebcdic-cp-ca" => {
                Some(DeclaredEncoding::Cp037)
            }
            _ => Encoding::for_label(label.as_bytes()).map(DeclaredEncoding::Whatwg),
        }
    }

    /// The byte that ends a line in this encoding, when it is one byte.
    pub fn line_feed(self) -> Option<u8> {
        match self {
            DeclaredEncoding::Cp037 => Some(0x25),
            DeclaredEncoding::Whatwg(e) if e.is_ascii_compatible() => Some(b'\n'),
            DeclaredEncoding::Whatwg(_) => None,
        }
    }
}

/// Code page 037 to Unicode, as Python's `cp037` codec has it, except that NL (0x15) is a line
/// feed: z/OS text ends its lines with NL, which the codec maps to U+0085.
const CP037: [char; 256] = [
    '\u{0000}', '\u{0001}', '\u{0002}', '\u{0003}', '\u{009C}', '\u{0009}', '\u{0086}', '\u{007F}', '\u{0097}',
    '\u{008D}', '\u{008E}', '\u{000B}', '\u{000C}', '\u{000D}', '\u{000E}', '\u{000F}', '\u{0010}', '\u{0011}',
    '\u{0012}', '\u{0013}', '\u{009D}', '\u{000A}', '\u{0008}', '\u{0087}', '\u{0018}', '\u{0019}', '\u{0092}',
    '\u{008F}', '\u{001C}', '\u{001D}', '\u{001E}', '\u{001F}', '\u{0080}', '\u{0081}', '\u{0082}', '\u{0083}',
    '\u{0084}', '\u{000A}', '\u{0017}', '\u{001B}', '\u{0088}', '\u{0089}', '\u{008A}', '\u{008B}', '\u{008C}',
    '\u{0005}', '\u{0006}', '\u{0007}', '\u{0090}', '\u{0091}', '\u{0016}', '\u{0093}', '\u{0094}', '\u{0095}',
    '\u{0096}', '\u{0004}', '\u{0098}', '\u{0099}', '\u{009A}', '\u{009B}', '\u{0014}', '\u{0015}', '\u{009E}',
    '\u{001A}', '\u{0020}', '\u{00A0}', '\u{00E2}', '\u{00E4}', '\u{00E0}', '\u{00E1}', '\u{00E3}', '\u{00E5}',
    '\u{00E7}', '\u{00F1}', '\u{00A2}', '\u{002E}', '\u{003C}', '\u{0028}', '\u{002B}', '\u{007C}', '\u{0026}',
    '\u{00E9}', '\u{00EA}', '\u{00EB}', '\u{00E8}', '\u{00ED}', '\u{00EE}', '\u{00EF}', '\u{00EC}', '\u{00DF}',
    '\u{0021}', '\u{0024}', '\u{002A}', '\u{0029}', '\u{003B}', '\u{00AC}', '\u{002D}', '\u{002F}', '\u{00C2}',
    '\u{00C4}', '\u{00C0}', '\u{00C1}', '\u{00C3}', '\u{00C5}', '\u{00C7}', '\u{00D1}', '\u{00A6}', '\u{002C}',
    '\u{0025}', '\u{005F}', '\u{003E}', '\u{003F}', '\u{00F8}', '\u{00C9}', '\u{00CA}', '\u{00CB}', '\u{00C8}',
    '\u{00CD}', '\u{00CE}', '\u{00CF}', '\u{00CC}', '\u{0060}', '\u{003A}', '\u{0023}', '\u{0040}', '\u{0027}',
    '\u{003D}', '\u{0022}', '\u{00D8}', '\u{0061}', '\u{0062}', '\u{0063}', '\u{0064}', '\u{0065}', '\u{0066}',
    '\u{0067}', '\u{0068}', '\u{0069}', '\u{00AB}', '\u{00BB}', '\u{00F0}', '\u{00FD}', '\u{00FE}', '\u{00B1}',
    '\u{00B0}', '\u{006A}', '\u{006B}', '\u{006C}', '\u{006D}', '\u{006E}', '\u{006F}', '\u{0070}', '\u{0071}',
    '\u{0072}', '\u{00AA}', '\u{00BA}', '\u{00E6}', '\u{00B8}', '\u{00C6}', '\u{00A4}', '\u{00B5}', '\u{007E}',
    '\u{0073}', '\u{0074}', '\u{0075}', '\u{0076}', '\u{0077}', '\u{0078}', '\u{0079}', '\u{007A}', '\u{00A1}',
    '\u{00BF}', '\u{00D0}', '\u{00DD}', '\u{00DE}', '\u{00AE}', '\u{005E}', '\u{00A3}', '\u{00A5}', '\u{00B7}',
    '\u{00A9}', '\u{00A7}', '\u{00B6}', '\u{00BC}', '\u{00BD}', '\u{00BE}', '\u{005B}', '\u{005D}', '\u{00AF}',
    '\u{00A8}', '\u{00B4}', '\u{00D7}', '\u{007B}', '\u{0041}', '\u{0042}', '\u{0043}', '\u{0044}', '\u{0045}',
    '\u{0046}', '\u{0047}', '\u{0048}', '\u{0049}', '\u{00AD}', '\u{00F4}', '\u{00F6}', '\u{00F2}', '\u{00F3}',
    '\u{00F5}', '\u{007D}', '\u{004A}', '\u{004B}', '\u{004C}', '\u{004D}', '\u{004E}', '\u{004F}', '\u{0050}',
    '\u{0051}', '\u{0052}', '\u{00B9}', '\u{00FB}', '\u{00FC}', '\u{00F9}', '\u{00FA}', '\u{00FF}', '\u{005C}',
    '\u{00F7}', '\u{0053}', '\u{0054}', '\u{0055}', '\u{0056}', '\u{0057}', '\u{0058}', '\u{0059}', '\u{005A}',
    '\u{00B2}', '\u{00D4}', '\u{00D6}', '\u{00D2}', '\u{00D3}', '\u{00D5}', '\u{0030}', '\u{0031}', '\u{0032}',
    '\u{0033}', '\u{0034}', '\u{0035}', '\u{0036}', '\u{0037}', '\u{0038}', '\u{0039}', '\u{00B3}', '\u{00DB}',
    '\u{00DC}', '\u{00D9}', '\u{00DA}', '\u{009F}',
];

/// EBCDIC 037 text read as UTF-8.
struct Cp037Reader<R> {
    inner: R,
    raw: Box<[u8]>,
    decoded: Vec<u8>,
    at: usize,
}

impl<R: Read> Read for Cp037Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.decoded.len() {
            let n = self.inner.read(&mut self.raw)?;
            self.decoded.clear();
            self.at = 0;
            let mut utf8 = [0; 4];
            for &b in &self.raw[..n] {
                self.decoded.extend_from_slice(CP037[usize::from(b)].encode_utf8(&mut utf8).as_bytes());
            }
        }
        let n = buf.len().min(self.decoded.len() - self.at);
        buf[..n].copy_from_slice(&self.decoded[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Records of a fixed number of bytes with no line break between them (a mainframe RECFM=F
/// dataset sent in binary), read as lines: a line feed goes between records.
pub struct RecordsAsLines<R> {
    inner: R,
    record_length: usize,
    line_feed: u8,
    /// Bytes of the current record still to pass on.
    left: usize,
    /// The first byte of the next record, read to learn that there is one before its line feed.
    peeked: Option<u8>,
}

impl<R: Read> RecordsAsLines<R> {
    pub fn new(inner: R, record_length: usize, line_feed: u8) -> Self {
        RecordsAsLines { inner, record_length, line_feed, left: record_length, peeked: None }
    }
}

impl<R: Read> Read for RecordsAsLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(byte) = self.peeked.take() {
            buf[0] = byte;
            self.left -= 1;
            return Ok(1);
        }
        if self.left == 0 {
            let mut next = [0];
            if self.inner.read(&mut next)? == 0 {
                return Ok(0);
            }
            self.peeked = Some(next[0]);
            self.left = self.record_length;
            buf[0] = self.line_feed;
            return Ok(1);
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n;
        Ok(n)
    }
}

pub struct Decoded<'a> {
    pub reader: Box<dyn BufRead + 'a>,
    /// The beginning of the text, for format detection.
    pub sample: String,
    pub encoding: &'static str,
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

/// The encoding an XML document names in its declaration (`<?xml version="1.0"
/// encoding="ISO-8859-1"?>`), when it is a known one. A declaration of UTF-16 in a file that
/// reached here without a BOM is not believed: the bytes are then ASCII-compatible.
fn xml_declared_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let declaration = head.strip_prefix(b"<?xml")?;
    let declaration = &declaration[..memchr::memmem::find(declaration, b"?>")?];
    let at = memchr::memmem::find(declaration, b"encoding")?;
    let rest = declaration[at + b"encoding".len()..].trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let label = &rest[..memchr::memchr(quote, rest)?];
    Encoding::for_label(label).filter(|e| e.is_ascii_compatible())
}

pub fn decode<'a>(
    file: &str,
    mut input: Box<dyn Read + 'a>,
    declared: Option<DeclaredEncoding>,
) -> Result<Decoded<'a>, EngineError> {
    let mut head = Vec::with_capacity(SAMPLE);
    (&mut input).take(SAMPLE as u64).read_to_end(&mut head)?;
    let declared = match declared {
        Some(DeclaredEncoding::Cp037) => {
            // EBCDIC has no byte order mark, and no detector tells it from binary.
            let sample = head.iter().map(|&b| CP037[usize::from(b)]).collect();
            let raw = vec![0; 1 << 16].into_boxed_slice();
            let decoder = Cp037Reader { inner: Cursor::new(head).chain(input), raw, decoded: Vec::new(), at: 0 };
            return Ok(Decoded {
                reader: Box::new(BufReader::with_capacity(1 << 16, decoder)),
                sample,
                encoding: "IBM037",
                encoding_decided_by: "declared",
                detected: None,
            });
        }
        Some(DeclaredEncoding::Whatwg(e)) => Some(e),
        None => None,
    };
    let (encoding, bom_len, encoding_decided_by, detected) = match (Encoding::for_bom(&head), declared) {
        (Some((e, n)), _) => (e, n, "BOM", None),
        (None, Some(e)) => (e, 0, "declared", None),
        (None, None) if let Some(e) = xml_declared_encoding(&head) => (e, 0, "XML declaration", None),
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
    Ok(Decoded { reader, sample, encoding: encoding.name(), encoding_decided_by, detected })
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
    /// The longest line read (`limits.max_record_bytes`).
    pub fn max(&self) -> usize {
        self.max
    }

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
        let mut d = decode("in.csv", Box::new(bytes), None).map_err(|e| e.to_string())?;
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        Ok((s, d.encoding, d.detected))
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
        let input: &[u8] = b"M\xFCller\n";
        let mut d =
            decode("in.csv", Box::new(input), Some(DeclaredEncoding::Whatwg(encoding_rs::WINDOWS_1252))).unwrap();
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), d.detected), ("Müller\n", None));
    }

    #[test]
    fn an_xml_declaration_names_the_encoding() {
        let (s, encoding, detected) =
            text(b"<?xml version='1.0' encoding = \"ISO-8859-1\"?>\n<r><n>M\xfcller</n></r>").unwrap();
        assert_eq!((encoding, detected), ("windows-1252", None));
        assert!(s.contains("Müller"), "{s}");
        assert_eq!(xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><r/>"), None);
        assert_eq!(xml_declared_encoding(b"<?xml version=\"1.0\"?><r encoding=\"latin1\"/>"), None);
    }

    /// `printf 'K\xf6ln 12\nM\xfcnchen\n' | iconv -t IBM037`, and NL (0x15) as z/OS ends lines.
    #[test]
    fn ebcdic_037_is_decoded_with_nl_as_a_line_end() {
        let input: &[u8] = b"\xd2\xcc\x93\x95\x40\xf1\xf2\x25\xd4\xdc\x95\x83\x88\x85\x95\x15";
        let label = DeclaredEncoding::for_label("IBM037");
        assert_eq!(label, Some(DeclaredEncoding::Cp037));
        let mut d = decode("in.txt", Box::new(input), label).unwrap();
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), d.sample.as_str(), d.encoding), ("Köln 12\nMünchen\n", "Köln 12\nMünchen\n", "IBM037"));
    }

    #[test]
    fn records_without_line_breaks_are_read_as_lines() {
        let mut s = String::new();
        RecordsAsLines::new(&b"AAAABBBBCC"[..], 4, b'\n').read_to_string(&mut s).unwrap();
        assert_eq!(s, "AAAA\nBBBB\nCC");
        s.clear();
        RecordsAsLines::new(&b"AAAABBBB"[..], 4, b'\n').read_to_string(&mut s).unwrap();
        assert_eq!(s, "AAAA\nBBBB", "no empty line after the last record");
    }

    #[test]
    fn the_first_bad_byte_is_located_in_characters() {
        assert_eq!(utf8_error_at("ab\nçd".as_bytes(), 1), None);
        assert_eq!(utf8_error_at(b"ab\n\xC3\xA7d\xFF", 7), Some((8, 3, 0xFF)));
    }
}
