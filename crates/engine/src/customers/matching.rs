//! Keys that match an unlinked Salesforce account to an existing NetSuite customer: the e-mail
//! domain (from the website and the contacts' addresses) and the normalised company name.

use std::collections::BTreeSet;

use crate::config::CustomersConfig;

/// Lower case, punctuation to spaces, legal-form suffixes dropped: "ACME Corp." → "acme",
/// "Initech, Inc." → "initech". Empty when nothing is left.
pub fn normalise_company(config: &CustomersConfig, name: &str) -> String {
    let spaced: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    while words.len() > 1
        && words
            .last()
            .is_some_and(|w| config.company_suffixes.iter().any(|s| s == w))
    {
        words.pop();
    }
    words.join(" ")
}

/// The domain of a web address or e-mail address: "https://www.Globex.com/about" → "globex.com",
/// "ap@globex.com" → "globex.com". Only `[a-z0-9.-]` domains with a dot qualify, so a domain is
/// always safe inside a LIKE pattern.
pub fn domain_of(value: &str) -> Option<String> {
    let value = value.trim().to_lowercase();
    let host = match value.rsplit_once('@') {
        Some((_, domain)) => domain.to_string(),
        None => {
            let rest = value.split_once("://").map_or(value.as_str(), |(_, r)| r);
            rest.split(['/', '?', '#', ':'])
                .next()
                .unwrap_or("")
                .to_string()
        }
    };
    let host = host
        .strip_prefix("www.")
        .unwrap_or(&host)
        .trim_end_matches('.');
    let valid = host.contains('.')
        && !host.starts_with('.')
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    valid.then(|| host.to_string())
}

/// The company domains of an account: its website and its contacts' e-mail domains, without
/// free-mail providers.
pub fn company_domains<'a>(
    config: &CustomersConfig,
    website: Option<&'a str>,
    emails: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    website
        .into_iter()
        .chain(emails)
        .filter_map(domain_of)
        .filter(|d| !config.free_email_domains.iter().any(|f| f == d))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config() -> CustomersConfig {
        Config::load_from(None, Vec::new()).unwrap().customers
    }

    #[test]
    fn company_names_normalise_past_case_punctuation_and_suffixes() {
        let c = config();
        assert_eq!(normalise_company(&c, "ACME Corp."), "acme");
        assert_eq!(normalise_company(&c, "Acme Corporation"), "acme");
        assert_eq!(normalise_company(&c, "Initech, Inc."), "initech");
        assert_eq!(normalise_company(&c, "O'Brien \\ Sons Ltd"), "o brien sons");
        assert_eq!(normalise_company(&c, "Inc"), "inc");
    }

    #[test]
    fn domains_come_from_urls_and_emails() {
        assert_eq!(
            domain_of("https://www.Globex.com/about").as_deref(),
            Some("globex.com")
        );
        assert_eq!(domain_of("www.globex.com").as_deref(), Some("globex.com"));
        assert_eq!(domain_of("ap@globex.com").as_deref(), Some("globex.com"));
        assert_eq!(domain_of("x@%_evil'.com"), None);
        assert_eq!(domain_of("localhost"), None);
    }

    #[test]
    fn free_mail_domains_do_not_identify_companies() {
        let c = config();
        let d = company_domains(&c, Some("acme.io"), ["bob@gmail.com", "ann@acme.io"]);
        assert_eq!(
            d.into_iter().collect::<Vec<_>>(),
            vec!["acme.io".to_string()]
        );
    }
}
