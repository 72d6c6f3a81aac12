//! Every relative link and `#anchor` in README.md and docs/**/*.md resolves: the
//! target file (or directory) exists, and an anchor matches a heading of the target
//! file under GitHub's slug rules. Links inside code (fenced blocks, inline code
//! spans) and absolute links (`http:`, `https:`, `mailto:`) are not checked.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// README.md and every `.md` file under docs/, sorted.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    let root = root();
    let mut files = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut files);
    files.sort();
    files
}

/// The lines of a document outside fenced code blocks, with their numbers (1-based).
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let run = |c: char| t.chars().take_while(|&x| x == c).count();
        let opener = ['`', '~'].into_iter().find(|&c| run(c) >= 3);
        match (fence, opener) {
            (None, Some(c)) => fence = Some((c, run(c))),
            (Some((c, n)), Some(o)) if o == c && run(c) >= n && t[run(c)..].trim().is_empty() => {
                fence = None
            }
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `line` without its inline code spans (`` `…` ``, ``` ``…`` ```).
fn strip_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let n = b[i..].iter().take_while(|&&c| c == b'`').count();
            let ticks = &line[i..i + n];
            if let Some(end) = line[i + n..].find(ticks) {
                i += n + end + n;
                out.push(' ');
                continue;
            }
            out.push_str(ticks);
            i += n;
            continue;
        }
        let ch = line[i..].chars().next().expect("char");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Link targets of one line of prose: inline links and images `[text](target)`
/// and reference definitions `[label]: target`.
fn link_targets(line: &str) -> Vec<String> {
    let line = strip_code_spans(line);
    let mut out = Vec::new();
    let t = line.trim_start();
    if t.starts_with('[') {
        if let Some(close) = t.find("]:") {
            if !t[1..close].contains('[') {
                if let Some(target) = t[close + 2..].split_whitespace().next() {
                    out.push(target.trim_matches(['<', '>']).to_string());
                }
                return out;
            }
        }
    }
    let mut rest = line.as_str();
    while let Some(p) = rest.find("](") {
        let after = &rest[p + 2..];
        // The target runs to the matching `)` (balanced parentheses, as CommonMark).
        let mut depth = 0usize;
        let mut end = None;
        for (j, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(j);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let inner = after[..end].trim();
        // `[text](target "title")`, `[text](<target with spaces>)`
        let target = match inner.strip_prefix('<') {
            Some(t) => t.split('>').next().unwrap_or(""),
            None => inner.split_whitespace().next().unwrap_or(""),
        };
        out.push(target.to_string());
        rest = &after[end + 1..];
    }
    out
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other
/// than `-` and `_` removed (letters and digits of any script stay).
fn slug(heading: &str) -> String {
    // Rendered text: a link in a heading keeps its text.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(p) = rest.find("](") {
        text.push_str(&rest[..p]);
        match rest[p..].find(')') {
            Some(e) => rest = &rest[p + e + 1..],
            None => {
                rest = &rest[p..];
                break;
            }
        }
    }
    text.push_str(rest);
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a document: its headings' slugs, the repeats numbered `-1`, `-2`…
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, line) in prose_lines(text) {
        let t = line.trim_start();
        let level = t.chars().take_while(|&c| c == '#').count();
        if level == 0 || level > 6 || line.len() - t.len() > 3 {
            continue;
        }
        let body = &t[level..];
        if !(body.is_empty() || body.starts_with(' ')) {
            continue;
        }
        // A closing run of `#` is not part of the heading.
        let body = body.trim().trim_end_matches('#').trim_end();
        let base = slug(body);
        let n = seen.entry(base.clone()).or_insert(0);
        out.push(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Problems with the links of every document, one line each.
fn broken_links() -> Vec<String> {
    let root = root();
    let mut cache: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut anchors_of = |p: &Path| -> Option<Vec<String>> {
        if let Some(a) = cache.get(p) {
            return Some(a.clone());
        }
        let text = std::fs::read_to_string(p).ok()?;
        let a = anchors(&text);
        cache.insert(p.to_path_buf(), a.clone());
        Some(a)
    };
    let mut problems = Vec::new();
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("read markdown");
        let name = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                let lower = target.to_ascii_lowercase();
                if target.is_empty()
                    || lower.starts_with("http://")
                    || lower.starts_with("https://")
                    || lower.starts_with("mailto:")
                {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let path = percent_decode(path);
                let dest = if path.is_empty() {
                    file.clone()
                } else if let Some(abs) = path.strip_prefix('/') {
                    root.join(abs)
                } else {
                    file.parent().expect("dir").join(&path)
                };
                if !dest.exists() {
                    problems.push(format!("{name}:{n}: {target}: {} does not exist", path));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                if dest.extension().is_none_or(|x| x != "md") {
                    continue;
                }
                let known = anchors_of(&dest).unwrap_or_default();
                let anchor = percent_decode(anchor).to_lowercase();
                if !known.contains(&anchor) {
                    problems.push(format!(
                        "{name}:{n}: {target}: no heading of {} has the anchor #{anchor}",
                        dest.strip_prefix(&root).unwrap_or(&dest).display()
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_and_anchor_in_readme_and_docs_resolves() {
    let problems = broken_links();
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn readme_and_docs_are_found() {
    let files = markdown_files();
    assert!(files.iter().any(|f| f.ends_with("README.md")));
    assert!(
        files.iter().any(|f| f.ends_with("docs/cli.md")),
        "{files:?}"
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Output: the finding"), "output-the-finding");
    assert_eq!(slug("`trailhound simulate`"), "trailhound-simulate");
    assert_eq!(
        slug("Flow and access logs (`--source vpcflow` and `--source access-log`)"),
        "flow-and-access-logs---source-vpcflow-and---source-access-log"
    );
    assert_eq!(
        slug("CloudTrail feature schema (`cloudtrail-v1`)"),
        "cloudtrail-feature-schema-cloudtrail-v1"
    );
    assert_eq!(
        slug("How events are scored — the steps"),
        "how-events-are-scored--the-steps"
    );
    assert_eq!(slug("snake_case & more"), "snake_case--more");
    assert_eq!(slug("See [the guide](x.md)"), "see-the-guide");
    assert_eq!(
        anchors("# A\n\n## Notes\n```\n## Not a heading\n```\n### Notes\n#### Notes ##\n#no\n"),
        ["a", "notes", "notes-1", "notes-2"]
    );
}

#[test]
fn the_scanner_finds_links_and_skips_code() {
    assert_eq!(
        link_targets(
            "see [a](docs/a.md#x) and [b](<b c.md>) and `[c](nope.md)` ![i](img.png \"t\")"
        ),
        ["docs/a.md#x", "b c.md", "img.png"]
    );
    assert_eq!(link_targets("[ref]: docs/x.md#y"), ["docs/x.md#y"]);
    assert_eq!(
        link_targets("[w](https://example.com/(x))"),
        ["https://example.com/(x)"]
    );
    assert_eq!(
        prose_lines("a\n```sh\n[x](y.md)\n```\nb\n~~~\n```\n~~~\nc"),
        [(1, "a"), (5, "b"), (9, "c")]
    );
}
