//! The simulated web shop: its log groups and tasks, pages, assets, API routes and
//! the people and programs that visit it. The site derives from the account id;
//! the seed only adds each run's new visitors, so runs with different seeds are
//! different days of the same shop.

use super::access::Routes;
use super::ip::{in_prefix, public_v4, public_v6};
use super::line::Stream;
use crate::ids::{SimRng, hex, stream, sub_seed};
use rand::Rng;

/// The shop's public host name.
pub(crate) const HOST: &str = "shop.example.com";
/// nginx log group.
pub(crate) const NGINX_GROUP: &str = "/ecs/nginx-web";
/// Express (morgan combined) log group.
pub(crate) const API_GROUP: &str = "/ecs/express-api";
/// Express orders service (morgan JSON) log group.
pub(crate) const ORDERS_GROUP: &str = "/ecs/orders-api";
/// Subscription filter name on the access-log groups.
pub(crate) const FILTER: &str = "trailhound-access-log";

/// Desktop and mobile browsers, with their share of visits.
pub(crate) const BROWSERS: [(&str, f64); 12] = [
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        0.24,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        0.10,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
        0.20,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36",
        0.14,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
        0.07,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
        0.06,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        0.05,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        0.02,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
        0.04,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Mobile/15E148 Safari/604.1",
        0.04,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:123.0) Gecko/20100101 Firefox/123.0",
        0.02,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/122.0.6261.89 Mobile/15E148 Safari/604.1",
        0.02,
    ),
];

/// The shop's own mobile app.
pub(crate) const APP_UAS: [&str; 3] = [
    "NorthwindShop/3.12.1 (iPhone; iOS 17.3.1; Scale/3.00)",
    "NorthwindShop/3.12.0 (iPhone; iOS 16.7.5; Scale/3.00)",
    "okhttp/4.12.0",
];

const ADJ: [&str; 16] = [
    "alpine", "trail", "summit", "coastal", "urban", "merino", "storm", "canyon", "glacier",
    "desert", "forest", "harbor", "ridge", "prairie", "tundra", "river",
];
const NOUN: [&str; 14] = [
    "runner",
    "shell-jacket",
    "hoodie",
    "backpack",
    "tee",
    "hiking-boot",
    "beanie",
    "parka",
    "daypack",
    "fleece",
    "rain-pants",
    "sandal",
    "gloves",
    "duffel",
];
/// Product categories.
pub(crate) const CATEGORIES: [&str; 8] = [
    "mens",
    "womens",
    "kids",
    "footwear",
    "packs",
    "outerwear",
    "accessories",
    "sale",
];
/// What people type into the search box.
pub(crate) const SEARCHES: [&str; 14] = [
    "boots",
    "rain+jacket",
    "backpack",
    "merino",
    "kids+shoes",
    "gloves",
    "sale",
    "hoodie",
    "waterproof",
    "trail+runner",
    "gift+card",
    "beanie",
    "parka",
    "socks",
];

/// A static asset: path and body size.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub path: String,
    pub bytes: u64,
}

/// A visitor: an address and a browser.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub ip: String,
    pub ua: &'static str,
    /// Relative share of sessions.
    pub weight: f64,
    /// Has the assets cached (304s).
    pub returning: bool,
    /// Uses the mobile app (API only).
    pub app: bool,
}

/// Everything the access-log generators need.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub streams: Vec<Stream>,
    pub routes: Routes,
    pub products: Vec<String>,
    pub posts: Vec<String>,
    /// Assets loaded on a first visit.
    pub assets: Vec<Asset>,
    pub clients: Vec<Client>,
    /// Cumulative client weights, for sampling.
    cumulative: Vec<f64>,
    /// The load balancer nodes' private addresses (health checks come from them).
    pub alb_nodes: [String; 2],
    /// The office's NAT addresses (staff, the load-test runner).
    pub office: Vec<String>,
}

fn task_streams(rng: &mut SimRng, group: &'static str, prefix: &str, n: usize) -> Vec<Stream> {
    (0..n)
        .map(|_| Stream {
            group: group.to_owned(),
            name: format!("{prefix}/{}", hex(rng, 32)),
            salt: rng.random(),
        })
        .collect()
}

impl Site {
    /// The shop of `account`, visited by run `seed`'s population.
    pub(crate) fn new(seed: u64, account: &str) -> Self {
        let org = sub_seed(0, account, 0x5e7);
        let mut rng = stream(org, "site", 0);
        let mut streams = task_streams(&mut rng, NGINX_GROUP, "nginx/nginx", 3);
        streams.extend(task_streams(&mut rng, API_GROUP, "api/express-api", 3));
        streams.extend(task_streams(&mut rng, ORDERS_GROUP, "api/orders-api", 2));
        let routes = Routes {
            web: vec![0, 1, 2],
            api: vec![3, 4, 5],
            orders: vec![6, 7],
        };
        let mut products = Vec::new();
        for (i, a) in ADJ.iter().enumerate() {
            for (j, n) in NOUN.iter().enumerate() {
                if (i * 7 + j * 3) % 3 == 0 {
                    products.push(format!("{a}-{n}"));
                }
            }
        }
        let posts = [
            "how-to-layer-for-winter-hikes",
            "choosing-a-daypack",
            "merino-vs-synthetic",
            "trail-running-for-beginners",
            "caring-for-your-rain-shell",
            "spring-collection-2024",
            "packing-list-weekend-camping",
            "sizing-guide-boots",
        ]
        .map(String::from)
        .to_vec();
        let js = hex(&mut rng, 8);
        let css = hex(&mut rng, 8);
        let vendor = hex(&mut rng, 8);
        let assets = vec![
            Asset {
                path: format!("/static/css/main.{css}.css"),
                bytes: 38_412,
            },
            Asset {
                path: format!("/static/js/main.{js}.js"),
                bytes: 214_880,
            },
            Asset {
                path: format!("/static/js/vendor.{vendor}.js"),
                bytes: 402_133,
            },
            Asset {
                path: "/static/fonts/inter-var.woff2".into(),
                bytes: 98_712,
            },
            Asset {
                path: "/static/media/logo.svg".into(),
                bytes: 3_240,
            },
            Asset {
                path: "/favicon.ico".into(),
                bytes: 15_086,
            },
        ];
        let alb_nodes = [
            in_prefix(&mut rng, [10, 0, 0, 0], 24).to_string(),
            in_prefix(&mut rng, [10, 0, 1, 0], 24).to_string(),
        ];
        let office: Vec<String> = (0..3).map(|_| public_v4(&mut rng).to_string()).collect();
        let mut clients = Vec::new();
        for o in &office {
            clients.push(client(&mut rng, o.clone(), 6.0));
        }
        for _ in 0..330 {
            let ip = public_v4(&mut rng).to_string();
            clients.push(client(&mut rng, ip, 1.0));
        }
        for _ in 0..20 {
            let ip = public_v6(&mut rng).to_string();
            clients.push(client(&mut rng, ip, 1.0));
        }
        let mut run = stream(seed, "site-visitors", 0);
        for _ in 0..120 {
            let ip = public_v4(&mut run).to_string();
            clients.push(client(&mut run, ip, 0.7));
        }
        // Heavy-tailed activity: a few visitors come back all the time.
        let mut total = 0.0;
        let cumulative = clients
            .iter()
            .enumerate()
            .map(|(i, c)| {
                total += c.weight / ((i % 97) as f64 + 3.0).powf(0.8);
                total
            })
            .collect();
        Site {
            streams,
            routes,
            products,
            posts,
            assets,
            clients,
            cumulative,
            alb_nodes,
            office,
        }
    }

    /// A visitor, drawn by activity.
    pub(crate) fn visitor(&self, rng: &mut SimRng) -> &Client {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.clients[i.min(self.clients.len() - 1)]
    }

    /// A product page path.
    pub(crate) fn product(&self, rng: &mut SimRng) -> &str {
        // Popularity falls off with the index.
        let n = self.products.len();
        let i = ((rng.random::<f64>().powi(2)) * n as f64) as usize;
        &self.products[i.min(n - 1)]
    }
}

fn client(rng: &mut SimRng, ip: String, weight: f64) -> Client {
    let app = rng.random_bool(0.1);
    let ua = if app {
        APP_UAS[rng.random_range(0..APP_UAS.len())]
    } else {
        let w: Vec<f64> = BROWSERS.iter().map(|b| b.1).collect();
        BROWSERS[crate::ids::pick_weighted(rng, &w)].0
    };
    Client {
        ip,
        ua,
        weight,
        returning: rng.random_bool(0.45),
        app,
    }
}
