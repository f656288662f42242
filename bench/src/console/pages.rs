//! The console pages the bench reads, each with what its answer must show, so a page that
//! breaks (an error page, an empty list) cannot pass for a fast one.

/// What a page must hold.
pub enum Expect {
    /// `count` table rows whose opening tag starts with `marker` (e.g. `<tr data-id=`).
    Rows { marker: &'static str, count: usize },
    /// Rows of the table with id `table` (its header row not counted).
    TableRows { table: &'static str, count: usize },
    /// Every one of these texts.
    Contains(Vec<String>),
}

pub struct Page {
    pub name: &'static str,
    pub path: String,
    pub expect: Vec<Expect>,
}

impl Page {
    /// `Ok` when `body` holds what the page must show, else what is missing.
    pub fn check(&self, body: &str) -> Result<(), String> {
        for expect in &self.expect {
            match expect {
                Expect::Rows { marker, count } => {
                    let found = body.matches(marker).count();
                    if found != *count {
                        return Err(format!("{found} rows, expected {count}"));
                    }
                }
                Expect::TableRows { table, count } => {
                    let start = format!("<table id=\"{table}\"");
                    let Some(at) = body.find(&start) else {
                        return Err(format!("no table #{table}"));
                    };
                    let rest = &body[at..];
                    let rest = &rest[..rest.find("</table>").unwrap_or(rest.len())];
                    let found = rest.matches("<tr").count().saturating_sub(1);
                    if found != *count {
                        return Err(format!("#{table}: {found} rows, expected {count}"));
                    }
                }
                Expect::Contains(texts) => {
                    if let Some(missing) = texts.iter().find(|t| !body.contains(t.as_str())) {
                        return Err(format!("missing {missing:?}"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What was seeded, for the pages' expectations.
pub struct Seeded {
    pub dead_letters: usize,
    pub conflicts: usize,
    /// A dead letter's job id.
    pub letter: String,
    /// An Account with a link and `history` audit entries (the record page caps at 100).
    pub account: String,
    pub history: usize,
    pub flow: &'static str,
}

/// Rows a console list shows at most.
const PAGE: usize = 50;

/// The pages, in the order they are measured.
pub fn pages(s: &Seeded) -> Vec<Page> {
    let rows = |n: usize, offset: usize| Expect::Rows {
        marker: "<tr data-id=",
        count: n.saturating_sub(offset).min(PAGE),
    };
    let deep_letters = s.dead_letters.saturating_sub(PAGE);
    let deep_conflicts = s.conflicts.saturating_sub(PAGE);
    // The overview counts parked conflicts exactly (one ZCARD).
    let parked = s.conflicts.to_string();
    let contains = |texts: &[&str]| Expect::Contains(texts.iter().map(|t| t.to_string()).collect());
    vec![
        Page {
            name: "overview",
            path: "/console".into(),
            expect: vec![Expect::Contains(vec![
                format!("<div class=\"n\">{}</div>", s.dead_letters),
                format!("<div class=\"n\">{parked}</div>"),
                format!("<code>{}</code>", s.flow),
            ])],
        },
        Page {
            name: "dead letters",
            path: "/console/dead-letters".into(),
            expect: vec![rows(s.dead_letters, 0)],
        },
        Page {
            name: "dead letters, deep page",
            path: format!("/console/dead-letters?offset={deep_letters}"),
            expect: vec![rows(s.dead_letters, deep_letters)],
        },
        Page {
            name: "dead letter inspect",
            path: format!("/console/dead-letters/customers/{}", s.letter),
            expect: vec![contains(&[&s.letter, "account_id", "Each attempt"])],
        },
        Page {
            name: "dead letters, error filter",
            path: "/console/dead-letters?error=timeout".into(),
            expect: vec![
                rows(s.dead_letters / 4, 0),
                contains(&["timed out after 30 s (timeout)"]),
            ],
        },
        Page {
            name: "conflicts",
            path: "/console/conflicts".into(),
            expect: vec![rows(s.conflicts, 0)],
        },
        Page {
            name: "conflicts, deep page",
            path: format!("/console/conflicts?offset={deep_conflicts}"),
            expect: vec![rows(s.conflicts, deep_conflicts)],
        },
        Page {
            name: "record",
            path: format!("/console/records?q={}", s.account),
            expect: vec![
                contains(&["Linked customer", &s.account]),
                Expect::TableRows {
                    table: "history",
                    count: s.history.min(100),
                },
            ],
        },
        Page {
            name: "reconcile",
            path: "/console/reconcile".into(),
            expect: vec![contains(&["<h1>Reconciliation</h1>", "<table id=\"runs\""])],
        },
        Page {
            name: "runs",
            path: "/console/runs".into(),
            expect: vec![contains(&["<h1>Runs</h1>", "<h2>Scheduled</h2>"])],
        },
        Page {
            name: "mappings",
            path: "/console/mappings".into(),
            expect: vec![contains(&["<h1>Mappings</h1>", "class=\"mapping\""])],
        },
    ]
}
