//! Payload-level signs of attack in one web request: SQL injection, cross-site
//! scripting, path traversal, sensitive files, PHP stream wrappers, OS command
//! injection, Log4Shell, Shellshock, and the user agents of scanning tools. Each is a
//! named detection with its ATT&CK technique ([`RULES`]).
//!
//! Path and query are percent-decoded once (`+` is a space in the query), runs of
//! whitespace and inline SQL comments (`/**/`) become one space, and everything is
//! matched case-insensitively by a single Aho-Corasick automaton. A request that
//! matches nothing costs one pass per field and no allocation (fields longer than
//! 4 KiB that need decoding are the exception).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use std::sync::LazyLock;

/// One payload detection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PayloadRule {
    /// Stable id, `web.*`.
    pub id: &'static str,
    /// Short title for findings.
    pub title: &'static str,
    /// MITRE ATT&CK technique.
    pub technique: &'static str,
    /// Severity score of a single hit, 1.0–10.0.
    pub severity: f64,
}

/// Index of each rule in [`RULES`].
mod idx {
    pub const SQLI: u8 = 0;
    pub const XSS: u8 = 1;
    pub const TRAVERSAL: u8 = 2;
    pub const SENSITIVE_FILE: u8 = 3;
    pub const PHP_WRAPPER: u8 = 4;
    pub const CMD_INJECTION: u8 = 5;
    pub const LOG4SHELL: u8 = 6;
    pub const SHELLSHOCK: u8 = 7;
    pub const SCANNER_UA: u8 = 8;
}

/// Every payload detection, in index order (the bits of [`PayloadHits`]).
pub static RULES: [PayloadRule; 9] = [
    PayloadRule {
        id: "web.sqli",
        title: "SQL injection attempt",
        technique: "T1190",
        severity: 7.0,
    },
    PayloadRule {
        id: "web.xss",
        title: "Cross-site scripting attempt",
        technique: "T1059.007",
        severity: 6.0,
    },
    PayloadRule {
        id: "web.path_traversal",
        title: "Path traversal attempt",
        technique: "T1083",
        severity: 6.5,
    },
    PayloadRule {
        id: "web.sensitive_file",
        title: "Request for a credential or system file",
        technique: "T1552.001",
        severity: 6.0,
    },
    PayloadRule {
        id: "web.php_wrapper",
        title: "PHP stream wrapper in a request (file inclusion)",
        technique: "T1190",
        severity: 7.5,
    },
    PayloadRule {
        id: "web.cmd_injection",
        title: "OS command injection attempt",
        technique: "T1059.004",
        severity: 8.0,
    },
    PayloadRule {
        id: "web.log4shell",
        title: "Log4Shell JNDI lookup (CVE-2021-44228)",
        technique: "T1190",
        severity: 9.5,
    },
    PayloadRule {
        id: "web.shellshock",
        title: "Shellshock function definition (CVE-2014-6271)",
        technique: "T1190",
        severity: 9.0,
    },
    PayloadRule {
        id: "web.scanner_ua",
        title: "Vulnerability scanner user agent",
        technique: "T1595.002",
        severity: 5.0,
    },
];

/// The rules a request matched: a bitset over [`RULES`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PayloadHits(u16);

impl PayloadHits {
    /// Whether nothing matched.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of rules matched.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether rule `index` of [`RULES`] matched.
    pub fn contains(self, index: usize) -> bool {
        index < 16 && self.0 & (1 << index) != 0
    }

    /// Whether the rule with this id matched.
    pub fn contains_id(self, id: &str) -> bool {
        self.iter().any(|r| r.id == id)
    }

    /// The raw bits (bit i = `RULES[i]`).
    pub fn bits(self) -> u16 {
        self.0
    }

    /// Indices into [`RULES`] of the matched rules, in order.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        (0..RULES.len()).filter(move |&i| self.contains(i))
    }

    /// The matched rules, in order.
    pub fn iter(self) -> impl Iterator<Item = &'static PayloadRule> {
        self.indices().map(|i| &RULES[i])
    }

    /// The matched rule with the highest severity.
    pub fn strongest(self) -> Option<&'static PayloadRule> {
        self.iter().max_by(|a, b| a.severity.total_cmp(&b.severity))
    }

    /// Union of two hit sets.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    fn insert(&mut self, rule: u8) {
        self.0 |= 1 << rule;
    }
}

/// Where a pattern counts.
const IN_URL: u8 = 1;
const IN_UA: u8 = 2;
const ANYWHERE: u8 = IN_URL | IN_UA;

/// (pattern, rule, where). Patterns are lower case and see decoded, whitespace-
/// normalised text. They are chosen to need attack syntax around a keyword, so that
/// `/select-your-plan` or `?q=union+station` stay clean.
const PATTERNS: &[(&str, u8, u8)] = &[
    // SQL injection: set operators, tautologies, time/error-based probes, catalogs.
    ("union select", idx::SQLI, IN_URL),
    ("union all select", idx::SQLI, IN_URL),
    ("union distinct select", idx::SQLI, IN_URL),
    ("union(select", idx::SQLI, IN_URL),
    ("' or '1'='1", idx::SQLI, IN_URL),
    ("' or 1=1", idx::SQLI, IN_URL),
    ("\" or 1=1", idx::SQLI, IN_URL),
    ("' or ''='", idx::SQLI, IN_URL),
    (" or 1=1--", idx::SQLI, IN_URL),
    (" or 1=1#", idx::SQLI, IN_URL),
    (" and 1=1", idx::SQLI, IN_URL),
    (" and 1=2", idx::SQLI, IN_URL),
    ("' and '1'='1", idx::SQLI, IN_URL),
    ("'--", idx::SQLI, IN_URL),
    ("' --", idx::SQLI, IN_URL),
    ("sleep(", idx::SQLI, IN_URL),
    ("benchmark(", idx::SQLI, IN_URL),
    ("waitfor delay", idx::SQLI, IN_URL),
    ("information_schema", idx::SQLI, IN_URL),
    ("@@version", idx::SQLI, IN_URL),
    ("extractvalue(", idx::SQLI, IN_URL),
    ("updatexml(", idx::SQLI, IN_URL),
    ("load_file(", idx::SQLI, IN_URL),
    ("into outfile", idx::SQLI, IN_URL),
    ("into dumpfile", idx::SQLI, IN_URL),
    ("xp_cmdshell", idx::SQLI, IN_URL),
    ("concat(0x", idx::SQLI, IN_URL),
    ("order by 1--", idx::SQLI, IN_URL),
    ("; drop table", idx::SQLI, IN_URL),
    ("';drop table", idx::SQLI, IN_URL),
    // Cross-site scripting.
    ("<script", idx::XSS, IN_URL),
    ("</script", idx::XSS, IN_URL),
    ("%3cscript", idx::XSS, IN_URL),
    ("javascript:", idx::XSS, IN_URL),
    ("vbscript:", idx::XSS, IN_URL),
    ("onerror=", idx::XSS, IN_URL),
    ("onerror =", idx::XSS, IN_URL),
    ("onload=", idx::XSS, IN_URL),
    ("onmouseover=", idx::XSS, IN_URL),
    ("onfocus=", idx::XSS, IN_URL),
    ("ontoggle=", idx::XSS, IN_URL),
    ("<svg", idx::XSS, IN_URL),
    ("<iframe", idx::XSS, IN_URL),
    ("<img src", idx::XSS, IN_URL),
    ("<body onload", idx::XSS, IN_URL),
    ("document.cookie", idx::XSS, IN_URL),
    ("string.fromcharcode(", idx::XSS, IN_URL),
    // Path traversal, plain and with leftover (double) encodings.
    ("../", idx::TRAVERSAL, IN_URL),
    ("..\\", idx::TRAVERSAL, IN_URL),
    ("..%2f", idx::TRAVERSAL, IN_URL),
    ("..%5c", idx::TRAVERSAL, IN_URL),
    ("%2e%2e/", idx::TRAVERSAL, IN_URL),
    ("%2e%2e%2f", idx::TRAVERSAL, IN_URL),
    (".%2e/", idx::TRAVERSAL, IN_URL),
    ("%2e./", idx::TRAVERSAL, IN_URL),
    ("..%c0%af", idx::TRAVERSAL, IN_URL),
    ("..;/", idx::TRAVERSAL, IN_URL),
    // Credential and system files.
    ("/etc/passwd", idx::SENSITIVE_FILE, IN_URL),
    ("/etc/shadow", idx::SENSITIVE_FILE, IN_URL),
    ("/proc/self/environ", idx::SENSITIVE_FILE, IN_URL),
    ("/.env", idx::SENSITIVE_FILE, IN_URL),
    ("/.git/", idx::SENSITIVE_FILE, IN_URL),
    ("/.aws/credentials", idx::SENSITIVE_FILE, IN_URL),
    ("/.ssh/id_", idx::SENSITIVE_FILE, IN_URL),
    ("/.htpasswd", idx::SENSITIVE_FILE, IN_URL),
    ("wp-config.php", idx::SENSITIVE_FILE, IN_URL),
    ("win.ini", idx::SENSITIVE_FILE, IN_URL),
    ("boot.ini", idx::SENSITIVE_FILE, IN_URL),
    // PHP stream wrappers.
    ("php://", idx::PHP_WRAPPER, IN_URL),
    ("phar://", idx::PHP_WRAPPER, IN_URL),
    ("expect://", idx::PHP_WRAPPER, IN_URL),
    ("data://text", idx::PHP_WRAPPER, IN_URL),
    ("zip://", idx::PHP_WRAPPER, IN_URL),
    ("file:///", idx::PHP_WRAPPER, IN_URL),
    // OS command injection: a shell separator right before a command.
    (";wget ", idx::CMD_INJECTION, IN_URL),
    ("; wget ", idx::CMD_INJECTION, IN_URL),
    ("|wget ", idx::CMD_INJECTION, IN_URL),
    ("| wget ", idx::CMD_INJECTION, IN_URL),
    (";curl ", idx::CMD_INJECTION, IN_URL),
    ("; curl ", idx::CMD_INJECTION, IN_URL),
    ("|curl ", idx::CMD_INJECTION, IN_URL),
    ("| curl ", idx::CMD_INJECTION, IN_URL),
    ("$(wget", idx::CMD_INJECTION, IN_URL),
    ("$(curl", idx::CMD_INJECTION, IN_URL),
    ("`wget", idx::CMD_INJECTION, IN_URL),
    ("`curl", idx::CMD_INJECTION, IN_URL),
    (";id;", idx::CMD_INJECTION, IN_URL),
    ("$(id)", idx::CMD_INJECTION, IN_URL),
    ("`id`", idx::CMD_INJECTION, IN_URL),
    (";whoami", idx::CMD_INJECTION, IN_URL),
    ("; whoami", idx::CMD_INJECTION, IN_URL),
    ("|whoami", idx::CMD_INJECTION, IN_URL),
    ("| whoami", idx::CMD_INJECTION, IN_URL),
    ("&&whoami", idx::CMD_INJECTION, IN_URL),
    ("&& whoami", idx::CMD_INJECTION, IN_URL),
    (";uname -a", idx::CMD_INJECTION, IN_URL),
    ("; uname -a", idx::CMD_INJECTION, IN_URL),
    ("/bin/sh", idx::CMD_INJECTION, IN_URL),
    ("/bin/bash", idx::CMD_INJECTION, ANYWHERE),
    ("cmd.exe", idx::CMD_INJECTION, IN_URL),
    ("powershell.exe", idx::CMD_INJECTION, IN_URL),
    ("powershell -", idx::CMD_INJECTION, IN_URL),
    ("nc -e ", idx::CMD_INJECTION, IN_URL),
    // Log4Shell, with the common obfuscations of `jndi`.
    ("${jndi:", idx::LOG4SHELL, ANYWHERE),
    ("${${", idx::LOG4SHELL, ANYWHERE),
    ("${lower:", idx::LOG4SHELL, ANYWHERE),
    ("${upper:", idx::LOG4SHELL, ANYWHERE),
    ("${::-", idx::LOG4SHELL, ANYWHERE),
    ("${env:", idx::LOG4SHELL, ANYWHERE),
    ("%24%7bjndi", idx::LOG4SHELL, ANYWHERE),
    // Shellshock.
    ("() {", idx::SHELLSHOCK, ANYWHERE),
    ("(){ :", idx::SHELLSHOCK, ANYWHERE),
    // Scanning tools, by user agent only.
    ("sqlmap", idx::SCANNER_UA, IN_UA),
    ("nikto", idx::SCANNER_UA, IN_UA),
    ("nmap", idx::SCANNER_UA, IN_UA),
    ("masscan", idx::SCANNER_UA, IN_UA),
    ("zgrab", idx::SCANNER_UA, IN_UA),
    ("gobuster", idx::SCANNER_UA, IN_UA),
    ("dirbuster", idx::SCANNER_UA, IN_UA),
    ("feroxbuster", idx::SCANNER_UA, IN_UA),
    ("wpscan", idx::SCANNER_UA, IN_UA),
    ("nuclei", idx::SCANNER_UA, IN_UA),
    ("acunetix", idx::SCANNER_UA, IN_UA),
    ("netsparker", idx::SCANNER_UA, IN_UA),
    ("openvas", idx::SCANNER_UA, IN_UA),
    ("w3af", idx::SCANNER_UA, IN_UA),
    ("havij", idx::SCANNER_UA, IN_UA),
    ("commix", idx::SCANNER_UA, IN_UA),
    ("arachni", idx::SCANNER_UA, IN_UA),
    ("skipfish", idx::SCANNER_UA, IN_UA),
    ("wfuzz", idx::SCANNER_UA, IN_UA),
    ("fuzz faster u fool", idx::SCANNER_UA, IN_UA),
    ("jaeles", idx::SCANNER_UA, IN_UA),
    ("zmeu", idx::SCANNER_UA, IN_UA),
    ("hydra", idx::SCANNER_UA, IN_UA),
    ("morfeus", idx::SCANNER_UA, IN_UA),
];

static AUTOMATON: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(PATTERNS.iter().map(|(p, _, _)| p))
        .ok()
});

/// Inspects one request: `path` and `query` as logged (percent-encoded), the user
/// agent as logged.
pub fn inspect(path: &str, query: Option<&str>, user_agent: &str) -> PayloadHits {
    let mut hits = PayloadHits::default();
    let Some(ac) = AUTOMATON.as_ref() else {
        return hits;
    };
    scan_url(ac, path.as_bytes(), false, &mut hits);
    if path.ends_with("/..") {
        hits.insert(idx::TRAVERSAL);
    }
    if let Some(q) = query {
        scan_url(ac, q.as_bytes(), true, &mut hits);
    }
    scan(ac, user_agent.as_bytes(), IN_UA, &mut hits);
    hits
}

fn scan(ac: &AhoCorasick, text: &[u8], scope: u8, hits: &mut PayloadHits) {
    for m in ac.find_overlapping_iter(text) {
        let (_, rule, at) = PATTERNS[m.pattern().as_usize()];
        if at & scope != 0 {
            hits.insert(rule);
        }
    }
}

/// Decodes (when needed) and scans a path or query.
fn scan_url(ac: &AhoCorasick, raw: &[u8], plus_is_space: bool, hits: &mut PayloadHits) {
    let needs_work = raw.iter().any(|&c| {
        c == b'%' || (plus_is_space && c == b'+') || c.is_ascii_whitespace() || c == b'*'
    });
    if !needs_work {
        scan(ac, raw, IN_URL, hits);
        return;
    }
    let mut stack = [0u8; 4096];
    if raw.len() <= stack.len() {
        let n = normalise(raw, plus_is_space, &mut stack);
        scan(ac, &stack[..n], IN_URL, hits);
    } else {
        let mut heap = vec![0u8; raw.len()];
        let n = normalise(raw, plus_is_space, &mut heap);
        scan(ac, &heap[..n], IN_URL, hits);
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `raw` once into `out` (`+` as a space when asked), folding runs
/// of whitespace and closed `/*…*/` comments into one space. Decoding never
/// lengthens the text, so `out` needs `raw.len()` bytes. Returns the length written.
fn normalise(raw: &[u8], plus_is_space: bool, out: &mut [u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut in_comment = false;
    let mut prev_star = false;
    while i < raw.len() {
        let mut c = raw[i];
        i += 1;
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                raw.get(i).copied().and_then(hex),
                raw.get(i + 1).copied().and_then(hex),
            ) {
                c = (h << 4) | l;
                i += 2;
            }
        } else if c == b'+' && plus_is_space {
            c = b' ';
        }
        if in_comment {
            if c == b'/' && prev_star {
                in_comment = false;
                c = b' ';
            } else {
                prev_star = c == b'*';
                continue;
            }
        } else if c == b'*'
            && n > 0
            && out[n - 1] == b'/'
            && memchr::memmem::find(&raw[i..], b"*/").is_some()
        {
            // `/*` opening a comment that closes later: drop the `/` and skip to `*/`.
            n -= 1;
            in_comment = true;
            prev_star = false;
            continue;
        }
        if c.is_ascii_whitespace() {
            if n > 0 && out[n - 1] == b' ' {
                continue;
            }
            c = b' ';
        }
        out[n] = c;
        n += 1;
    }
    n
}
