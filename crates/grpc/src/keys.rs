//! Keys with scopes, one vocabulary for the gateway's API keys and the services' gRPC bearer
//! tokens. A key is presented as `Authorization: Bearer <key>`; only each key's SHA-256 is kept,
//! so neither memory dumps nor logs carry a usable key, and a presented key's digest is compared
//! with every configured digest in constant time (no early exit on the first differing byte,
//! no hash-table probe that depends on the key).
//!
//! Keys come from a secret as comma-separated `name:scope+scope:key` (the gateway's
//! `ISTHMUS_GATEWAY__API_KEYS`, the services' `ISTHMUS_GRPC__TOKENS`); scopes are `salesforce`
//! (what a Salesforce caller does), `netsuite` (what a NetSuite caller does), `viewer` (reads
//! every operator route or RPC, changes nothing) and `admin` (everything). The gateway
//! re-exports these types as `isthmus_gateway::keys`.

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Salesforce,
    NetSuite,
    /// Reads what `admin` reads; acts on nothing.
    Viewer,
    Admin,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "salesforce" => Some(Self::Salesforce),
            "netsuite" => Some(Self::NetSuite),
            "viewer" => Some(Self::Viewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Salesforce => "salesforce",
            Self::NetSuite => "netsuite",
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }
}

/// Who called: the key's name and scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Whether the caller may call routes of `scope` (admin may call every route).
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes
            .iter()
            .any(|s| *s == scope || *s == Scope::Admin)
    }

    /// Whether the caller may read what `admin` reads (admin or viewer).
    pub fn may_read_admin(&self) -> bool {
        self.may(Scope::Viewer)
    }
}

#[derive(Debug, Default, Clone)]
pub struct ApiKeys {
    /// Each key's SHA-256 with its caller; a key inserted again replaces its entry.
    entries: Vec<([u8; 32], Caller)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeysError {
    #[error("API key entry {0} is not `name:scope+scope:key`")]
    Malformed(usize),
    #[error("API key entry {0} has an unknown scope (use salesforce, netsuite, viewer or admin)")]
    UnknownScope(usize),
    #[error("API key entry {0} is shorter than 24 characters")]
    TooShort(usize),
}

impl ApiKeys {
    /// Parses `name:scope+scope:key,…` (entries numbered from 1 in errors; keys never shown).
    pub fn parse(spec: &str) -> Result<Self, KeysError> {
        let mut keys = Self::default();
        for (n, entry) in spec
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let n = n + 1;
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(scopes), Some(key)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(KeysError::Malformed(n));
            };
            if name.is_empty() {
                return Err(KeysError::Malformed(n));
            }
            let scopes = scopes
                .split('+')
                .map(|s| Scope::parse(s).ok_or(KeysError::UnknownScope(n)))
                .collect::<Result<Vec<_>, _>>()?;
            if key.len() < 24 {
                return Err(KeysError::TooShort(n));
            }
            keys.insert(name, &scopes, key);
        }
        Ok(keys)
    }

    pub fn insert(&mut self, name: &str, scopes: &[Scope], key: &str) {
        let caller = Caller {
            name: name.to_string(),
            scopes: scopes.to_vec(),
        };
        let digest = digest(key);
        self.entries.retain(|(d, _)| *d != digest);
        self.entries.push((digest, caller));
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The caller of the presented key: its digest is compared with every entry's, each
    /// comparison in constant time, and every entry is visited whatever matches.
    pub fn caller(&self, presented: &str) -> Option<&Caller> {
        let presented = digest(presented);
        let mut found = None;
        for (digest, caller) in &self.entries {
            if constant_time_eq(digest, &presented) && found.is_none() {
                found = Some(caller);
            }
        }
        found
    }

    /// The caller of the key named `name`, while the key is configured (a console session
    /// names its key, so removing the key ends its sessions).
    pub fn caller_named(&self, name: &str) -> Option<&Caller> {
        self.entries.iter().map(|(_, c)| c).find(|c| c.name == name)
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether two digests are equal, looking at every byte whatever the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_with_scopes_and_never_keep_the_key() {
        let keys = ApiKeys::parse(
            "sfdc:salesforce:aaaaaaaaaaaaaaaaaaaaaaaa, ops:admin+netsuite:bbbbbbbbbbbbbbbbbbbbbbbb",
        )
        .unwrap();
        let sf = keys.caller("aaaaaaaaaaaaaaaaaaaaaaaa").unwrap();
        assert!(sf.may(Scope::Salesforce) && !sf.may(Scope::NetSuite));
        assert!(keys
            .caller("bbbbbbbbbbbbbbbbbbbbbbbb")
            .unwrap()
            .may(Scope::Salesforce));
        assert!(keys.caller("nope").is_none());
        assert!(!format!("{keys:?}").contains("aaaaaaaa"));
    }

    #[test]
    fn malformed_entries_are_refused_without_showing_the_key() {
        assert_eq!(
            ApiKeys::parse("x:sales:aaaaaaaaaaaaaaaaaaaaaaaa").unwrap_err(),
            KeysError::UnknownScope(1)
        );
        assert_eq!(
            ApiKeys::parse("x:salesforce").unwrap_err(),
            KeysError::Malformed(1)
        );
        assert_eq!(
            ApiKeys::parse("x:salesforce:short").unwrap_err(),
            KeysError::TooShort(1)
        );
    }
}
