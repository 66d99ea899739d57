//! meshsim world files.
//!
//! A world is a RON document ([`raw::RawWorld`]) parsed into raw serde structs that deny unknown
//! fields, then validated once into a typed [`Scenario`]: names resolved to ids, decimal amounts
//! parsed exactly into base units, fees converted to each contract's units, pools built with the
//! math crate. Every problem is reported at once with file, line, column and field path.
//!
//! ```
//! let text = r#"World(version: 1, name: "tiny", seed: 1, blocks: 10,
//!     chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 1.0, native_token: "ETH"),
//!     numeraire: "USDC",
//!     tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
//!     market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.5)]),
//!     pools: [ConstantProduct(name: "eth-usdc", tokens: ("ETH", "USDC"), reserves: ("100", "200000"), fee_bps: 30.0)],
//! )"#;
//! let scenario = meshsim_scenario::parse_str(text, "tiny.ron", std::path::Path::new(".")).unwrap();
//! assert_eq!(scenario.pools[0].balances, vec![100 * 10u128.pow(18), 200_000 * 10u128.pow(6)]);
//! ```

mod amount;
pub mod commands;
mod error;
pub mod input;
pub mod limits;
mod locate;
mod model;
pub mod raw;
mod replay;
mod suggest;
mod validate;

use std::path::Path;

pub use amount::parse_amount;
pub use error::{Issue, ScenarioError};
pub use locate::Locations;
pub use model::*;
use sha2::{Digest, Sha256};
pub use suggest::unknown;

/// Reads, parses and validates a world file.
pub fn load_file(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = input::read_text(path, limits::MAX_WORLD_BYTES, "a world file")?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_str(&text, &path.display().to_string(), base)
}

/// Parses and validates a world from text; `origin` names it in errors and `base_dir` resolves
/// relative paths inside it (replay files).
pub fn parse_str(text: &str, origin: &str, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let raw = parse_raw(text, origin)?;
    let hash = hex(&Sha256::digest(text.as_bytes()));
    from_raw(&raw, text, origin, base_dir, hash)
}

/// How every meshsim document (world, command log, sweep and search spec) is read: `Some(..)`
/// may be left out, enum variants holding a struct take its fields directly
/// (`Arbitrageur(name: "a", ..)`), and nesting is bounded.
pub fn ron_options() -> ron::Options {
    let extensions = ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES;
    ron::Options::default().with_recursion_limit(limits::MAX_NESTING).with_default_extension(extensions)
}

/// Only the syntax/shape step: RON into [`raw::RawWorld`].
pub fn parse_raw(text: &str, origin: &str) -> Result<raw::RawWorld, ScenarioError> {
    ron_options().from_str::<raw::RawWorld>(text).map_err(|e| {
        ScenarioError::Syntax(Issue {
            file: origin.to_string(),
            line: e.span.start.line,
            col: e.span.start.col,
            path: String::new(),
            message: e.code.to_string(),
        })
    })
}

/// Validates an already parsed document. `text` is the document it came from (for locations).
pub fn from_raw(
    raw: &raw::RawWorld,
    text: &str,
    origin: &str,
    base_dir: &Path,
    world_hash: String,
) -> Result<Scenario, ScenarioError> {
    validate::validate(raw, base_dir, world_hash).map_err(|problems| {
        let locations = Locations::index(text);
        ScenarioError::Invalid(
            problems
                .0
                .into_iter()
                .map(|(path, message)| {
                    let (line, col) = locations.find(&path);
                    Issue { file: origin.to_string(), line, col, path, message }
                })
                .collect(),
        )
    })
}

/// Lowercase hex of bytes (hashes in outputs).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
