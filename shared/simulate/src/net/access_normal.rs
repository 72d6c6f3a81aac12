//! Ordinary shop traffic for one hour: visits that land on a page, load its assets
//! (cached for returning visitors), browse, search, call the API from the page,
//! sometimes log in (now and then mistyping the password once) and check out; app
//! users call the API only. Rare 404s, 499s and 5xx keep it honest.

use super::access::Hit;
use super::line::{Sink, jitter};
use super::site::{CATEGORIES, Client, HOST, SEARCHES, Site};
use crate::ids::SimRng;
use rand::Rng;

const SEARCH_ENGINES: [&str; 5] = [
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://l.instagram.com/",
];

/// One visit in progress.
struct Visit<'a> {
    site: &'a Site,
    client: &'a Client,
    t: i64,
    /// The page the browser is on (`Referer` of its requests), `-` before the first.
    referrer: String,
    /// Path of the page the browser is on.
    page: String,
}

impl Visit<'_> {
    #[expect(clippy::too_many_arguments, reason = "one argument per logged field")]
    fn hit(
        &self,
        sink: &mut Sink,
        method: &str,
        target: &str,
        status: u16,
        bytes: u64,
        rt_ms: f64,
        rng: &mut SimRng,
    ) {
        let h = Hit {
            ms: self.t + rt_ms as i64,
            ip: &self.client.ip,
            method,
            target,
            status,
            bytes,
            referrer: if self.client.app { "-" } else { &self.referrer },
            ua: self.client.ua,
            rt_ms,
        };
        self.site.routes.emit(sink, &h, rng);
    }

    /// A server-rendered page and, on the first one, its assets.
    /// `entry` is where the visitor came from on the landing page.
    fn page(
        &mut self,
        sink: &mut Sink,
        path: String,
        first: bool,
        entry: Option<&str>,
        rng: &mut SimRng,
    ) {
        let (status, bytes) = if rng.random_bool(0.012) {
            (404, 4_812)
        } else if rng.random_bool(0.003) {
            (499, 0)
        } else if rng.random_bool(0.0005) {
            (502, 559)
        } else {
            (200, rng.random_range(9_000..46_000))
        };
        let rt = if status == 200 {
            rng.random_range(8.0..180.0)
        } else {
            rng.random_range(1.0..30.0)
        };
        if let Some(e) = entry {
            e.clone_into(&mut self.referrer);
        }
        self.hit(sink, "GET", &path, status, bytes, rt, rng);
        self.referrer = format!("https://{HOST}{path}");
        self.page = path;
        self.t += rt as i64 + rng.random_range(40..300);
        if first {
            for a in &self.site.assets {
                let (status, bytes) = if self.client.returning && rng.random_bool(0.9) {
                    (304, 0)
                } else {
                    (200, a.bytes)
                };
                let rt = rng.random_range(0.0..6.0);
                self.hit(sink, "GET", &a.path, status, bytes, rt, rng);
                self.t += rng.random_range(2..60);
            }
        }
        if self.page.starts_with("/products/") {
            let slug = self.page.trim_start_matches("/products/").to_owned();
            for n in 1..=rng.random_range(1..4) {
                let img = format!("/images/products/{slug}-{n}.webp");
                let rt = rng.random_range(0.0..8.0);
                self.hit(
                    sink,
                    "GET",
                    &img,
                    200,
                    rng.random_range(24_000..180_000),
                    rt,
                    rng,
                );
                self.t += rng.random_range(5..80);
            }
        }
    }

    fn api(&mut self, sink: &mut Sink, method: &str, target: &str, status: u16, rng: &mut SimRng) {
        let bytes = match status {
            201 => rng.random_range(180..900),
            204 | 304 => 0,
            200 => rng.random_range(300..14_000),
            _ => rng.random_range(40..160),
        };
        let rt = rng.random_range(3.0..95.0);
        self.hit(sink, method, target, status, bytes, rt, rng);
        self.t += rt as i64 + rng.random_range(30..900);
    }

    fn think(&mut self, rng: &mut SimRng) {
        self.t += rng.random_range(4_000..70_000);
    }
}

fn landing(site: &Site, rng: &mut SimRng) -> String {
    match rng.random_range(0..10) {
        0..=2 => "/".to_owned(),
        3..=5 => format!("/products/{}", site.product(rng)),
        6 => format!(
            "/category/{}",
            CATEGORIES[rng.random_range(0..CATEGORIES.len())]
        ),
        7 => format!(
            "/blog/{}",
            site.posts[rng.random_range(0..site.posts.len())]
        ),
        8 => format!(
            "/search?q={}",
            SEARCHES[rng.random_range(0..SEARCHES.len())]
        ),
        _ => "/sale".to_owned(),
    }
}

fn login(v: &mut Visit<'_>, rng: &mut SimRng, sink: &mut Sink) {
    if rng.random_bool(0.12) {
        v.api(sink, "POST", "/api/v1/auth/login", 401, rng);
        if !rng.random_bool(0.7) {
            return;
        }
        v.t += rng.random_range(4_000..15_000);
    }
    v.api(sink, "POST", "/api/v1/auth/login", 200, rng);
    v.api(sink, "GET", "/api/v1/me", 200, rng);
}

/// A browser visit.
fn browse(v: &mut Visit<'_>, rng: &mut SimRng, sink: &mut Sink) {
    let entry = SEARCH_ENGINES[rng.random_range(0..SEARCH_ENGINES.len())];
    let entry = if rng.random_bool(0.45) { "-" } else { entry };
    let first = landing(v.site, rng);
    v.page(sink, first, true, Some(entry), rng);
    v.api(sink, "GET", "/api/v1/session", 200, rng);
    v.api(sink, "GET", "/api/v1/cart", 200, rng);
    let pages = 1 + (rng.random::<f64>().ln() / 0.75f64.ln()) as u32;
    let mut logged_in = false;
    for _ in 0..pages.min(25) {
        v.think(rng);
        match rng.random_range(0..20) {
            0..=7 => {
                let p = format!("/products/{}", v.site.product(rng));
                let slug = p.trim_start_matches("/products/").to_owned();
                v.page(sink, p, false, None, rng);
                v.api(
                    sink,
                    "GET",
                    &format!("/api/v1/products/{slug}/reviews?page=1"),
                    200,
                    rng,
                );
                if rng.random_bool(0.15) {
                    v.api(sink, "POST", "/api/v1/cart/items", 201, rng);
                }
            }
            8..=10 => {
                let c = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
                let page = rng.random_range(1..4);
                v.page(sink, format!("/category/{c}"), false, None, rng);
                v.api(
                    sink,
                    "GET",
                    &format!("/api/v1/products?category={c}&page={page}"),
                    200,
                    rng,
                );
            }
            11..=12 => {
                let q = SEARCHES[rng.random_range(0..SEARCHES.len())];
                v.page(sink, format!("/search?q={q}"), false, None, rng);
                v.api(
                    sink,
                    "GET",
                    &format!("/api/v1/search?q={q}&limit=24"),
                    200,
                    rng,
                );
            }
            13 => {
                let p = format!(
                    "/blog/{}",
                    v.site.posts[rng.random_range(0..v.site.posts.len())]
                );
                v.page(sink, p, false, None, rng);
            }
            14..=15 if !logged_in => {
                v.page(sink, "/login".to_owned(), false, None, rng);
                login(v, rng, sink);
                logged_in = true;
            }
            16 if logged_in => {
                v.page(sink, "/account/orders".to_owned(), false, None, rng);
                v.api(sink, "GET", "/api/v1/orders?limit=10", 200, rng);
            }
            _ => {
                v.page(sink, "/cart".to_owned(), false, None, rng);
                v.api(sink, "GET", "/api/v1/cart", 200, rng);
            }
        }
    }
    if logged_in && rng.random_bool(0.3) {
        v.think(rng);
        v.page(sink, "/checkout".to_owned(), false, None, rng);
        v.api(sink, "POST", "/api/v1/orders", 201, rng);
        let id = rng.random_range(100_000..999_999);
        v.api(sink, "GET", &format!("/api/v1/orders/{id}"), 200, rng);
    }
}

/// An app session: API calls only, no referrer.
fn app(v: &mut Visit<'_>, rng: &mut SimRng, sink: &mut Sink) {
    v.api(sink, "GET", "/api/v1/session", 200, rng);
    let status = if rng.random_bool(0.3) { 304 } else { 200 };
    v.api(sink, "GET", "/api/v1/home?v=3", status, rng);
    for _ in 0..rng.random_range(1..12) {
        v.t += rng.random_range(1_500..30_000);
        match rng.random_range(0..6) {
            0..=2 => {
                let slug = v.site.product(rng).to_owned();
                v.api(sink, "GET", &format!("/api/v1/products/{slug}"), 200, rng);
            }
            3 => {
                let c = CATEGORIES[rng.random_range(0..CATEGORIES.len())];
                v.api(
                    sink,
                    "GET",
                    &format!("/api/v1/products?category={c}&page=1"),
                    200,
                    rng,
                );
            }
            4 => v.api(sink, "GET", "/api/v1/orders?limit=10", 200, rng),
            _ => v.api(sink, "GET", "/api/v1/cart", 200, rng),
        }
    }
}

/// Visits starting in `[start_ms, start_ms + 3600 s)` until about `budget` lines
/// are written. Visits run on past the hour; the caller delivers lines by time.
pub(crate) fn hour(site: &Site, rng: &mut SimRng, start_ms: i64, budget: usize, sink: &mut Sink) {
    let before = sink.lines.len();
    while sink.lines.len() - before < budget {
        let client = site.visitor(rng);
        let mut v = Visit {
            site,
            client,
            t: start_ms + jitter(rng, 3_600_000),
            referrer: "-".to_owned(),
            page: String::new(),
        };
        if client.app {
            app(&mut v, rng, sink);
        } else {
            browse(&mut v, rng, sink);
        }
    }
}
