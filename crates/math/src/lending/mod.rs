//! Aave v3 lending math, exact: the ray and percentage arithmetic of `WadRayMath` and
//! `PercentageMath`, the interest accrual of `MathUtils`, the two-slope
//! `DefaultReserveInterestRateStrategyV2`, a reserve's index and treasury accrual as
//! `ReserveLogic` does it, and the health factor and liquidation amounts of `GenericLogic` and
//! `LiquidationLogic`. Rounding is the contracts' (v3.0-v3.3: `rayMul` / `rayDiv` half-up); the
//! floor and ceiling variants later versions use are here for the actions that need them.
//!
//! Rates and indexes are rays (1e27 = 1); parameters in basis points (1e4 = 100 %).

pub mod account;
pub mod rates;
pub mod reserve;
pub mod wad_ray;

pub use account::{
    AccountData, Collateral, Pair, PositionLine, ReserveView, Seizure, account_data, account_data_of, health_f64,
    health_factor, leftover_allowed, max_liquidatable_debt, seize, unit, value_in_base,
};
pub use rates::{RateStrategy, Rates};
pub use reserve::Reserve;
pub use wad_ray::{
    HALF_RAY, PERCENTAGE_FACTOR, RAY, SECONDS_PER_YEAR, WAD, percent_div, percent_mul, ray_div, ray_mul,
};
