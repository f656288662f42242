//! The `Sforce-Limit-Info` response header (`api-usage=10018/100000`), which Salesforce sends on
//! every REST response: how much of the org's daily API allocation is spent.

/// Daily API requests used so far and the org's daily maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

/// Name of the header carrying the usage.
pub const LIMIT_INFO_HEADER: &str = "Sforce-Limit-Info";

impl ApiUsage {
    /// Parses a `Sforce-Limit-Info` value. The header may carry several comma-separated entries
    /// (`api-usage=25/5000, per-app-api-usage=17/250(appName=sample)`); only `api-usage` counts.
    pub fn parse(header: &str) -> Option<Self> {
        header.split(',').find_map(|entry| {
            let value = entry.trim().strip_prefix("api-usage=")?;
            let (used, max) = value.split_once('/')?;
            Some(Self {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }

    /// Requests left today.
    pub fn remaining(&self) -> u64 {
        self.max.saturating_sub(self.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_usage() {
        let usage = ApiUsage::parse("api-usage=10018/100000").unwrap();
        assert_eq!(
            usage,
            ApiUsage {
                used: 10018,
                max: 100000
            }
        );
        assert_eq!(usage.remaining(), 89982);
    }

    #[test]
    fn finds_api_usage_among_other_entries() {
        let header = "per-app-api-usage=17/250(appName=sample), api-usage=25/5000";
        assert_eq!(
            ApiUsage::parse(header),
            Some(ApiUsage {
                used: 25,
                max: 5000
            })
        );
    }

    #[test]
    fn rejects_malformed_values() {
        assert_eq!(ApiUsage::parse(""), None);
        assert_eq!(ApiUsage::parse("api-usage=12"), None);
        assert_eq!(ApiUsage::parse("api-usage=a/b"), None);
        assert_eq!(ApiUsage::parse("per-app-api-usage=1/2"), None);
    }
}
