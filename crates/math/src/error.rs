//! The one error type of the math crate.

use std::fmt;

/// Which contract family raised a revert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Uniswap v2 pair / library.
    UniswapV2,
    /// Uniswap v3 pool and its libraries.
    UniswapV3,
    /// Curve stableswap (classic and NG).
    Curve,
    /// Balancer V2 weighted pools and their fixed-point libraries.
    Balancer,
    /// Aave v3 pool libraries (WadRayMath, MathUtils, the interest rate strategy, logic).
    Aave,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::UniswapV2 => "UniswapV2",
            Protocol::UniswapV3 => "UniswapV3",
            Protocol::Curve => "Curve",
            Protocol::Balancer => "Balancer",
            Protocol::Aave => "Aave",
        })
    }
}

/// Everything that can go wrong in pool math. Nothing in this crate panics on input; a contract's
/// `require` becomes [`MathError::Revert`] carrying the contract's own reason string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    /// The contract would revert; `reason` is its revert string (e.g. `"UniswapV2: K"`, `"SPL"`,
    /// `"BAL#304"`).
    #[error("{protocol} reverted: {reason}")]
    Revert {
        /// Contract family.
        protocol: Protocol,
        /// The contract's revert reason (or the `dev:` comment of an unnamed `assert`).
        reason: &'static str,
    },
    /// An intermediate or result did not fit its integer type (the contract would revert on a
    /// checked operation or a `SafeCast`).
    #[error("arithmetic overflow in {what}")]
    Overflow {
        /// Where it overflowed.
        what: &'static str,
    },
    /// A division whose divisor was zero.
    #[error("division by zero in {what}")]
    DivisionByZero {
        /// Where it happened.
        what: &'static str,
    },
    /// A token index outside the pool.
    #[error("token index {index} out of range for a pool of {n_tokens} tokens")]
    TokenIndex {
        /// The index that was asked for.
        index: usize,
        /// How many tokens the pool has.
        n_tokens: usize,
    },
    /// The same token given as input and output.
    #[error("token in and token out are the same index {index}")]
    SameToken {
        /// The repeated index.
        index: usize,
    },
    /// A pool parameter outside what the contract accepts.
    #[error("invalid pool parameter {name}: {detail}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// What was wrong, with the value.
        detail: String,
    },
    /// An iterative solver (Curve's Newton loops, trade-to-price) did not converge.
    #[error("{what} did not converge in {iterations} iterations")]
    NoConvergence {
        /// Which solver.
        what: &'static str,
        /// Iterations spent.
        iterations: u32,
    },
}

impl MathError {
    /// Shorthand for a contract revert.
    pub(crate) const fn revert(protocol: Protocol, reason: &'static str) -> Self {
        MathError::Revert { protocol, reason }
    }
}

/// Result alias of the crate.
pub type MathResult<T> = Result<T, MathError>;
