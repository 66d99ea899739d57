//! The one way meshsim reads a file it did not write in this run (worlds, replay CSVs, command
//! logs, sweep and search specs, journals, manifests): through a reader that stops at a size
//! limit whatever the file's metadata says (`/dev/zero`, a FIFO or a growing file report a size of
//! 0), and, for text, with a UTF-8 byte-order mark accepted and invalid UTF-8 located.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The operating system refused.
    #[error("{path}: cannot read")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// More bytes than a file of its kind may hold.
    #[error("{path}: over the limit of {limit} bytes for {what}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: u64,
        /// What kind of file it was read as.
        what: &'static str,
    },
    /// Not UTF-8 text.
    #[error("{path}:{line}:{col}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first bad byte.
        line: usize,
        /// 1-based column (in characters) of the first bad byte.
        col: usize,
        /// The byte.
        byte: u8,
    },
}

/// A reader that fails with [`LimitExceeded`] (as an `io::Error` of kind `FileTooLarge`) once more
/// than its limit has been read.
#[derive(Debug)]
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

/// The error payload of a [`Bounded`] reader past its limit.
#[derive(Debug, thiserror::Error)]
#[error("over the limit of {0} bytes")]
pub struct LimitExceeded(pub u64);

impl<R: Read> Bounded<R> {
    /// Wraps `inner`, allowing at most `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded { inner, left: limit, limit }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // read one byte past the limit so that a file of exactly `limit` bytes passes
        let want = buf.len().min(usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, LimitExceeded(self.limit)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether `e` is (or wraps) a [`Bounded`] reader's limit.
pub fn is_limit(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LimitExceeded>())
}

/// `e` and its sources on one line, `: `-separated, for errors that end up as text.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// Opens `path` for streaming through a [`Bounded`] reader.
pub fn open(path: &Path, limit: u64) -> Result<Bounded<File>, InputError> {
    let file = File::open(path).map_err(|source| InputError::Io { path: path.to_path_buf(), source })?;
    Ok(Bounded::new(file, limit))
}

/// Reads all of `path`, at most `limit` bytes; `what` names the kind of file in the error.
pub fn read_bytes(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    open(path, limit)?.read_to_end(&mut bytes).map_err(|source| {
        if is_limit(&source) {
            InputError::TooLarge { path: path.to_path_buf(), limit, what }
        } else {
            InputError::Io { path: path.to_path_buf(), source }
        }
    })?;
    Ok(bytes)
}

/// Reads `path` as UTF-8 text of at most `limit` bytes, without a leading byte-order mark.
pub fn read_text(path: &Path, limit: u64, what: &'static str) -> Result<String, InputError> {
    text(read_bytes(path, limit, what)?, path)
}

/// `bytes` as text: a leading UTF-8 byte-order mark dropped, the first invalid byte located.
pub fn text(mut bytes: Vec<u8>, path: &Path) -> Result<String, InputError> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // the prefix is valid UTF-8 by definition
        let before = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        InputError::NotUtf8 { path: path.to_path_buf(), line, col, byte: bytes[at] }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_reader_stops_at_its_limit_whatever_the_source() {
        // an endless source, like /dev/zero
        let mut r = Bounded::new(io::repeat(0), 1000);
        let mut sink = Vec::new();
        let err = r.read_to_end(&mut sink).unwrap_err();
        assert!(is_limit(&err));
        assert!(sink.len() <= 1001, "read {} bytes", sink.len());
        // exactly the limit passes
        let mut r = Bounded::new(&[7u8; 1000][..], 1000);
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).unwrap();
        assert_eq!(sink.len(), 1000);
    }

    #[cfg(unix)]
    #[test]
    fn dev_zero_is_refused_as_too_large() {
        let err = read_text(Path::new("/dev/zero"), 4096, "a world file").unwrap_err();
        assert!(matches!(err, InputError::TooLarge { limit: 4096, .. }), "{err}");
    }

    #[test]
    fn a_bom_is_dropped_and_bad_utf8_is_located() {
        let p = Path::new("w.ron");
        assert_eq!(text(b"\xEF\xBB\xBFWorld(".to_vec(), p).unwrap(), "World(");
        let err = text(b"a\nbc\xFFd".to_vec(), p).unwrap_err();
        match err {
            InputError::NotUtf8 { line, col, byte, .. } => assert_eq!((line, col, byte), (2, 3, 0xFF)),
            other => panic!("{other}"),
        }
    }
}
