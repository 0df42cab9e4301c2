//! Turning raw content bytes into UTF-8 text: BOM sniffing, explicit encodings, and a fallback to
//! Windows-1252 for legacy exports that are not valid UTF-8.

use std::io::{self, BufRead, BufReader, Cursor, Read};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

const SAMPLE: usize = 64 * 1024;

pub struct Decoded<'a> {
    pub reader: Box<dyn BufRead + 'a>,
    /// The beginning of the text, for format detection.
    pub sample: String,
    pub encoding: &'static Encoding,
}

fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        // A sample may end inside a multi-byte character.
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

pub fn decode<'a>(input: &'a mut dyn Read, encoding: Option<&'static Encoding>) -> io::Result<Decoded<'a>> {
    let mut head = Vec::with_capacity(SAMPLE);
    (&mut *input).take(SAMPLE as u64).read_to_end(&mut head)?;
    let (bom, bom_len) = match Encoding::for_bom(&head) {
        Some((e, n)) => (Some(e), n),
        None => (None, 0),
    };
    let encoding = bom
        .or(encoding)
        .unwrap_or_else(|| if is_utf8_prefix(&head) { encoding_rs::UTF_8 } else { encoding_rs::WINDOWS_1252 });
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
    Ok(Decoded { reader, sample, encoding })
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

    fn text(bytes: &[u8]) -> (String, &'static str) {
        let mut input = bytes;
        let mut d = decode(&mut input, None).unwrap();
        let mut s = String::new();
        d.reader.read_to_string(&mut s).unwrap();
        (s, d.encoding.name())
    }

    #[test]
    fn utf8_bom_latin1_and_utf16() {
        assert_eq!(text(b"\xEF\xBB\xBFa;b\n"), ("a;b\n".into(), "UTF-8"));
        assert_eq!(text(b"M\xFCller\n"), ("Müller\n".into(), "windows-1252"));
        assert_eq!(text(b"\xFF\xFEa\x00\n\x00"), ("a\n".into(), "UTF-16LE"));
    }
}
