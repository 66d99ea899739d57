//! `docs/worlds.md` documents every field and variant of the world file: a field added to
//! `crates/scenario/src/raw.rs` without a line in the reference fails here.

use meshsim_tests::worlds_dir;

/// Field names (`name:` in a struct or an enum variant) and variant names declared in `raw.rs`.
fn declared(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in raw.lines() {
        let t = line.trim_start();
        let t = t.strip_prefix("pub ").unwrap_or(t);
        if t.starts_with("//") || t.starts_with('#') {
            continue;
        }
        let word: String = t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if word.is_empty()
            || ["fn", "struct", "enum", "impl", "use", "const", "match", "mod", "Self"].contains(&word.as_str())
        {
            continue;
        }
        let rest = &t[word.len()..];
        let is_field = word.chars().all(|c| c.is_ascii_lowercase() || c == '_') && rest.starts_with(": ");
        // a variant: an indented capitalised word followed by `,`, `(` or ` {`
        let is_variant = line.starts_with("    ")
            && !line.starts_with("     ")
            && word.starts_with(|c: char| c.is_ascii_uppercase())
            && (rest == "," || rest.starts_with('(') || rest.starts_with(" {"));
        if (is_field || is_variant) && !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

#[test]
fn the_world_reference_names_every_field_and_variant() {
    let root = worlds_dir().join("..");
    let raw = std::fs::read_to_string(root.join("crates/scenario/src/raw.rs")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/worlds.md")).unwrap();
    let names = declared(&raw);
    assert!(names.len() > 80, "the scan found only {names:?}");
    for must in ["keeper_gas", "window_blocks", "PriorityGasAuction", "ToBandEdge", "Poisson"] {
        assert!(names.iter().any(|n| n == must), "the scan missed {must}");
    }
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| {
            !doc.contains(&format!("`{n}"))
                && !doc.contains(&format!("{n}("))
                && !doc.contains(&format!(" {n},"))
                && !doc.contains(&format!("({n},"))
                && !doc.contains(&format!(", {n})"))
                && !doc.contains(&format!("{n}:"))
        })
        .collect();
    assert!(missing.is_empty(), "docs/worlds.md does not document {missing:?}");
}
