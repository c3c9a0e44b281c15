//! The tantivy schema of a log window and the tokenizer of log lines.
//!
//! One document per log line:
//!
//! | field    | type                   | what                                                         |
//! |----------|------------------------|--------------------------------------------------------------|
//! | `ts`     | i64, fast              | timestamp in Unix nanoseconds; ordering and time pruning     |
//! | `stream` | bytes, indexed + fast  | the stream's label set ([`Labels::as_bytes`]); the term's ordinal is the stream id within a segment |
//! | `line`   | text, indexed + stored | the line, tokenised by [`TOKENIZER`] (doc ids only, no positions) |
//! | `meta`   | bytes, stored + fast   | structured metadata, when the entry has any (fast: counting reads it without stored lines) |
//! | `len`    | u64, fast              | the line's length in bytes, for statistics without reading lines |
//! | `batch`  | u64, indexed           | the commit the document was added in, so a torn commit can be rolled back |
//! | `seq`    | u64, fast              | insertion order within the window: ties in time keep it       |
//!
//! The line index records document ids only: a pre-filter needs "contains all these tokens", and
//! every candidate is checked exactly against the stored line afterwards, so positions (which
//! phrase queries need) would only cost space.
//!
//! Terms keep their case, and a token longer than [`MAX_TOKEN_BYTES`] is indexed as
//! [`LONG_TOKEN`] instead of itself. So for a needle that is one alphanumeric run (`error`), "some
//! term contains the needle" is exactly "the line contains it" — except on lines with the marker,
//! which are checked against their text. Counting such lines needs no stored line at all. Windows
//! written by older versions (another tokenizer, fewer fields, FST term dictionaries) are
//! rewritten in this schema when they are opened ([`crate::migrate`]).

use tantivy::Index;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use tsdb::Labels;

/// Name of the tokenizer registered for the `line` field.
pub const TOKENIZER: &str = "loupe_line_v3";

/// The term indexed in place of a token longer than [`MAX_TOKEN_BYTES`]. The tokenizer never
/// produces `_` itself, so no line token can collide with it.
pub const LONG_TOKEN: &str = "_long_";

/// Tokens longer than this many bytes are not indexed (hashes, base64 blobs).
pub const MAX_TOKEN_BYTES: usize = 64;

/// Tokens shorter than this many bytes are not indexed: they select almost every line (`1`, `00`,
/// `id`, the parts of timestamps and addresses) while they are a third of all tokens. Every
/// pre-filter works on runs of at least this length, so none of them needs a short token.
pub const MIN_TOKEN_BYTES: usize = 3;

/// The fields of a log window's schema.
#[derive(Debug, Clone)]
pub struct LogSchema {
    /// The schema itself.
    pub schema: Schema,
    /// Timestamp, Unix nanoseconds.
    pub ts: Field,
    /// Stream labels in [`Labels::as_bytes`] form.
    pub stream: Field,
    /// The log line.
    pub line: Field,
    /// Structured metadata, encoded by [`encode_metadata`].
    pub meta: Field,
    /// Line length in bytes.
    pub len: Field,
    /// Commit number the document was added under.
    pub batch: Field,
    /// The line tokenizer marks over-long tokens with [`LONG_TOKEN`] (false for legacy windows).
    pub marks_long_tokens: bool,
    /// Insertion order within the window (absent in legacy windows).
    pub seq: Option<Field>,
    /// `meta` is also a fast field, so counting can read metadata without stored lines.
    pub meta_fast: bool,
}

impl LogSchema {
    /// Builds the schema.
    pub fn new() -> LogSchema {
        let mut builder = Schema::builder();
        let ts = builder.add_i64_field("ts", FAST);
        let stream = builder.add_bytes_field("stream", INDEXED | FAST);
        let line_indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false);
        let line = builder.add_text_field(
            "line",
            TextOptions::default().set_indexing_options(line_indexing).set_stored(),
        );
        let meta = builder.add_bytes_field("meta", STORED | FAST);
        let len = builder.add_u64_field("len", FAST);
        let batch = builder.add_u64_field("batch", INDEXED);
        let seq = builder.add_u64_field("seq", FAST);
        LogSchema {
            schema: builder.build(),
            ts,
            stream,
            line,
            meta,
            len,
            batch,
            marks_long_tokens: true,
            seq: Some(seq),
            meta_fast: true,
        }
    }

    /// Whether the schema is the one [`LogSchema::new`] builds (older windows are rewritten).
    pub fn is_current(&self) -> bool {
        self.marks_long_tokens && self.seq.is_some() && self.meta_fast
    }

    /// Reads the fields of an existing index's schema, checking it is ours.
    pub fn from_index(index: &Index) -> Option<LogSchema> {
        let schema = index.schema();
        let field = |name: &str| schema.get_field(name).ok();
        let line = field("line")?;
        let marks_long_tokens = match schema.get_field_entry(line).field_type() {
            tantivy::schema::FieldType::Str(options) => options
                .get_indexing_options()
                .is_some_and(|i| i.tokenizer() == TOKENIZER),
            _ => false,
        };
        let meta = field("meta")?;
        let meta_fast = schema.get_field_entry(meta).is_fast();
        Some(LogSchema {
            seq: field("seq"),
            meta_fast,
            marks_long_tokens,
            ts: field("ts")?,
            stream: field("stream")?,
            line: field("line")?,
            meta: field("meta")?,
            len: field("len")?,
            batch: field("batch")?,
            schema,
        })
    }
}

impl Default for LogSchema {
    fn default() -> Self {
        LogSchema::new()
    }
}

/// The analyzer of log lines: split on anything that is not alphanumeric, keep the case, and
/// drop tokens under [`MIN_TOKEN_BYTES`] and index a token over [`MAX_TOKEN_BYTES`] as [`LONG_TOKEN`].
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(LineTokenizer::default()).build()
}

/// Registers the line tokenizer on an index (needed after every open).
pub fn register_tokenizer(index: &Index) {
    index.tokenizers().register(TOKENIZER, analyzer());
}

/// The alphanumeric runs of `text` with their byte offsets (the tokenizer's split, case kept).
fn runs(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((from, to)) = next_run(text, at) {
        out.push((from, to));
        at = to;
    }
    out
}

/// Whether the character starting at byte `i` of `text` is alphanumeric, and its length. ASCII
/// bytes are decided by a table lookup; others by [`char::is_alphanumeric`], as tantivy's
/// `SimpleTokenizer` does.
#[inline]
fn char_at(text: &str, i: usize) -> (bool, usize) {
    let b = text.as_bytes()[i];
    if b < 0x80 {
        return (b.is_ascii_alphanumeric(), 1);
    }
    match text[i..].chars().next() {
        Some(c) => (c.is_alphanumeric(), c.len_utf8()),
        None => (false, 1),
    }
}

/// The first maximal alphanumeric run of `text` at or after byte `at` (a character boundary), as
/// byte offsets.
fn next_run(text: &str, mut at: usize) -> Option<(usize, usize)> {
    while at < text.len() {
        let (alnum, len) = char_at(text, at);
        if alnum {
            break;
        }
        at += len;
    }
    if at >= text.len() {
        return None;
    }
    let from = at;
    while at < text.len() {
        let (alnum, len) = char_at(text, at);
        if !alnum {
            break;
        }
        at += len;
    }
    Some((from, at))
}

/// The line tokenizer: maximal alphanumeric runs (tantivy's `SimpleTokenizer` split, case kept),
/// runs under [`MIN_TOKEN_BYTES`] skipped without being copied, runs over [`MAX_TOKEN_BYTES`]
/// given as [`LONG_TOKEN`].
#[derive(Clone, Default)]
struct LineTokenizer {
    token: Token,
}

struct LineTokenStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
}

impl Tokenizer for LineTokenizer {
    type TokenStream<'a> = LineTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> LineTokenStream<'a> {
        self.token.reset();
        LineTokenStream {
            text,
            at: 0,
            token: &mut self.token,
        }
    }
}

impl TokenStream for LineTokenStream<'_> {
    fn advance(&mut self) -> bool {
        while let Some((from, to)) = next_run(self.text, self.at) {
            self.at = to;
            if to - from < MIN_TOKEN_BYTES {
                continue;
            }
            self.token.text.clear();
            self.token.text.push_str(if to - from > MAX_TOKEN_BYTES {
                LONG_TOKEN
            } else {
                &self.text[from..to]
            });
            self.token.offset_from = from;
            self.token.offset_to = to;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The substring a line containing `needle` is guaranteed to have inside one of its indexed
/// terms, for needles whose tokens are all cut by the needle's edges (`rror`, `timeout: con`):
/// the longest alphanumeric run of the needle, if at least 3 bytes. A line term that contains it
/// may have been too long to index, so callers also accept [`LONG_TOKEN`].
pub fn needle_substring(needle: &str) -> Option<String> {
    runs(needle)
        .into_iter()
        .map(|(from, to)| &needle[from..to])
        .filter(|run| run.len() >= MIN_TOKEN_BYTES)
        .fold(None, |best: Option<&str>, run| match best {
            Some(b) if b.len() >= run.len() => Some(b),
            _ => Some(run),
        })
        .map(str::to_string)
}

/// True when `needle` is a single alphanumeric run of 3 bytes or more: a line then contains it
/// exactly when one of the line's terms does (a term is a maximal alphanumeric run of the line),
/// unless the containing run was too long to index and became [`LONG_TOKEN`].
pub fn is_word(needle: &str) -> bool {
    needle.len() >= MIN_TOKEN_BYTES && runs(needle) == [(0, needle.len())]
}

/// The tokens that every line containing `needle` (as a case-sensitive substring) is guaranteed
/// to have as terms: the needle's alphanumeric runs bounded by a non-alphanumeric character on
/// both sides *within the needle*, case kept, [`MIN_TOKEN_BYTES`] to [`MAX_TOKEN_BYTES`] long. The first and
/// last runs may be parts of longer tokens of the line (`rror` in `error`) and are left out.
pub fn needle_tokens(needle: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for (from, to) in runs(needle) {
        let run = &needle[from..to];
        if from > 0
            && to < needle.len()
            && (MIN_TOKEN_BYTES..=MAX_TOKEN_BYTES).contains(&run.len())
            && !tokens.iter().any(|t| t == run)
        {
            tokens.push(run.to_string());
        }
    }
    tokens
}

/// Encodes structured metadata for the `meta` field: for each pair, name and value each as a
/// LEB128 length and UTF-8 bytes.
pub fn encode_metadata(pairs: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in pairs {
        put_uvarint(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        put_uvarint(&mut out, value.len() as u64);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Decodes [`encode_metadata`]'s output; `None` if it is malformed.
pub fn decode_metadata(mut bytes: &[u8]) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    while !bytes.is_empty() {
        let name = read_str(&mut bytes)?;
        let value = read_str(&mut bytes)?;
        pairs.push((name, value));
    }
    Some(pairs)
}

/// Appends `value` as an unsigned LEB128 varint.
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an unsigned LEB128 varint, advancing `bytes`.
pub(crate) fn read_uvarint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Reads a length-prefixed UTF-8 string.
pub(crate) fn read_str(bytes: &mut &[u8]) -> Option<String> {
    let len = usize::try_from(read_uvarint(bytes)?).ok()?;
    if len > bytes.len() {
        return None;
    }
    let (head, rest) = bytes.split_at(len);
    *bytes = rest;
    String::from_utf8(head.to_vec()).ok()
}

/// Decodes a `stream` term back into labels.
pub fn decode_stream(bytes: &[u8]) -> Option<Labels> {
    Labels::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_tokens_keep_only_bounded_tokens() {
        assert_eq!(needle_tokens("error"), Vec::<String>::new());
        assert_eq!(needle_tokens("level=error msg"), vec!["error".to_string()]);
        assert_eq!(
            needle_tokens("a3c1e6f2-1b2c-4d5e-8f90-123456789abc"),
            vec!["1b2c".to_string(), "4d5e".to_string(), "8f90".to_string()]
        );
        assert_eq!(needle_tokens(" GET /Api "), vec!["GET".to_string(), "Api".to_string()]);
        let long = format!(" {} ", "x".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(needle_tokens(&long), Vec::<String>::new());
        let max = format!(" {} ", "x".repeat(MAX_TOKEN_BYTES));
        assert_eq!(needle_tokens(&max), vec!["x".repeat(MAX_TOKEN_BYTES)]);
    }

    #[test]
    fn long_tokens_are_marked_and_substrings_chosen() {
        let mut analyzer = analyzer();
        let text = format!("fine {} done", "x".repeat(MAX_TOKEN_BYTES + 1));
        let mut stream = analyzer.token_stream(&text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        assert_eq!(tokens, ["fine", LONG_TOKEN, "done"]);
        assert_eq!(needle_substring("Error"), Some("Error".to_string()));
        assert_eq!(needle_substring("rror: connection ref"), Some("connection".to_string()));
        assert_eq!(needle_substring("ab"), None);
        assert_eq!(needle_substring("Überraschung"), Some("Überraschung".to_string()));
        assert!(is_word("error"));
        assert!(is_word("Über"));
        assert!(!is_word("er"));
        assert!(!is_word("level=error"));
        assert!(!is_word(" error"));
    }

    /// tantivy's `SimpleTokenizer` runs, with the same length rules as the line tokenizer.
    fn simple_tokens(text: &str) -> Vec<(usize, usize, String)> {
        use tantivy::tokenizer::SimpleTokenizer;
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default()).build();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            let len = t.text.len();
            if len >= MIN_TOKEN_BYTES {
                let text = if len > MAX_TOKEN_BYTES {
                    LONG_TOKEN.to_string()
                } else {
                    t.text.clone()
                };
                out.push((t.offset_from, t.offset_to, text));
            }
        }
        out
    }

    fn line_tokens(text: &str) -> Vec<(usize, usize, String)> {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.offset_from, t.offset_to, t.text.clone()));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn the_line_tokenizer_splits_as_simple_tokenizer(
            text in "([a-zA-Z0-9 ._:=/-]|\\PC|[\u{80}-\u{7ff}]){0,120}",
            long in 0usize..3,
        ) {
            let text = format!("{text} {}", "z".repeat(long * 40));
            proptest::prop_assert_eq!(line_tokens(&text), simple_tokens(&text));
        }
    }

    #[test]
    fn analyzer_keeps_case_and_splits() {
        let mut analyzer = analyzer();
        let mut stream = analyzer.token_stream("GET /api/v1?x=Über-7");
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        // Tokens under 3 bytes are dropped ("Ü" is 2 bytes, "Üb" 3).
        assert_eq!(tokens, ["GET", "api", "Über"]);
        drop(stream);
        let mut stream = analyzer.token_stream("Üb 12 123 é");
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        assert_eq!(tokens, ["Üb", "123"]);
        assert_eq!(needle_tokens(" 12 123 id="), vec!["123".to_string()]);
    }

    #[test]
    fn metadata_round_trips_and_rejects_garbage() {
        let pairs = vec![
            ("trace_id".to_string(), "abc".to_string()),
            ("k".to_string(), String::new()),
        ];
        assert_eq!(decode_metadata(&encode_metadata(&pairs)), Some(pairs));
        assert_eq!(decode_metadata(&[5, b'a']), None);
        assert_eq!(decode_metadata(&[1, 0xff, 0]), None);
        assert_eq!(decode_metadata(&[0xff; 11]), None);
    }

    #[test]
    fn schema_fields_are_found_again() {
        let index = Index::create_in_ram(LogSchema::new().schema);
        let fields = LogSchema::from_index(&index).map(|s| (s.ts, s.batch));
        assert!(fields.is_some());
    }
}
