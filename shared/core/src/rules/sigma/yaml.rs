//! Bounds on the YAML documents trailhound reads (Sigma rule files, suppression
//! files), checked before the text reaches `serde_norway`.
//!
//! Why: the YAML parser under `serde_norway` takes time quadratic in the nesting
//! depth (100,000 `[` took 28 s), and `serde_norway` expands aliases by copying the
//! anchored node each time, so a small file of aliases to aliases (or to one long
//! string) becomes gigabytes. [`check`] is one linear pass over the text that
//! refuses a document larger than [`MAX_YAML_BYTES`], nested deeper than
//! [`MAX_YAML_DEPTH`], or using an alias (`*name`): rule and suppression files have
//! no need for them, and refusing them is simpler to trust than bounding their
//! expansion.
//!
//! The depth counted is an estimate that errs high: one level per indentation
//! level of the block structure, one per `- `, `? ` and `key:` indicator on a line
//! (compact nesting such as `- - - x`), and one per open `[` or `{`. Quoted
//! scalars, block scalars (`|`, `>`), continuation lines of plain scalars and
//! comments are skipped, so `*` or `[` inside text never count.

/// Largest YAML document accepted, in bytes (1 MiB: the largest SigmaHQ rule
/// files are tens of kilobytes).
pub const MAX_YAML_BYTES: usize = 1 << 20;

/// Deepest nesting accepted (a Sigma rule nests about 6 levels; `serde_norway`
/// itself stops at 128).
pub const MAX_YAML_DEPTH: usize = 64;

/// Why a YAML text was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlLimitError {
    /// The text is larger than [`MAX_YAML_BYTES`].
    #[error("the document is {bytes} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the text.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The document nests deeper than [`MAX_YAML_DEPTH`].
    #[error("line {line}: the document nests deeper than {max} levels")]
    TooDeep {
        /// 1-based line where the limit was passed.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// The document uses an alias.
    #[error("line {line}: YAML aliases (`*name`) are not accepted")]
    Alias {
        /// 1-based line of the alias.
        line: usize,
    },
}

/// Checks size, nesting depth and aliases of a YAML text in one linear pass.
pub fn check(text: &str) -> Result<(), YamlLimitError> {
    if text.len() > MAX_YAML_BYTES {
        return Err(YamlLimitError::TooLarge {
            bytes: text.len(),
            max: MAX_YAML_BYTES,
        });
    }
    let mut scan = Scan::default();
    for (i, line) in text.lines().enumerate() {
        scan.line(line.as_bytes(), i + 1)?;
    }
    Ok(())
}

/// Reads a UTF-8 file of at most [`MAX_YAML_BYTES`]; a larger file is an error
/// after reading one byte more than the limit, not the whole file.
pub fn read_capped(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_YAML_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_YAML_BYTES {
        return Err(std::io::Error::other(format!(
            "the file is larger than the {MAX_YAML_BYTES} bytes accepted"
        )));
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[derive(Default)]
struct Scan {
    /// Open `[`/`{`.
    flow: usize,
    /// Inside a quoted scalar that spans lines (`"` or `'`).
    quote: Option<u8>,
    /// Columns of the open block levels.
    indents: Vec<usize>,
    /// Lines indented deeper than this are text (block scalar or continuation).
    text_deeper_than: Option<usize>,
}

fn indent_of(l: &[u8]) -> usize {
    l.iter().take_while(|&&b| b == b' ').count()
}

fn blank(l: &[u8]) -> bool {
    l.iter().all(|b| b.is_ascii_whitespace())
}

impl Scan {
    fn too_deep(&self, inline: usize, line: usize) -> Result<(), YamlLimitError> {
        if self.indents.len() + inline + self.flow > MAX_YAML_DEPTH {
            return Err(YamlLimitError::TooDeep {
                line,
                max: MAX_YAML_DEPTH,
            });
        }
        Ok(())
    }

    fn line(&mut self, l: &[u8], n: usize) -> Result<(), YamlLimitError> {
        let mut at = 0;
        let mut node_start = true;
        // The rest of a quoted scalar that began on an earlier line.
        if let Some(q) = self.quote {
            match close_quote(l, 0, q) {
                Some(end) => {
                    self.quote = None;
                    at = end;
                    node_start = false;
                }
                None => return Ok(()),
            }
        } else {
            if let Some(parent) = self.text_deeper_than {
                if blank(l) || indent_of(l) > parent {
                    return Ok(());
                }
                self.text_deeper_than = None;
            }
            let indent = indent_of(l);
            let rest = &l[indent..];
            if rest.is_empty() || rest[0] == b'#' || blank(rest) {
                return Ok(());
            }
            if indent == 0 && (rest.starts_with(b"---") || rest.starts_with(b"...")) {
                self.indents.clear();
                self.flow = 0;
                at = 3;
            } else if self.flow == 0 {
                while self.indents.last().is_some_and(|&c| c > indent) {
                    self.indents.pop();
                }
                if self.indents.last() != Some(&indent) {
                    self.indents.push(indent);
                }
                self.too_deep(0, n)?;
                at = indent;
            }
        }
        self.rest_of_line(l, at, node_start, n)
    }

    fn rest_of_line(
        &mut self,
        l: &[u8],
        mut at: usize,
        mut node_start: bool,
        n: usize,
    ) -> Result<(), YamlLimitError> {
        let line_indent = indent_of(l);
        let mut inline = 0;
        let mut ended_in_scalar = false;
        let sep = |i: usize| l.get(i).is_none_or(|b| b.is_ascii_whitespace());
        while at < l.len() {
            let b = l[at];
            if b == b' ' || b == b'\t' {
                at += 1;
                continue;
            }
            if b == b'#' && (at == 0 || l[at - 1].is_ascii_whitespace()) {
                break;
            }
            if node_start {
                match b {
                    b'"' | b'\'' => {
                        match close_quote(l, at + 1, b) {
                            Some(end) => at = end,
                            None => {
                                self.quote = Some(b);
                                return Ok(());
                            }
                        }
                        node_start = false;
                        ended_in_scalar = true;
                        continue;
                    }
                    b'*' => return Err(YamlLimitError::Alias { line: n }),
                    b'&' | b'!' => {
                        while at < l.len() && !l[at].is_ascii_whitespace() {
                            at += 1;
                        }
                        continue;
                    }
                    b'[' | b'{' => {
                        self.flow += 1;
                        self.too_deep(inline, n)?;
                        at += 1;
                        continue;
                    }
                    b'|' | b'>' if self.flow == 0 => {
                        self.text_deeper_than = Some(line_indent);
                        return Ok(());
                    }
                    b'-' | b'?' | b':' if self.flow == 0 && sep(at + 1) => {
                        inline += 1;
                        self.too_deep(inline, n)?;
                        at += 1;
                        continue;
                    }
                    _ => {
                        node_start = false;
                        ended_in_scalar = true;
                        at += 1;
                        continue;
                    }
                }
            }
            let flow_end = |i: usize| matches!(l.get(i), Some(b',' | b'[' | b']' | b'{' | b'}'));
            match b {
                b':' if sep(at + 1) || (self.flow > 0 && flow_end(at + 1)) => {
                    if self.flow == 0 {
                        inline += 1;
                        self.too_deep(inline, n)?;
                    }
                    node_start = true;
                    ended_in_scalar = false;
                }
                b',' | b'[' | b'{' if self.flow > 0 => {
                    if b != b',' {
                        self.flow += 1;
                        self.too_deep(inline, n)?;
                    }
                    node_start = true;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    ended_in_scalar = true;
                }
                _ => {}
            }
            at += 1;
        }
        if self.flow == 0 && ended_in_scalar {
            // Deeper lines continue the plain scalar (or are errors): text either way.
            self.text_deeper_than = Some(line_indent);
        }
        Ok(())
    }
}

/// The position after the quote that closes a scalar opened with `q`, if it closes
/// on this line (`''` escapes `'`; `\` escapes in `"`).
fn close_quote(l: &[u8], mut at: usize, q: u8) -> Option<usize> {
    while at < l.len() {
        match l[at] {
            b'\\' if q == b'"' => at += 2,
            b'\'' if q == b'\'' && l.get(at + 1) == Some(&b'\'') => at += 2,
            c if c == q => return Some(at + 1),
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass() {
        let docs = [
            "title: a\ndetection:\n  selection:\n    eventName:\n      - StopLogging\n      - 'Delete*'\n  condition: selection\n",
            "description: |\n  * not an alias\n  [ not a flow\nlevel: high\n",
            "description: a long\n  *plain* scalar [continued\ntags: [attack.t1562, 'x*']\n",
            "a: \"quoted *star and [bracket\n  over two lines\"\nb: 'it''s'\n",
            "k: v # *comment [\n--- \nsecond: doc\n",
            "re: ^arn:aws:iam::\\d{12}:role/[a-z]+$\nurl: http://x/*\n",
            "- - - x\n- {a: [1, 2], b: {c: d}}\n",
            "anchor: &a value\nlist:\n  - &b\n    k: v\n",
        ];
        for d in docs {
            assert_eq!(check(d), Ok(()), "{d}");
        }
    }

    #[test]
    fn deep_flow_block_and_compact_nesting_are_refused_with_the_line() {
        let flow = "[".repeat(100_000);
        let map = "{".repeat(100_000);
        let compact = "- ".repeat(100_000);
        let mut block = String::new();
        for i in 0..200 {
            block.push_str(&format!("{}k{i}:\n", " ".repeat(i)));
        }
        let on_line_two = format!("a: b\nc: {}", "[".repeat(70));
        for (name, text, line) in [
            ("flow", flow.as_str(), 1),
            ("map", map.as_str(), 1),
            ("compact", compact.as_str(), 1),
            ("block", block.as_str(), MAX_YAML_DEPTH),
            ("line two", on_line_two.as_str(), 2),
        ] {
            assert_eq!(
                check(text),
                Err(YamlLimitError::TooDeep {
                    line,
                    max: MAX_YAML_DEPTH
                }),
                "{name}"
            );
        }
        // Just under the limit passes.
        let n = MAX_YAML_DEPTH - 1;
        let ok = format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn aliases_and_oversized_documents_are_refused() {
        let cases = [
            ("a: &a [1, 2]\nb: *a\n", 2),
            ("a: &a x\nb: [*a, *a]\n", 2),
            ("a: &a x\nb:\n  - *a\n", 3),
            ("a: &a x\n? *a\n: y\n", 2),
            ("a: &a x\nb: {k: *a}\n", 2),
        ];
        for (text, line) in cases {
            assert_eq!(check(text), Err(YamlLimitError::Alias { line }), "{text}");
        }
        let big = "#".repeat(MAX_YAML_BYTES + 1);
        assert!(matches!(check(&big), Err(YamlLimitError::TooLarge { .. })));
    }
}
