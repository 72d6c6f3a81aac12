//! The injected scenarios: attacks modelled on Stratus Red Team's AWS techniques
//! (label 1) and hard negatives that look like them per event but are benign
//! (label 0, names starting `benign-`).

use std::fmt;
use std::str::FromStr;

/// One injectable scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// CloudTrail `StopLogging`, `DeleteTrail`, `PutEventSelectors` without management events.
    LoggingTampering,
    /// GuardDuty detector deleted or disabled, Config recorder stopped.
    GuarddutyDisable,
    /// A new IAM user with an access key and `AdministratorAccess`.
    IamBackdoorUser,
    /// A role's trust policy opened to an external account, then assumed from it.
    IamBackdoorRole,
    /// Access key and console password created for an existing user by someone else.
    AccessKeyOtherUser,
    /// Dozens of Secrets Manager and SSM secret reads in minutes with stolen workload credentials.
    SecretsHarvest,
    /// A bucket made public and bulk-downloaded, and replicated to an external account.
    S3Exfiltration,
    /// EBS snapshot, AMI and RDS snapshot shared publicly and with an external account.
    SnapshotExposure,
    /// Stolen keys enumerating the account across services and regions, many denied.
    ReconBurst,
    /// Root console sign-in without MFA from a new address, then root API calls.
    RootUsage,
    /// Many failed console sign-ins for one user from one address, then a success.
    ConsoleBruteForce,
    /// SSH and RDP opened to the world on a security group.
    SgOpenWorld,
    /// A Lambda function opened to anyone (resource policy `*`, public function URL).
    LambdaBackdoor,
    /// KMS keys disabled and scheduled for deletion.
    KmsKeyDeletion,
    /// The account leaves its AWS Organization.
    LeaveOrganization,
    /// Hard negative: a new administrator's first IAM changes, in hours, with MFA.
    BenignNewAdmin,
    /// Hard negative: a large Terraform apply from the CI role.
    BenignTerraformApply,
    /// Hard negative: a security auditor's read-only sweep of the account.
    BenignSecurityAudit,
    /// Hard negative: snapshots shared with the organisation's DR account in a change window.
    BenignDrSnapshotShare,
}

const ALL: [Scenario; 19] = [
    Scenario::LoggingTampering,
    Scenario::GuarddutyDisable,
    Scenario::IamBackdoorUser,
    Scenario::IamBackdoorRole,
    Scenario::AccessKeyOtherUser,
    Scenario::SecretsHarvest,
    Scenario::S3Exfiltration,
    Scenario::SnapshotExposure,
    Scenario::ReconBurst,
    Scenario::RootUsage,
    Scenario::ConsoleBruteForce,
    Scenario::SgOpenWorld,
    Scenario::LambdaBackdoor,
    Scenario::KmsKeyDeletion,
    Scenario::LeaveOrganization,
    Scenario::BenignNewAdmin,
    Scenario::BenignTerraformApply,
    Scenario::BenignSecurityAudit,
    Scenario::BenignDrSnapshotShare,
];

impl Scenario {
    /// Every scenario, attacks first.
    pub fn all() -> Vec<Scenario> {
        ALL.to_vec()
    }

    /// The attack scenarios (label 1).
    pub fn all_attacks() -> Vec<Scenario> {
        ALL.iter().copied().filter(|s| s.is_attack()).collect()
    }

    /// The hard negatives (label 0).
    pub fn all_benign() -> Vec<Scenario> {
        ALL.iter().copied().filter(|s| !s.is_attack()).collect()
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
            Scenario::LoggingTampering => "logging-tampering",
            Scenario::GuarddutyDisable => "guardduty-disable",
            Scenario::IamBackdoorUser => "iam-backdoor-user",
            Scenario::IamBackdoorRole => "iam-backdoor-role",
            Scenario::AccessKeyOtherUser => "access-key-other-user",
            Scenario::SecretsHarvest => "secrets-harvest",
            Scenario::S3Exfiltration => "s3-exfiltration",
            Scenario::SnapshotExposure => "snapshot-exposure",
            Scenario::ReconBurst => "recon-burst",
            Scenario::RootUsage => "root-usage",
            Scenario::ConsoleBruteForce => "console-brute-force",
            Scenario::SgOpenWorld => "sg-open-world",
            Scenario::LambdaBackdoor => "lambda-backdoor",
            Scenario::KmsKeyDeletion => "kms-key-deletion",
            Scenario::LeaveOrganization => "leave-organization",
            Scenario::BenignNewAdmin => "benign-new-admin",
            Scenario::BenignTerraformApply => "benign-terraform-apply",
            Scenario::BenignSecurityAudit => "benign-security-audit",
            Scenario::BenignDrSnapshotShare => "benign-dr-snapshot-share",
        }
    }

    /// MITRE ATT&CK technique ids; the first is the main one. For a hard negative,
    /// the technique it resembles.
    pub fn techniques(self) -> &'static [&'static str] {
        match self {
            Scenario::LoggingTampering => &["T1562.008"],
            Scenario::GuarddutyDisable => &["T1562.001"],
            Scenario::IamBackdoorUser => &["T1136.003", "T1098.001"],
            Scenario::IamBackdoorRole => &["T1098.003"],
            Scenario::AccessKeyOtherUser => &["T1098.001"],
            Scenario::SecretsHarvest => &["T1552"],
            Scenario::S3Exfiltration => &["T1530", "T1537"],
            Scenario::SnapshotExposure => &["T1537"],
            Scenario::ReconBurst => &["T1087.004", "T1580"],
            Scenario::RootUsage => &["T1078.004"],
            Scenario::ConsoleBruteForce => &["T1110"],
            Scenario::SgOpenWorld => &["T1562.007"],
            Scenario::LambdaBackdoor => &["T1546"],
            Scenario::KmsKeyDeletion => &["T1485"],
            Scenario::LeaveOrganization => &["T1666"],
            Scenario::BenignNewAdmin => &["T1136.003"],
            Scenario::BenignTerraformApply => &["T1098.003"],
            Scenario::BenignSecurityAudit => &["T1087.004"],
            Scenario::BenignDrSnapshotShare => &["T1537"],
        }
    }

    /// The main MITRE ATT&CK technique id.
    pub fn technique(self) -> &'static str {
        self.techniques().first().copied().unwrap_or("")
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::all`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario {0:?}")]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.iter()
            .copied()
            .find(|x| x.name() == s.trim())
            .ok_or_else(|| UnknownScenario(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for s in Scenario::all() {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s), "{s}");
        }
        assert!("nope".parse::<Scenario>().is_err());
    }

    #[test]
    fn attacks_and_benign_partition_all() {
        assert_eq!(Scenario::all_attacks().len(), 15);
        assert_eq!(Scenario::all_benign().len(), 4);
        assert!(Scenario::all_benign().iter().all(|s| s.label() == 0));
        assert!(
            Scenario::all_attacks()
                .iter()
                .all(|s| s.technique().starts_with('T'))
        );
    }
}
