//! The simulated VPC: a load balancer in two public subnets, a NAT gateway and a
//! bastion, ECS web tasks in private subnets, PostgreSQL and Redis in data subnets,
//! an ops subnet with the monitoring host, a backup host and an internal DNS
//! server, and an idle Lambda interface. Every interface has its own log stream
//! (`eni-…-all`) in `/aws/vpc/flowlogs/<vpc>`. The network derives from the account
//! id, so runs with different seeds are different days of the same VPC.

use super::ip::{in_prefix, public_v4};
use super::line::Stream;
use crate::ids::{SimRng, hex, stream, sub_seed};
use rand::Rng;
use std::net::Ipv4Addr;

/// Subscription filter name on the flow log group.
pub(crate) const FILTER: &str = "trailhound-vpcflow";

/// A network interface with a flow log stream.
#[derive(Debug, Clone)]
pub(crate) struct Eni {
    /// `eni-` and 17 hex digits.
    pub id: String,
    /// Primary private address.
    pub ip: Ipv4Addr,
    /// Its log stream's index.
    pub stream: u32,
}

/// The VPC and the outside world it talks to.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub account: String,
    pub streams: Vec<Stream>,
    pub enis: Vec<Eni>,
    /// Load balancer nodes (public subnets).
    pub alb: [usize; 2],
    /// ECS web tasks (private subnets).
    pub web: Vec<usize>,
    pub db: usize,
    /// The database's standby: idle, so its records are mostly `NODATA`.
    pub db_standby: usize,
    pub redis: usize,
    pub nat: usize,
    pub bastion: usize,
    pub monitor: usize,
    pub backup: usize,
    pub dns: usize,
    /// An idle Lambda interface (`NODATA`).
    pub lambda: usize,
    /// The office's public addresses (SSH to the bastion).
    pub office: Vec<Ipv4Addr>,
    /// Services the tasks call on 443 through the NAT gateway (payments, e-mail,
    /// error tracking, package registry).
    pub saas: Vec<Ipv4Addr>,
    /// S3 addresses in the region (reached through the gateway endpoint).
    pub s3: Vec<Ipv4Addr>,
    /// Shoppers' addresses.
    pub clients: Vec<Ipv4Addr>,
}

impl Network {
    /// The VPC of `account`.
    pub(crate) fn new(account: &str) -> Self {
        let org = sub_seed(0, account, 0xf10);
        let mut rng = stream(org, "vpc", 0);
        let vpc = format!("vpc-{}", hex(&mut rng, 17));
        let group = format!("/aws/vpc/flowlogs/{vpc}");
        let mut net = Network {
            account: account.to_owned(),
            streams: Vec::new(),
            enis: Vec::new(),
            alb: [0, 0],
            web: Vec::new(),
            db: 0,
            db_standby: 0,
            redis: 0,
            nat: 0,
            bastion: 0,
            monitor: 0,
            backup: 0,
            dns: 0,
            lambda: 0,
            office: Vec::new(),
            saas: Vec::new(),
            s3: Vec::new(),
            clients: Vec::new(),
        };
        let add = |net: &mut Network, rng: &mut SimRng, subnet: [u8; 4]| -> usize {
            let id = format!("eni-{}", hex(rng, 17));
            let stream = net.streams.len() as u32;
            net.streams.push(Stream {
                group: group.clone(),
                name: format!("{id}-all"),
                salt: rng.random(),
            });
            net.enis.push(Eni {
                id,
                ip: in_prefix(rng, subnet, 24),
                stream,
            });
            net.enis.len() - 1
        };
        net.alb = [
            add(&mut net, &mut rng, [10, 0, 0, 0]),
            add(&mut net, &mut rng, [10, 0, 1, 0]),
        ];
        net.nat = add(&mut net, &mut rng, [10, 0, 0, 0]);
        net.bastion = add(&mut net, &mut rng, [10, 0, 1, 0]);
        for i in 0..4u8 {
            let w = add(&mut net, &mut rng, [10, 0, 10 + i % 2, 0]);
            net.web.push(w);
        }
        net.db = add(&mut net, &mut rng, [10, 0, 20, 0]);
        net.db_standby = add(&mut net, &mut rng, [10, 0, 21, 0]);
        net.redis = add(&mut net, &mut rng, [10, 0, 20, 0]);
        net.monitor = add(&mut net, &mut rng, [10, 0, 30, 0]);
        net.backup = add(&mut net, &mut rng, [10, 0, 30, 0]);
        net.dns = add(&mut net, &mut rng, [10, 0, 30, 0]);
        net.lambda = add(&mut net, &mut rng, [10, 0, 12, 0]);
        net.office = (0..2).map(|_| public_v4(&mut rng)).collect();
        net.saas = [
            [54, 187, 0, 0],
            [54, 241, 0, 0],
            [35, 186, 0, 0],
            [104, 16, 0, 0],
            [151, 101, 0, 0],
        ]
        .iter()
        .map(|p| in_prefix(&mut rng, *p, 16))
        .collect();
        net.s3 = [[52, 216, 0, 0], [52, 217, 0, 0], [3, 5, 0, 0]]
            .iter()
            .flat_map(|p| [in_prefix(&mut rng, *p, 16), in_prefix(&mut rng, *p, 16)])
            .collect();
        net.clients = (0..600).map(|_| public_v4(&mut rng)).collect();
        net
    }

    /// Interfaces of the hosts the monitoring host and the tasks reach inside the VPC.
    pub(crate) fn internal_hosts(&self) -> Vec<usize> {
        let mut v = self.web.clone();
        v.extend([self.db, self.redis, self.bastion, self.backup, self.dns]);
        v
    }
}

/// An ephemeral source port (Linux range).
pub(crate) fn ephemeral(rng: &mut SimRng) -> u16 {
    rng.random_range(32_768..61_000)
}
