//! The definition size limit: counting the bytes of a definition's JSON text and the diagnostic for one
//! over AWS's limit. Both the validator (for hand-written ASL) and the compiler (for the compiled
//! document) check it, so it sits below both rather than in either.

use serde_json::Value;

use super::diagnostic::{Code, Diagnostic};

/// Largest definition AWS accepts, in bytes of JSON.
pub const MAX_DEFINITION_BYTES: usize = 1024 * 1024;

/// Bytes of the compact JSON text of `v`, counted without building the text.
pub fn json_size(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// The size-limit diagnostic for a definition serialised to `bytes` bytes, if over the limit.
pub fn check_size(bytes: usize) -> Option<Diagnostic> {
    (bytes > MAX_DEFINITION_BYTES).then(|| {
        Diagnostic::new(
            "",
            None,
            None,
            format!(
                "the definition is {bytes} bytes; AWS accepts at most {MAX_DEFINITION_BYTES} bytes (1 MiB)"
            ),
        )
        .with_code(Code::DefinitionTooLarge)
    })
}
