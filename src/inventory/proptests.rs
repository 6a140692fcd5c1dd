//! Property tests of the parsers: the inventory text, node sets (expand and fold), `-l`
//! patterns and `-H` lists. Whatever the input, no panic, no unbounded expansion, errors name
//! where they come from. Case counts keep the whole file to a few seconds in a debug build.

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::select::{Chosen, TargetSpec, select};
use super::{Inventory, split_list_ranges};
use crate::connection;
use crate::nodeset::{self, MAX_EXPANSION, MAX_NAME_BYTES, NodeSetError};

/// Generous per-case bound: a slow case is a hang in the making.
const CASE_TIME: Duration = Duration::from_secs(2);

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    }
}

/// Text made of node-set syntax: brackets, ranges, commas, names.
fn nodeset_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[a-z]{1,3}",
            "[0-9]{1,4}",
            Just("[".to_string()),
            Just("]".to_string()),
            Just("-".to_string()),
            Just(",".to_string()),
            (0u32..2000, 0u32..2000).prop_map(|(a, b)| format!("[{a}-{b}]")),
            (0u32..50).prop_map(|a| format!("[0{a},{}]", a + 3)),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

/// Inventory lines: headers, keys (some connection keys) and values, well-formed or not.
fn inventory_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("hosts"),
        Just("children"),
        Just("groups"),
        Just("port"),
        Just("address"),
        Just("connect_timeout"),
        Just("host_key_policy"),
        Just("password"),
        Just("proxy_jump"),
        Just("colour"),
        Just("bad key"),
    ];
    let value = prop_oneof![
        nodeset_text(),
        "[ -~]{0,20}",
        Just("\"quoted ; # value\"".to_string()),
        Just("\"unterminated".to_string()),
        Just("1e20".to_string()),
        Just("+22".to_string()),
        Just("a, b, g1".to_string()),
    ];
    prop_oneof![
        Just("[defaults]".to_string()),
        "[a-c]{1,2}".prop_map(|g| format!("[group {g}]")),
        "[a-c.]{1,3}".prop_map(|h| format!("[host {h}]")),
        (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        "[ -~]{0,20}",
        Just("; comment".to_string()),
        Just("\u{feff}[defaults]".to_string()),
    ]
}

fn small_inventory() -> Inventory {
    Inventory::parse(
        "[group web]\nhosts = web[01-20]\n[group db]\nhosts = db[1-3]\n\
         [group prod]\nchildren = web, db\n[host h.x]\n",
        Path::new("inv.ini"),
    )
    .expect("fixture parses")
}

/// Pattern and -H syntax: names, globs, operators, separators, node sets, ad-hoc hosts.
fn target_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("web".to_string()),
            Just("db".to_string()),
            Just("prod".to_string()),
            Just("web0*".to_string()),
            Just("?b1".to_string()),
            Just("!".to_string()),
            Just("&".to_string()),
            Just(":".to_string()),
            Just(",".to_string()),
            Just("@".to_string()),
            Just("..".to_string()),
            Just("me@127.0.0.1:22".to_string()),
            nodeset_text(),
            "[ -~]{0,6}",
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn expand_is_bounded_and_never_panics(pattern in nodeset_text()) {
        let started = Instant::now();
        match nodeset::expand(&pattern) {
            Ok(names) => {
                prop_assert!(!names.is_empty() && names.len() <= MAX_EXPANSION);
                if pattern.contains('[') {
                    prop_assert!(names.iter().all(|n| n.len() <= MAX_NAME_BYTES));
                }
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        prop_assert!(started.elapsed() < CASE_TIME);
    }

    #[test]
    fn expand_counts_the_product(
        prefix in "[a-z]{0,3}",
        ranges in prop::collection::vec((0u64..500, 0u64..500), 1..5),
    ) {
        let pattern: String = ranges
            .iter()
            .map(|(a, len)| format!("[{a}-{}]x", a + len))
            .fold(prefix, |acc, r| acc + &r);
        let product = ranges
            .iter()
            .try_fold(1u64, |acc, (_, len)| acc.checked_mul(len + 1))
            .unwrap_or(u64::MAX);
        match nodeset::expand(&pattern) {
            Ok(names) => prop_assert_eq!(names.len() as u64, product),
            Err(e) => {
                prop_assert!(product > MAX_EXPANSION as u64, "{e}");
                let too_many = matches!(e, NodeSetError::TooMany { .. });
                prop_assert!(too_many, "{}", e);
                prop_assert!(e.to_string().contains("expands to more than 100000 hosts"));
            }
        }
    }

    #[test]
    fn fold_expands_back_to_its_input(
        names in prop::collection::btree_set("[a-c]{1,2}[0-9]{1,3}(\\.d[0-9])?", 1..40),
    ) {
        let input: Vec<String> = names.into_iter().collect();
        let folded = nodeset::fold(&input);
        let mut back: Vec<String> = Vec::new();
        for part in split_list_ranges(&folded) {
            back.extend(nodeset::expand(&part).map_err(|e| TestCaseError::fail(e.to_string()))?);
        }
        back.sort();
        prop_assert_eq!(back, input);
    }

    #[test]
    fn inventory_parse_never_panics(lines in prop::collection::vec(inventory_line(), 0..12)) {
        let text = lines.join("\n");
        let started = Instant::now();
        match Inventory::parse(&text, Path::new("inv.ini")) {
            Ok(inv) => {
                prop_assert!(inv.hosts.len() <= super::MAX_INVENTORY_HOSTS);
                for h in &inv.hosts {
                    prop_assert!(connection::host_name(h).is_ok(), "host {h:?} accepted");
                    let _ = inv.resolve(h, &Default::default());
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("inv.ini:"), "{e}"),
        }
        prop_assert!(started.elapsed() < CASE_TIME);
    }

    #[test]
    fn patterns_and_host_lists_never_panic(
        hosts in prop::collection::vec(target_text(), 0..3),
        pattern in prop::option::of(target_text()),
    ) {
        let inv = small_inventory();
        let spec = TargetSpec {
            hosts: hosts.iter().flat_map(|h| split_list_ranges(h)).collect(),
            groups: Vec::new(),
            pattern,
        };
        let started = Instant::now();
        if let Ok(chosen) = select(&inv, &spec) {
            for c in chosen {
                match c {
                    Chosen::Inventory(name) => prop_assert!(inv.has_host(&name)),
                    Chosen::AdHoc(spec) => {
                        prop_assert!(connection::destination(&spec).is_ok());
                        prop_assert!(connection::host_name(&spec).is_ok());
                    }
                }
            }
        }
        prop_assert!(started.elapsed() < CASE_TIME);
    }

    #[test]
    fn narrowing_never_adds_hosts(
        groups in prop::collection::vec(prop_oneof![Just("web"), Just("db"), Just("prod")], 1..3),
        pattern in target_text(),
    ) {
        let inv = small_inventory();
        let base = TargetSpec {
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..TargetSpec::default()
        };
        let all = select(&inv, &base).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let narrowed = TargetSpec { pattern: Some(pattern), ..base };
        if let Ok(chosen) = select(&inv, &narrowed) {
            prop_assert!(chosen.iter().all(|c| all.contains(c)));
        }
    }

    #[test]
    fn destinations_never_panic(spec in "[ -~]{0,30}") {
        if let Ok(d) = connection::destination(&spec) {
            prop_assert!(!d.address.is_empty());
            prop_assert!(d.port != Some(0));
        }
    }
}

#[test]
fn deep_brackets_do_not_overflow_the_stack() {
    // once: -H "$(printf 'a[1]%.0s' $(seq 20000))" overflowed the stack (exit 134)
    let pattern = "a[1]".repeat(20_000);
    let err = nodeset::expand(&pattern).unwrap_err();
    assert!(matches!(err, NodeSetError::NameTooLong { .. }), "{err}");
    assert!(
        err.to_string().len() < 200,
        "the message is shortened: {err}"
    );
    let ok = nodeset::expand(&"[1]".repeat(200)).unwrap();
    assert_eq!(ok, vec!["1".repeat(200)]);
}

#[test]
fn products_are_refused_before_allocating() {
    for pattern in [
        "a[1-1000]b[1-1000]c[1-1000]",
        "a[1-100]b[1-100]c[1-100]d[1-100]",
    ] {
        let started = Instant::now();
        let err = nodeset::expand(pattern).unwrap_err().to_string();
        assert!(err.contains("expands to more than 100000 hosts"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(100));
    }
    assert_eq!(nodeset::expand("w[1-100000]").unwrap().len(), 100_000);
    assert!(nodeset::expand("w[1-100001]").is_err());
    assert!(nodeset::expand("w[1-50000,50001-100001]").is_err());
    assert!(nodeset::expand("w[0-18446744073709551615]").is_err());
}
