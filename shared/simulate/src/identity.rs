//! Constructors for every `userIdentity` shape CloudTrail writes: IAM users, role
//! sessions (plain, web-identity, instance profile, service-linked), root, AWS
//! services, federated users, other accounts, SAML and web-identity callers.

use super::record::{Identity, Issuer, SessionAttributes, SessionContext, WebIdFederation};

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// A long-term IAM user; with `session` it is a console session (temporary key and
/// session attributes), without it a call signed with the user's access key.
pub(crate) fn iam_user(
    account: &str,
    name: &str,
    aida: &str,
    key: &str,
    session: Option<(&str, bool)>,
) -> Identity {
    Identity {
        kind: Some("IAMUser"),
        principal_id: s(aida),
        arn: Some(format!("arn:aws:iam::{account}:user/{name}")),
        account_id: s(account),
        access_key_id: s(key),
        user_name: s(name),
        session_context: session.map(|(created, mfa)| SessionContext {
            attributes: SessionAttributes {
                creation_date: created.to_owned(),
                mfa_authenticated: if mfa { "true" } else { "false" },
            },
            ..SessionContext::default()
        }),
        ..Identity::default()
    }
}

/// How a role session came to be, which decides the extra session-context fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin<'a> {
    /// `AssumeRole` by a person or workload.
    Plain,
    /// `AssumeRoleWithWebIdentity` through this OIDC provider ARN.
    WebIdentity(&'a str),
    /// An EC2 instance profile (IMDS delivery).
    InstanceProfile,
    /// A service-linked role used by this service.
    Service(&'a str),
}

/// A role session: `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
pub(crate) struct RoleSession<'a> {
    pub account: &'a str,
    /// IAM path of the role, `/` for most, e.g. `/aws-reserved/sso.amazonaws.com/`.
    pub path: &'a str,
    pub role: &'a str,
    pub aroa: &'a str,
    pub session: &'a str,
    pub key: &'a str,
    pub created: &'a str,
    pub mfa: bool,
    pub origin: Origin<'a>,
}

/// The `AssumedRole` identity of a role session.
pub(crate) fn assumed_role(r: &RoleSession<'_>) -> Identity {
    let web = match r.origin {
        Origin::WebIdentity(provider) => WebIdFederation {
            federated_provider: s(provider),
            attributes: Some(serde_json::Map::new()),
        },
        _ => WebIdFederation::default(),
    };
    Identity {
        kind: Some("AssumedRole"),
        principal_id: Some(format!("{}:{}", r.aroa, r.session)),
        arn: Some(format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            r.account, r.role, r.session
        )),
        account_id: s(r.account),
        access_key_id: s(r.key),
        session_context: Some(SessionContext {
            session_issuer: Some(Issuer {
                kind: "Role",
                principal_id: r.aroa.to_owned(),
                arn: format!("arn:aws:iam::{}:role{}{}", r.account, r.path, r.role),
                account_id: r.account.to_owned(),
                user_name: r.role.to_owned(),
            }),
            web_id_federation_data: Some(web),
            attributes: SessionAttributes {
                creation_date: r.created.to_owned(),
                mfa_authenticated: if r.mfa { "true" } else { "false" },
            },
            ec2_role_delivery: (r.origin == Origin::InstanceProfile).then_some("2.0"),
        }),
        invoked_by: match r.origin {
            Origin::Service(svc) => s(svc),
            _ => None,
        },
        ..Identity::default()
    }
}

/// The account's root user.
pub(crate) fn root(account: &str, key: &str, session: Option<(&str, bool)>) -> Identity {
    Identity {
        kind: Some("Root"),
        principal_id: s(account),
        arn: Some(format!("arn:aws:iam::{account}:root")),
        account_id: s(account),
        access_key_id: s(key),
        session_context: session.map(|(created, mfa)| SessionContext {
            attributes: SessionAttributes {
                creation_date: created.to_owned(),
                mfa_authenticated: if mfa { "true" } else { "false" },
            },
            ..SessionContext::default()
        }),
        ..Identity::default()
    }
}

/// An AWS service acting with its own service principal.
pub(crate) fn aws_service(invoked_by: &str) -> Identity {
    Identity {
        kind: Some("AWSService"),
        invoked_by: s(invoked_by),
        ..Identity::default()
    }
}

/// The identity of an `AwsServiceEvent`: no type, only the account and the service.
pub(crate) fn service_event(account: &str, invoked_by: &str) -> Identity {
    Identity {
        account_id: s(account),
        invoked_by: s(invoked_by),
        ..Identity::default()
    }
}

/// A principal of another account (`principalId` empty and account `anonymous` for
/// unauthenticated S3 requests).
pub(crate) fn aws_account(principal_id: &str, account: &str) -> Identity {
    Identity {
        kind: Some("AWSAccount"),
        principal_id: s(principal_id),
        account_id: s(account),
        ..Identity::default()
    }
}

/// A federated user session from `GetFederationToken` called by IAM user `issuer`.
pub(crate) fn federated_user(
    account: &str,
    name: &str,
    key: &str,
    created: &str,
    issuer: (&str, &str),
) -> Identity {
    Identity {
        kind: Some("FederatedUser"),
        principal_id: Some(format!("{account}:{name}")),
        arn: Some(format!("arn:aws:sts::{account}:federated-user/{name}")),
        account_id: s(account),
        access_key_id: s(key),
        session_context: Some(SessionContext {
            session_issuer: Some(Issuer {
                kind: "IAMUser",
                principal_id: issuer.1.to_owned(),
                arn: format!("arn:aws:iam::{account}:user/{}", issuer.0),
                account_id: account.to_owned(),
                user_name: issuer.0.to_owned(),
            }),
            web_id_federation_data: Some(WebIdFederation::default()),
            attributes: SessionAttributes {
                creation_date: created.to_owned(),
                mfa_authenticated: "false",
            },
            ec2_role_delivery: None,
        }),
        ..Identity::default()
    }
}

/// The caller of `AssumeRoleWithSAML`.
pub(crate) fn saml_user(provider_hash: &str, user: &str) -> Identity {
    Identity {
        kind: Some("SAMLUser"),
        principal_id: Some(format!("{provider_hash}:{user}")),
        user_name: s(user),
        identity_provider: s(provider_hash),
        ..Identity::default()
    }
}

/// The caller of `AssumeRoleWithWebIdentity` (an OIDC token's subject).
pub(crate) fn web_identity_user(provider_arn: &str, audience: &str, subject: &str) -> Identity {
    Identity {
        kind: Some("WebIdentityUser"),
        principal_id: Some(format!("{provider_arn}:{audience}:{subject}")),
        user_name: s(subject),
        identity_provider: s(provider_arn),
        ..Identity::default()
    }
}

/// Renames the session of a role-session identity (instance id, build id, task id).
pub(crate) fn rename_session(id: &mut Identity, session: &str) {
    if let Some(pid) = id.principal_id.as_mut()
        && let Some((aroa, _)) = pid.split_once(':')
    {
        *pid = format!("{aroa}:{session}");
    }
    if let Some(arn) = id.arn.as_mut()
        && let Some((head, _)) = arn.rsplit_once('/')
    {
        *arn = format!("{head}/{session}");
    }
}
