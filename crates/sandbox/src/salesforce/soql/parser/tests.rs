use super::super::lexer::tokenize;
use super::*;

fn parse_str(soql: &str) -> Result<Query, String> {
    parse(tokenize(soql)?)
}

fn field(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

#[test]
fn parses_fields_subquery_filter_order_limit_offset() {
    let q = parse_str(
        "SELECT Id, Account.Name, (SELECT LastName FROM Contacts) FROM Contact \
         WHERE (Name = 'a' OR Name LIKE 'b%') AND NOT Id IN ('x') ORDER BY Name DESC NULLS FIRST, Id LIMIT 5 OFFSET 2",
    )
    .unwrap();
    assert_eq!(q.select.len(), 3);
    assert_eq!(
        q.select[1],
        SelectItem::Field {
            path: field("Account.Name"),
            alias: None
        }
    );
    assert!(matches!(q.filter, Some(Condition::And(ref parts)) if parts.len() == 2));
    assert_eq!(
        q.order_by[0],
        OrderItem {
            operand: Operand::Field(field("Name")),
            descending: true,
            nulls_first: true
        }
    );
    assert!(q.order_by[1].nulls_first);
    assert_eq!((q.limit, q.offset), (Some(5), Some(2)));
}

#[test]
fn count_query_parses() {
    assert_eq!(
        parse_str("select count() from Account").unwrap().select,
        vec![SelectItem::Count]
    );
}

#[test]
fn aggregates_with_aliases_group_by_having_and_aggregate_order_parse() {
    let q = parse_str(
        "SELECT Industry, COUNT(Id) total, max(AnnualRevenue) FROM Account \
         GROUP BY Industry HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    )
    .unwrap();
    assert_eq!(
        q.select[1],
        SelectItem::Aggregate {
            function: Function::Count,
            path: field("Id"),
            alias: Some("total".into())
        }
    );
    assert!(matches!(
        q.select[2],
        SelectItem::Aggregate {
            function: Function::Max,
            alias: None,
            ..
        }
    ));
    assert_eq!(q.group_by, vec![field("Industry")]);
    assert!(matches!(
        q.having,
        Some(Condition::Compare {
            operand: Operand::Aggregate(Function::Count, _),
            op: ">",
            ..
        })
    ));
    assert_eq!(
        q.order_by[0].operand,
        Operand::Aggregate(Function::Count, field("Id"))
    );
}

#[test]
fn semi_joins_and_date_literals_parse() {
    let q = parse_str(
        "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact WHERE CreatedDate = LAST_N_DAYS:7) \
         AND CreatedDate < TODAY",
    )
    .unwrap();
    let Some(Condition::And(parts)) = q.filter else {
        panic!("expected AND")
    };
    let Condition::SemiJoin {
        field: ref f,
        negated: true,
        ref query,
    } = parts[0]
    else {
        panic!("expected an anti-join, got {:?}", parts[0])
    };
    assert_eq!(*f, field("Id"));
    assert_eq!(query.from, "Contact");
    assert!(matches!(
        parts[1],
        Condition::Compare {
            value: Literal::Relative(_),
            ..
        }
    ));
}

#[test]
fn mixing_and_or_without_parentheses_is_malformed() {
    assert!(
        parse_str("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'").is_err()
    );
}

#[test]
fn syntax_errors_are_reported() {
    assert!(parse_str("SELECT FROM Account").is_err());
    assert!(parse_str("SELECT Id Account").is_err());
    assert!(parse_str("SELECT Id FROM Account WHERE").is_err());
    assert!(parse_str("SELECT Id FROM Account LIMIT x").is_err());
    assert!(parse_str("SELECT Id FROM Account WHERE Name = 'a' extra").is_err());
    assert!(parse_str("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS").is_err());
    assert!(parse_str("SELECT FOO(Id) FROM Account").is_err());
}
