//! The scenarios injected into network and web traffic: attacks (label 1) and hard
//! negatives (label 0, names starting `benign-`) that look like an attack by volume
//! or shape but are ordinary operations.

use super::NetSource;
use std::fmt;
use std::str::FromStr;

/// One injectable network or web scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NetScenario {
    /// Access logs: a botnet floods one page with requests, the backend starts to shed load.
    HttpFlood,
    /// Access logs: hundreds of failed logins from one address, then a success.
    LoginBruteForce,
    /// Access logs: leaked credentials tried from many residential proxies, a few succeed.
    CredentialStuffing,
    /// Access logs: SQL injection payloads in query strings and form paths.
    SqlInjection,
    /// Access logs: reflected XSS probes in search and redirect parameters.
    XssProbe,
    /// Access logs: `../` sequences (plain and encoded) towards system files.
    PathTraversal,
    /// Access logs: Nikto, gobuster and sqlmap sweeping thousands of paths, mostly 404.
    Scanner,
    /// Flow logs: one address probes a thousand ports of the bastion, mostly rejected.
    PortScan,
    /// Flow logs: hundreds of short SSH connections from one address to the bastion.
    SshBruteForce,
    /// Flow logs: gigabytes sent from a web task to one unfamiliar address on the internet.
    Exfiltration,
    /// Flow logs: thousands of spoofed sources send SYNs to the load balancer.
    SynFlood,
    /// Flow logs: a compromised task connects to internal hosts on admin ports.
    LateralMovement,
    /// Hard negative (access logs): a k6 load test from the office against normal pages.
    BenignLoadTest,
    /// Hard negative (access logs): the load balancer's health checks, every few seconds.
    BenignHealthChecker,
    /// Hard negative (access logs): Googlebot and bingbot crawling the catalogue politely.
    BenignLegitCrawler,
    /// Hard negative (flow logs): the nightly database backup uploaded to S3.
    BenignBackupJob,
    /// Hard negative (flow logs): the monitoring host checking every host's ports.
    BenignMonitoringPoller,
}

const ALL: [NetScenario; 17] = [
    NetScenario::HttpFlood,
    NetScenario::LoginBruteForce,
    NetScenario::CredentialStuffing,
    NetScenario::SqlInjection,
    NetScenario::XssProbe,
    NetScenario::PathTraversal,
    NetScenario::Scanner,
    NetScenario::PortScan,
    NetScenario::SshBruteForce,
    NetScenario::Exfiltration,
    NetScenario::SynFlood,
    NetScenario::LateralMovement,
    NetScenario::BenignLoadTest,
    NetScenario::BenignHealthChecker,
    NetScenario::BenignLegitCrawler,
    NetScenario::BenignBackupJob,
    NetScenario::BenignMonitoringPoller,
];

impl NetScenario {
    /// Every scenario of one source, attacks first.
    pub fn all(source: NetSource) -> Vec<NetScenario> {
        ALL.iter()
            .copied()
            .filter(|s| s.source() == source)
            .collect()
    }

    /// The hard negatives of one source.
    pub fn all_benign(source: NetSource) -> Vec<NetScenario> {
        Self::all(source)
            .into_iter()
            .filter(|s| !s.is_attack())
            .collect()
    }

    /// The log source the scenario shows up in.
    pub fn source(self) -> NetSource {
        match self {
            NetScenario::HttpFlood
            | NetScenario::LoginBruteForce
            | NetScenario::CredentialStuffing
            | NetScenario::SqlInjection
            | NetScenario::XssProbe
            | NetScenario::PathTraversal
            | NetScenario::Scanner
            | NetScenario::BenignLoadTest
            | NetScenario::BenignHealthChecker
            | NetScenario::BenignLegitCrawler => NetSource::AccessLog,
            NetScenario::PortScan
            | NetScenario::SshBruteForce
            | NetScenario::Exfiltration
            | NetScenario::SynFlood
            | NetScenario::LateralMovement
            | NetScenario::BenignBackupJob
            | NetScenario::BenignMonitoringPoller => NetSource::VpcFlow,
        }
    }

    /// Whether its events are labelled as attack (1) rather than benign (0).
    pub fn is_attack(self) -> bool {
        !self.name().starts_with("benign-")
    }

    /// The label its events carry.
    pub fn label(self) -> u8 {
        u8::from(self.is_attack())
    }

    /// Stable kebab-case name, as written in `labels.csv` and accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            NetScenario::HttpFlood => "http-flood",
            NetScenario::LoginBruteForce => "login-brute-force",
            NetScenario::CredentialStuffing => "credential-stuffing",
            NetScenario::SqlInjection => "sql-injection",
            NetScenario::XssProbe => "xss-probe",
            NetScenario::PathTraversal => "path-traversal",
            NetScenario::Scanner => "scanner",
            NetScenario::PortScan => "port-scan",
            NetScenario::SshBruteForce => "ssh-brute-force",
            NetScenario::Exfiltration => "exfiltration",
            NetScenario::SynFlood => "syn-flood",
            NetScenario::LateralMovement => "lateral-movement",
            NetScenario::BenignLoadTest => "benign-load-test",
            NetScenario::BenignHealthChecker => "benign-health-checker",
            NetScenario::BenignLegitCrawler => "benign-legit-crawler",
            NetScenario::BenignBackupJob => "benign-backup-job",
            NetScenario::BenignMonitoringPoller => "benign-monitoring-poller",
        }
    }

    /// The MITRE ATT&CK technique; for a hard negative, the one it resembles.
    pub fn technique(self) -> &'static str {
        match self {
            NetScenario::HttpFlood | NetScenario::SynFlood | NetScenario::BenignLoadTest => "T1498",
            NetScenario::LoginBruteForce | NetScenario::SshBruteForce => "T1110.001",
            NetScenario::CredentialStuffing => "T1110.004",
            NetScenario::SqlInjection | NetScenario::XssProbe | NetScenario::PathTraversal => {
                "T1190"
            }
            NetScenario::Scanner | NetScenario::BenignLegitCrawler => "T1595.003",
            NetScenario::PortScan | NetScenario::BenignMonitoringPoller => "T1046",
            NetScenario::Exfiltration | NetScenario::BenignBackupJob => "T1048",
            NetScenario::LateralMovement => "T1021",
            NetScenario::BenignHealthChecker => "T1595",
        }
    }
}

impl fmt::Display for NetScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the network or web scenarios.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network scenario {0:?}")]
pub struct UnknownNetScenario(pub String);

impl FromStr for NetScenario {
    type Err = UnknownNetScenario;

    /// Accepts the kebab-case name, with `_` for `-`, and hard negatives without
    /// their `benign-` prefix (`load_test` is `benign-load-test`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let want = s.trim().replace('_', "-");
        ALL.iter()
            .copied()
            .find(|x| x.name() == want || x.name().strip_prefix("benign-") == Some(&want))
            .ok_or_else(|| UnknownNetScenario(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_accept_snake_case() {
        for s in ALL {
            assert_eq!(s.name().parse::<NetScenario>(), Ok(s), "{s}");
        }
        assert_eq!("http_flood".parse(), Ok(NetScenario::HttpFlood));
        assert_eq!("load_test".parse(), Ok(NetScenario::BenignLoadTest));
        assert_eq!(
            "benign_backup_job".parse(),
            Ok(NetScenario::BenignBackupJob)
        );
        assert!("logging-tampering".parse::<NetScenario>().is_err());
    }

    #[test]
    fn each_source_has_attacks_and_hard_negatives() {
        for src in [NetSource::AccessLog, NetSource::VpcFlow] {
            let all = NetScenario::all(src);
            let benign = NetScenario::all_benign(src);
            assert!(all.len() >= benign.len() + 5, "{src:?}");
            assert!(benign.len() >= 2, "{src:?}");
            assert!(all.iter().all(|s| s.technique().starts_with('T')));
        }
    }
}
