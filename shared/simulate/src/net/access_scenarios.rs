//! Scenario scripts for web access logs: attacks (HTTP flood, login brute force,
//! credential stuffing, SQL injection, XSS probes, path traversal, scanners) and
//! hard negatives (a load test, the load balancer's health checks, search-engine
//! crawlers).

use super::NetScenario;
use super::access::Hit;
use super::ip::{in_prefix, public_v4};
use super::line::{Sink, jitter};
use super::site::{BROWSERS, CATEGORIES, HOST, Site};
use crate::ids::SimRng;
use crate::timefmt::{DAY, weekday};
use rand::Rng;

const SQLI: [&str; 16] = [
    "1'%20OR%20'1'='1",
    "1%27%20OR%201%3D1--%20-",
    "1%20UNION%20SELECT%20NULL,NULL,NULL--",
    "1'%20AND%20SLEEP(5)--%20-",
    "1);%20DROP%20TABLE%20users;--",
    "'%20OR%20''='",
    "1%20AND%201=CONVERT(int,(SELECT%20@@version))--",
    "1'%20UNION%20SELECT%20username,password%20FROM%20users--%20-",
    "admin'--",
    "1%20ORDER%20BY%2010--",
    "-1'%20UNION%20ALL%20SELECT%20table_name,NULL%20FROM%20information_schema.tables--+",
    "1%27%20AND%20extractvalue(1,concat(0x7e,version()))--+",
    "1%20AND%20(SELECT%201%20FROM%20pg_sleep(5))--",
    "1'%20AND%20benchmark(10000000,md5(1))--%20-",
    "1%22%20OR%20%221%22=%221",
    "%27;WAITFOR%20DELAY%20'0:0:5'--",
];

const XSS: [&str; 12] = [
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<script>alert(document.cookie)</script>",
    "%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "javascript:alert(1)",
    "%3Csvg/onload%3Dalert(1)%3E",
    "'-alert(1)-'",
    "%3Ciframe%20src%3Djavascript:alert(1)%3E",
    "%3Cbody%20onload%3Dalert('XSS')%3E",
    "\"><script>alert(String.fromCharCode(88,83,83))</script>",
    "%3Cdetails%20open%20ontoggle%3Dalert(1)%3E",
    "%253Cscript%253Ealert(1)%253C%252Fscript%253E",
    "<img/src/onerror=prompt(8)>",
];

const TRAVERSAL: [&str; 12] = [
    "/static/../../../../etc/passwd",
    "/images/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/download?file=../../../../etc/passwd",
    "/api/v1/files?path=..%2F..%2F..%2Fetc%2Fshadow",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%252f..%252f..%252fetc/passwd",
    "/static/..%5c..%5c..%5cwindows%5cwin.ini",
    "/.%2e/.%2e/.%2e/proc/self/environ",
    "/api/v1/export?file=....//....//....//etc/hosts",
    "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/api/v1/products/..%2f..%2f..%2f..%2fapp%2f.env",
    "/images/products/..%2F..%2F..%2F..%2Fvar%2Flog%2Fnginx%2Faccess.log",
];

const WORDS: [&str; 48] = [
    "admin",
    "administrator",
    "backup",
    "backups",
    "old",
    "test",
    "dev",
    "staging",
    "api",
    "config",
    "db",
    "dump",
    "sql",
    "uploads",
    "files",
    "private",
    "secret",
    "tmp",
    "logs",
    "console",
    "manager",
    "phpmyadmin",
    "wp-admin",
    "wp-content",
    "wordpress",
    "cgi-bin",
    "server-status",
    "server-info",
    ".git",
    ".svn",
    ".env",
    ".aws",
    "vendor",
    "node_modules",
    "debug",
    "actuator",
    "swagger",
    "graphql",
    "jenkins",
    "solr",
    "portal",
    "login",
    "user",
    "users",
    "shell",
    "cmd",
    "setup",
    "install",
];
const EXTS: [&str; 8] = [
    "", ".php", ".bak", ".zip", ".tar.gz", ".old", ".sql", ".json",
];
const NIKTO: [&str; 14] = [
    "/.env",
    "/.git/config",
    "/.git/HEAD",
    "/wp-login.php",
    "/xmlrpc.php",
    "/phpinfo.php",
    "/server-status",
    "/.DS_Store",
    "/cgi-bin/test-cgi",
    "/config.php.bak",
    "/.htpasswd",
    "/web.config",
    "/WEB-INF/web.xml",
    "/actuator/env",
];

/// A start time (epoch ms) leaving `len_ms` before the end of the span.
fn start_in(rng: &mut SimRng, span_ms: (i64, i64), len_ms: i64) -> i64 {
    let latest = (span_ms.1 - len_ms - 600_000).max(span_ms.0 + 1);
    rng.random_range(span_ms.0..latest)
}

/// A weekday afternoon (US Eastern office hours) within the span, epoch ms.
fn office_time(rng: &mut SimRng, span_ms: (i64, i64)) -> i64 {
    let days = ((span_ms.1 - span_ms.0) / (DAY * 1000)).max(1);
    let first = span_ms.0 / 1000;
    let weekdays: Vec<i64> = (0..days).filter(|d| weekday(first + d * DAY) < 5).collect();
    let d = if weekdays.is_empty() {
        rng.random_range(0..days)
    } else {
        weekdays[rng.random_range(0..weekdays.len())]
    };
    (first + d * DAY) * 1000 + rng.random_range(14 * 3_600_000..19 * 3_600_000)
}

fn browser(rng: &mut SimRng) -> &'static str {
    BROWSERS[rng.random_range(0..BROWSERS.len())].0
}

struct Shot<'a> {
    site: &'a Site,
    ip: String,
    ua: &'a str,
    referrer: &'a str,
}

impl Shot<'_> {
    #[expect(clippy::too_many_arguments, reason = "one argument per logged field")]
    fn hit(
        &self,
        sink: &mut Sink,
        ms: i64,
        method: &str,
        target: &str,
        status: u16,
        bytes: u64,
        rt_ms: f64,
        rng: &mut SimRng,
    ) {
        let h = Hit {
            ms,
            ip: &self.ip,
            method,
            target,
            status,
            bytes,
            referrer: self.referrer,
            ua: self.ua,
            rt_ms,
        };
        self.site.routes.emit(sink, &h, rng);
    }
}

/// Renders one instance of `s` into `sink`.
pub(crate) fn render(
    site: &Site,
    s: NetScenario,
    rng: &mut SimRng,
    span_ms: (i64, i64),
    sink: &mut Sink,
) {
    match s {
        NetScenario::HttpFlood => http_flood(site, start_in(rng, span_ms, 300_000), sink, rng),
        NetScenario::LoginBruteForce => {
            login_brute_force(site, start_in(rng, span_ms, 900_000), sink, rng)
        }
        NetScenario::CredentialStuffing => {
            credential_stuffing(site, start_in(rng, span_ms, 3_700_000), sink, rng)
        }
        NetScenario::SqlInjection => {
            sql_injection(site, start_in(rng, span_ms, 1_000_000), sink, rng)
        }
        NetScenario::XssProbe => xss_probe(site, start_in(rng, span_ms, 600_000), sink, rng),
        NetScenario::PathTraversal => {
            path_traversal(site, start_in(rng, span_ms, 600_000), sink, rng)
        }
        NetScenario::Scanner => scanner(site, start_in(rng, span_ms, 900_000), sink, rng),
        NetScenario::BenignLoadTest => load_test(site, office_time(rng, span_ms), sink, rng),
        NetScenario::BenignHealthChecker => health_checker(site, rng, span_ms, sink),
        NetScenario::BenignLegitCrawler => legit_crawler(site, rng, span_ms, sink),
        _ => {}
    }
}

/// A botnet of thirty addresses hammers the home page and search for four minutes
/// at about 150 requests a second; nginx's rate limit soon answers most with 503.
fn http_flood(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    const STALE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let bots: Vec<(String, &str)> = (0..30)
        .map(|_| {
            let ua = if rng.random_bool(0.6) {
                STALE
            } else {
                browser(rng)
            };
            (public_v4(rng).to_string(), ua)
        })
        .collect();
    let n = 36_000i64;
    for i in 0..n {
        let (ip, ua) = &bots[rng.random_range(0..bots.len())];
        let ms = t + i * 240_000 / n + jitter(rng, 20);
        let target = if rng.random_bool(0.8) {
            "/".to_owned()
        } else {
            format!("/search?q={}", rng.random_range(0..100_000))
        };
        let (status, bytes, rt) = if i < n / 5 || rng.random_bool(0.25) {
            (
                200,
                rng.random_range(9_000..46_000),
                rng.random_range(200.0..2_500.0),
            )
        } else if rng.random_bool(0.05) {
            (499, 0, rng.random_range(1_000.0..5_000.0))
        } else {
            (503, 197, rng.random_range(0.0..2.0))
        };
        let shot = Shot {
            site,
            ip: ip.clone(),
            ua,
            referrer: "-",
        };
        shot.hit(sink, ms, "GET", &target, status, bytes, rt, rng);
    }
}

/// One address tries 300 passwords against the login API in ten minutes, then one works.
fn login_brute_force(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let shot = Shot {
        site,
        ip: public_v4(rng).to_string(),
        ua: "python-requests/2.31.0",
        referrer: "-",
    };
    let mut ms = t;
    for _ in 0..300 {
        shot.hit(
            sink,
            ms,
            "POST",
            "/api/v1/auth/login",
            401,
            rng.random_range(40..60),
            rng.random_range(60.0..140.0),
            rng,
        );
        ms += rng.random_range(1_200..2_800);
    }
    shot.hit(sink, ms, "POST", "/api/v1/auth/login", 200, 412, 96.0, rng);
    shot.hit(sink, ms + 900, "GET", "/api/v1/me", 200, 688, 12.0, rng);
    shot.hit(
        sink,
        ms + 2_100,
        "GET",
        "/api/v1/orders?limit=100",
        200,
        18_220,
        41.0,
        rng,
    );
}

/// Leaked credentials tried from eighty residential proxies over an hour; a few work.
fn credential_stuffing(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let proxies: Vec<String> = (0..80).map(|_| public_v4(rng).to_string()).collect();
    let page = format!("https://{HOST}/login");
    for i in 0..500i64 {
        let shot = Shot {
            site,
            ip: proxies[rng.random_range(0..proxies.len())].clone(),
            ua: browser(rng),
            referrer: &page,
        };
        let ms = t + i * 3_600_000 / 500 + jitter(rng, 5_000);
        if rng.random_bool(0.015) {
            shot.hit(sink, ms, "POST", "/api/v1/auth/login", 200, 412, 90.0, rng);
            shot.hit(sink, ms + 700, "GET", "/api/v1/me", 200, 688, 11.0, rng);
        } else {
            let status = if rng.random_bool(0.05) { 429 } else { 401 };
            shot.hit(
                sink,
                ms,
                "POST",
                "/api/v1/auth/login",
                status,
                rng.random_range(40..60),
                rng.random_range(60.0..140.0),
                rng,
            );
        }
    }
}

/// Injection payloads against the catalogue, search, product pages and orders.
fn sql_injection(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let shot = Shot {
        site,
        ip: public_v4(rng).to_string(),
        ua: browser(rng),
        referrer: "-",
    };
    let mut ms = t;
    for _ in 0..150 {
        let p = SQLI[rng.random_range(0..SQLI.len())];
        let target = match rng.random_range(0..4) {
            0 => format!("/api/v1/products?category={p}"),
            1 => format!("/api/v1/search?q={p}&limit=24"),
            2 => format!("/products/{}?ref={p}", site.product(rng)),
            _ => format!("/api/v1/orders/{p}"),
        };
        let status = [200, 400, 500, 500, 404][rng.random_range(0..5)];
        let rt = if p.contains("SLEEP") || p.contains("sleep") || p.contains("WAITFOR") {
            5_012.0
        } else {
            rng.random_range(5.0..120.0)
        };
        shot.hit(
            sink,
            ms,
            "GET",
            &target,
            status,
            rng.random_range(60..3_000),
            rt,
            rng,
        );
        ms += rng.random_range(2_000..9_000);
    }
}

/// Reflected-XSS probes in search, the API and the login redirect.
fn xss_probe(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let shot = Shot {
        site,
        ip: public_v4(rng).to_string(),
        ua: browser(rng),
        referrer: "-",
    };
    let mut ms = t;
    for _ in 0..80 {
        let p = XSS[rng.random_range(0..XSS.len())];
        // Node's parser refuses raw quotes and brackets in the target: the API sees them encoded.
        let enc = p
            .replace('"', "%22")
            .replace('<', "%3C")
            .replace('>', "%3E");
        let target = match rng.random_range(0..3) {
            0 => format!("/search?q={p}"),
            1 => format!("/api/v1/search?q={enc}&limit=24"),
            _ => format!("/login?next={p}"),
        };
        let status = if rng.random_bool(0.8) { 200 } else { 400 };
        shot.hit(
            sink,
            ms,
            "GET",
            &target,
            status,
            rng.random_range(300..30_000),
            rng.random_range(5.0..90.0),
            rng,
        );
        ms += rng.random_range(1_000..7_000);
    }
}

/// `../` in every spelling towards system files.
fn path_traversal(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let shot = Shot {
        site,
        ip: public_v4(rng).to_string(),
        ua: "curl/8.4.0",
        referrer: "-",
    };
    let mut ms = t;
    for _ in 0..70 {
        let p = TRAVERSAL[rng.random_range(0..TRAVERSAL.len())];
        let status = [400, 404, 404, 403, 400][rng.random_range(0..5)];
        shot.hit(
            sink,
            ms,
            "GET",
            p,
            status,
            rng.random_range(150..600),
            rng.random_range(0.0..15.0),
            rng,
        );
        ms += rng.random_range(500..8_000);
    }
}

/// Nikto's checks, a gobuster directory sweep and a few sqlmap requests from one
/// address in about twelve minutes: thousands of requests, nearly all 404.
fn scanner(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let ip = public_v4(rng).to_string();
    let mut ms = t;
    for i in 0..600 {
        let ua = format!(
            "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:{:06})",
            1_000 + i
        );
        let shot = Shot {
            site,
            ip: ip.clone(),
            ua: &ua,
            referrer: "-",
        };
        let path = if let Some(known) = NIKTO.get(i) {
            (*known).to_owned()
        } else {
            format!(
                "/{}{}",
                WORDS[rng.random_range(0..WORDS.len())],
                EXTS[rng.random_range(0..EXTS.len())]
            )
        };
        let method = if i % 50 == 7 { "OPTIONS" } else { "GET" };
        let status = if path == "/robots.txt" { 200 } else { 404 };
        shot.hit(
            sink,
            ms,
            method,
            &path,
            status,
            153,
            rng.random_range(0.0..4.0),
            rng,
        );
        ms += rng.random_range(30..250);
    }
    let shot = Shot {
        site,
        ip: ip.clone(),
        ua: "gobuster/3.6",
        referrer: "-",
    };
    for w in WORDS {
        for e in EXTS {
            for prefix in ["", "api/", "static/"] {
                let path = format!("/{prefix}{w}{e}");
                let status = if path == "/login" || path == "/api/" {
                    200
                } else {
                    404
                };
                shot.hit(
                    sink,
                    ms,
                    "GET",
                    &path,
                    status,
                    153,
                    rng.random_range(0.0..4.0),
                    rng,
                );
                ms += rng.random_range(20..120);
            }
        }
    }
    let shot = Shot {
        site,
        ip,
        ua: "sqlmap/1.8.2#stable (https://sqlmap.org)",
        referrer: "-",
    };
    for p in SQLI {
        shot.hit(
            sink,
            ms,
            "GET",
            &format!("/api/v1/products?category=mens{p}"),
            500,
            88,
            rng.random_range(5.0..60.0),
            rng,
        );
        ms += rng.random_range(300..1_500);
    }
}

/// A k6 run from the office: ramp to about 40 requests a second, hold, ramp down,
/// over the usual pages and API calls, all answered normally.
fn load_test(site: &Site, t: i64, sink: &mut Sink, rng: &mut SimRng) {
    let shot = Shot {
        site,
        ip: site.office[0].clone(),
        ua: "k6/0.49.0 (https://k6.io/)",
        referrer: "-",
    };
    let total_ms = 600_000i64;
    let mut ms = t;
    while ms < t + total_ms {
        let x = (ms - t) as f64 / total_ms as f64;
        let rate = 40.0 * (x / 0.2).min(1.0).min((1.0 - x) / 0.2).max(0.05);
        let (method, target, status) = match rng.random_range(0..6) {
            0 => ("GET", "/".to_owned(), 200),
            1 => ("GET", format!("/products/{}", site.product(rng)), 200),
            2 => (
                "GET",
                format!(
                    "/api/v1/products?category={}&page=1",
                    CATEGORIES[rng.random_range(0..CATEGORIES.len())]
                ),
                200,
            ),
            3 => ("GET", "/api/v1/search?q=boots&limit=24".to_owned(), 200),
            4 => ("POST", "/api/v1/cart/items".to_owned(), 201),
            _ => ("GET", "/api/v1/cart".to_owned(), 200),
        };
        let rt = rng.random_range(6.0..60.0) * (1.0 + x);
        shot.hit(
            sink,
            ms,
            method,
            &target,
            status,
            rng.random_range(400..30_000),
            rt,
            rng,
        );
        ms += (1_000.0 / rate * rng.random_range(0.5..1.5)) as i64 + 1;
    }
}

/// The load balancer's health checks from both nodes: nginx every 15 s, the API
/// every 30 s, for the whole span.
fn health_checker(site: &Site, rng: &mut SimRng, span_ms: (i64, i64), sink: &mut Sink) {
    for (path, every, bytes) in [("/health", 15_000i64, 2u64), ("/api/health", 30_000, 15)] {
        for node in &site.alb_nodes {
            let shot = Shot {
                site,
                ip: node.clone(),
                ua: "ELB-HealthChecker/2.0",
                referrer: "-",
            };
            let mut ms = span_ms.0 + jitter(rng, every);
            while ms < span_ms.1 {
                shot.hit(
                    sink,
                    ms,
                    "GET",
                    path,
                    200,
                    bytes,
                    rng.random_range(0.0..3.0),
                    rng,
                );
                ms += every;
            }
        }
    }
}

/// Googlebot and bingbot crawl robots.txt, the sitemap, products, categories, posts
/// and images every day at a polite pace, meeting a few removed pages.
fn legit_crawler(site: &Site, rng: &mut SimRng, span_ms: (i64, i64), sink: &mut Sink) {
    const BOTS: [(&str, [u8; 4], u32); 3] = [
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            [66, 249, 66, 0],
            24,
        ),
        (
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.94 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            [66, 249, 79, 0],
            24,
        ),
        (
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            [40, 77, 167, 0],
            24,
        ),
    ];
    let mut day = span_ms.0;
    while day < span_ms.1 {
        for (ua, prefix, len) in BOTS {
            let ip = in_prefix(rng, prefix, len).to_string();
            let shot = Shot {
                site,
                ip,
                ua,
                referrer: "-",
            };
            let mut ms = day + rng.random_range(0..20 * 3_600_000);
            let mut paths = vec!["/robots.txt".to_owned(), "/sitemap.xml".to_owned()];
            paths.extend(site.products.iter().map(|p| format!("/products/{p}")));
            paths.extend(
                CATEGORIES
                    .iter()
                    .flat_map(|c| (1..4).map(move |n| format!("/category/{c}?page={n}"))),
            );
            paths.extend(site.posts.iter().map(|p| format!("/blog/{p}")));
            paths.extend(
                site.products
                    .iter()
                    .take(40)
                    .map(|p| format!("/images/products/{p}-1.webp")),
            );
            paths.extend((0..6).map(|i| format!("/products/discontinued-item-{i}")));
            for path in paths {
                let status = if path.contains("discontinued") {
                    404
                } else {
                    200
                };
                let bytes = if status == 404 {
                    4_812
                } else {
                    rng.random_range(9_000..46_000)
                };
                shot.hit(
                    sink,
                    ms,
                    "GET",
                    &path,
                    status,
                    bytes,
                    rng.random_range(8.0..150.0),
                    rng,
                );
                ms += rng.random_range(1_500..6_000);
            }
        }
        day += DAY * 1000;
    }
}
