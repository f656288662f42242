use isthmus_sandbox::seed;
use isthmus_sandbox::{Sandbox, SandboxConfig};

fn seeded() -> Sandbox {
    Sandbox::new(SandboxConfig {
        seed: true,
        ..SandboxConfig::default()
    })
    .unwrap()
}

#[test]
fn seed_loads_the_demo_company_unlinked() {
    let sandbox = seeded();
    let accounts = sandbox.sf_records("Account");
    assert_eq!(accounts.len(), seed::ACCOUNT_COUNT);
    assert!(accounts.iter().all(|a| a["NetSuite_Id__c"].is_null()));
    let contacts = sandbox.sf_records("Contact");
    assert!(contacts.len() >= seed::ACCOUNT_COUNT);
    let customers = sandbox.ns_records("customer");
    assert_eq!(customers.len(), seed::CUSTOMER_COUNT);
    assert!(customers.iter().all(|c| c.get("externalId").is_none()));
}

#[test]
fn seed_is_deterministic() {
    let (a, b) = (seeded(), seeded());
    assert_eq!(a.sf_records("Account"), b.sf_records("Account"));
    assert_eq!(a.sf_records("Contact"), b.sf_records("Contact"));
    assert_eq!(a.ns_records("customer"), b.ns_records("customer"));
}

#[test]
fn seed_facts_hold() {
    let sandbox = seeded();
    let accounts = sandbox.sf_records("Account");
    let customers = sandbox.ns_records("customer");
    let account = |name: &str| {
        accounts
            .iter()
            .find(|a| a["Name"] == name)
            .unwrap_or_else(|| panic!("account {name}"))
    };
    let has_customer = |name: &str| customers.iter().any(|c| c["companyName"] == name);
    let fresh = account(seed::FRESH_ACCOUNT_NAME);
    assert!(!fresh["BillingStreet"].is_null() && !fresh["ShippingStreet"].is_null());
    let fresh_contacts = sandbox
        .sf_records("Contact")
        .into_iter()
        .filter(|c| c["AccountId"] == fresh["Id"])
        .count();
    assert_eq!(fresh_contacts, 3);
    account(seed::QUOTED_ACCOUNT_NAME);
    for name in seed::EXACT_NAME_MATCHES {
        account(name);
        assert!(has_customer(name));
    }
    for (sf, ns) in seed::NEAR_DUPLICATE_NAMES
        .iter()
        .chain([&seed::DOMAIN_MATCH])
    {
        account(sf);
        assert!(has_customer(ns));
    }
    let umbrella_domain = customers
        .iter()
        .filter(|c| c["email"].as_str().unwrap_or("").ends_with("@umbrella.com"))
        .count();
    assert_eq!(umbrella_domain, 2);
    assert_eq!(
        seed::domain_of(
            account(seed::AMBIGUOUS_DOMAIN_ACCOUNT)["Website"]
                .as_str()
                .unwrap()
        ),
        "umbrella.com"
    );
    for name in seed::NETSUITE_ONLY_CUSTOMERS {
        assert!(has_customer(name));
        assert!(!accounts.iter().any(|a| a["Name"] == *name));
    }
    let admin_created = accounts
        .iter()
        .all(|a| a["CreatedById"] == accounts[0]["CreatedById"]);
    assert!(admin_created);
}
