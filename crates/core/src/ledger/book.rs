//! The ledger's data: accounts, their numbering, balances, and what a transfer can fail with.
//! Plain data, free of the ECS schedule, so that the types every domain shares (receipts,
//! snapshots) depend on it and not on the plugin.

use bevy_ecs::prelude::*;
use meshsim_scenario::{AgentId, MarketId, PoolId, TokenId, VaultId};

/// An account in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub u32);

/// Accounts that belong to no entity of the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// The passive liquidity providers who seeded the pools.
    Lp,
    /// The external exchange arbitrageurs hedge on (deep, priced at the external price).
    Cex,
    /// Base fees burned by EIP-1559.
    Burn,
    /// The block proposer, who receives priority fees.
    Proposer,
    /// Protocol fees taken out of pools (Curve admin fees).
    Protocol,
    /// The batch auction's settlement account (holds rounding dust).
    Settlement,
}

const SPECIALS: [Special; 6] =
    [Special::Lp, Special::Cex, Special::Burn, Special::Proposer, Special::Protocol, Special::Settlement];

impl Special {
    /// Name used in output tables.
    pub fn name(self) -> &'static str {
        match self {
            Special::Lp => "lp",
            Special::Cex => "cex",
            Special::Burn => "burn",
            Special::Proposer => "proposer",
            Special::Protocol => "protocol",
            Special::Settlement => "settlement",
        }
    }
}

/// Account numbering: pools, then agents, then vaults, then the special accounts, then lending
/// markets, then bridges, then order books (each appended last so that worlds without them number every account as
/// before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLayout {
    /// Number of pools.
    pub pools: u32,
    /// Number of agents.
    pub agents: u32,
    /// Number of vaults (each has its own, its keeper's and its depositors' accounts).
    pub vaults: u32,
    /// Number of lending markets (each has its custody and its passive borrowers' accounts).
    pub markets: u32,
    /// Number of bridges (each has its fee and its relayer's accounts).
    pub bridges: u32,
    /// Number of order books (each has its escrow and its fee accounts).
    pub books: u32,
}

impl AccountLayout {
    /// A pool's account.
    pub fn pool(&self, id: PoolId) -> AccountId {
        AccountId(id.0)
    }
    /// An agent's account.
    pub fn agent(&self, id: AgentId) -> AccountId {
        AccountId(self.pools + id.0)
    }
    /// A vault's custody account.
    pub fn vault(&self, id: VaultId) -> AccountId {
        AccountId(self.pools + self.agents + id.0)
    }
    /// A vault keeper's account (pays the vault's gas).
    pub fn keeper(&self, id: VaultId) -> AccountId {
        AccountId(self.pools + self.agents + self.vaults + id.0)
    }
    /// A vault's depositors, together.
    pub fn depositors(&self, id: VaultId) -> AccountId {
        AccountId(self.pools + self.agents + 2 * self.vaults + id.0)
    }
    /// A special account.
    pub fn special(&self, s: Special) -> AccountId {
        let k = SPECIALS.iter().position(|x| *x == s).unwrap_or(0) as u32;
        AccountId(self.pools + self.agents + 3 * self.vaults + k)
    }
    /// A lending market's custody account: the underlying it holds, every reserve's.
    pub fn market(&self, id: MarketId) -> AccountId {
        AccountId(self.pools + self.agents + 3 * self.vaults + SPECIALS.len() as u32 + 2 * id.0)
    }
    /// A lending market's passive borrowers (genesis debt, collateralized outside the world).
    pub fn market_borrowers(&self, id: MarketId) -> AccountId {
        AccountId(self.market(id).0 + 1)
    }
    /// A bridge's fee account: what it keeps of each transfer, on the destination chain.
    pub fn bridge_fees(&self, id: meshsim_scenario::BridgeId) -> AccountId {
        let markets_end = self.pools + self.agents + 3 * self.vaults + SPECIALS.len() as u32 + 2 * self.markets;
        AccountId(markets_end + 2 * u32::from(id.0))
    }
    /// A bridge's relayer (intent bridges): the capital it fronts, on both chains.
    pub fn bridge_relayer(&self, id: meshsim_scenario::BridgeId) -> AccountId {
        AccountId(self.bridge_fees(id).0 + 1)
    }
    /// An order book's escrow: what its resting orders have put up (base for asks, quote and
    /// the most their maker fees can be for bids).
    pub fn book_escrow(&self, id: meshsim_scenario::BookId) -> AccountId {
        let bridges_end = self.bridge_fees(meshsim_scenario::BridgeId(0)).0 + 2 * self.bridges;
        AccountId(bridges_end + 2 * id.0)
    }
    /// An order book's fee account: taker and maker fees, less rebates.
    pub fn book_fees(&self, id: meshsim_scenario::BookId) -> AccountId {
        AccountId(self.book_escrow(id).0 + 1)
    }
    /// Total accounts.
    pub fn len(&self) -> usize {
        (self.pools + self.agents + 3 * self.vaults) as usize
            + SPECIALS.len()
            + 2 * self.markets as usize
            + 2 * self.bridges as usize
            + 2 * self.books as usize
    }
    /// Never empty (special accounts always exist).
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Why a transfer or a check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The sender lacks the amount.
    #[error("account {account:?} holds {available} of token {token:?}, needs {needed}")]
    Insufficient {
        /// Sender.
        account: AccountId,
        /// Token.
        token: TokenId,
        /// Amount asked.
        needed: u128,
        /// Amount held.
        available: u128,
    },
    /// A receiving balance would overflow.
    #[error("account {account:?} balance of token {token:?} would overflow")]
    Overflow {
        /// Receiver.
        account: AccountId,
        /// Token.
        token: TokenId,
    },
    /// Token totals differ from the supply.
    #[error("conservation broken for token {symbol}: supply {supply}, accounts hold {held} (difference {difference})")]
    Conservation {
        /// Token symbol.
        symbol: String,
        /// Supply recorded at genesis.
        supply: u128,
        /// Sum over all accounts now.
        held: u128,
        /// `held - supply` as a signed figure.
        difference: i128,
    },
}

/// All balances, accounts x tokens.
#[derive(Component, Debug, Clone)]
pub struct Ledger {
    n_tokens: usize,
    balances: Vec<u128>,
    supply: Vec<u128>,
    /// Per account, how many times its balances changed: a reader that remembers the count it
    /// last saw knows without reading them whether they moved (a vault's holdings, read twice a
    /// block, change only when it trades).
    versions: Vec<u64>,
}

/// Two ledgers are equal when they hold the same balances and supply, whatever their histories.
impl PartialEq for Ledger {
    fn eq(&self, other: &Self) -> bool {
        (self.n_tokens, &self.balances, &self.supply) == (other.n_tokens, &other.balances, &other.supply)
    }
}

impl Eq for Ledger {}

impl Ledger {
    /// An empty ledger.
    pub fn new(accounts: usize, n_tokens: usize) -> Self {
        Ledger {
            n_tokens,
            balances: vec![0; accounts * n_tokens],
            supply: vec![0; n_tokens],
            versions: vec![0; accounts],
        }
    }

    /// How many times `account`'s balances have changed (see the field's note).
    #[inline]
    pub fn version(&self, account: AccountId) -> u64 {
        self.versions.get(account.0 as usize).copied().unwrap_or(0)
    }

    #[inline]
    fn touch(&mut self, account: AccountId) {
        if let Some(v) = self.versions.get_mut(account.0 as usize) {
            *v += 1;
        }
    }

    /// Genesis issuance: creates `amount` in `account` and counts it into the supply.
    pub fn mint_genesis(&mut self, account: AccountId, token: TokenId, amount: u128) -> Result<(), LedgerError> {
        let k = self.slot(account, token);
        let overflow = LedgerError::Overflow { account, token };
        let balance = self.balances[k].checked_add(amount).ok_or(overflow.clone())?;
        self.supply[token.index()] = self.supply[token.index()].checked_add(amount).ok_or(overflow)?;
        self.balances[k] = balance;
        self.touch(account);
        Ok(())
    }

    fn slot(&self, account: AccountId, token: TokenId) -> usize {
        account.0 as usize * self.n_tokens + token.index()
    }

    /// Balance of `account` in `token`.
    pub fn balance(&self, account: AccountId, token: TokenId) -> u128 {
        self.balances.get(self.slot(account, token)).copied().unwrap_or(0)
    }

    /// All balances of one account, by token id.
    pub fn account(&self, account: AccountId) -> &[u128] {
        let start = account.0 as usize * self.n_tokens;
        self.balances.get(start..start + self.n_tokens).unwrap_or(&[])
    }

    /// Supply of a token.
    pub fn supply(&self, token: TokenId) -> u128 {
        self.supply[token.index()]
    }

    /// Number of tokens.
    pub fn n_tokens(&self) -> usize {
        self.n_tokens
    }

    /// Moves `amount` of `token` from one account to another; all or nothing.
    #[inline]
    pub fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        token: TokenId,
        amount: u128,
    ) -> Result<(), LedgerError> {
        if amount == 0 || from == to {
            return Ok(());
        }
        let (f, t) = (self.slot(from, token), self.slot(to, token));
        let available = self.balances[f];
        if available < amount {
            return Err(LedgerError::Insufficient { account: from, token, needed: amount, available });
        }
        let received = self.balances[t].checked_add(amount).ok_or(LedgerError::Overflow { account: to, token })?;
        self.balances[f] = available - amount;
        self.balances[t] = received;
        self.touch(from);
        self.touch(to);
        Ok(())
    }

    /// Creates `amount` of `token` in `account` and raises its supply: only a bridge delivering
    /// what it took on another chain (or refunding it) calls this.
    pub fn mint(&mut self, account: AccountId, token: TokenId, amount: u128) -> Result<(), LedgerError> {
        self.mint_genesis(account, token, amount)
    }

    /// Destroys `amount` of `token` held by `account` and lowers its supply: only a bridge taking
    /// a transfer in calls this. All or nothing.
    pub fn burn(&mut self, account: AccountId, token: TokenId, amount: u128) -> Result<(), LedgerError> {
        let k = self.slot(account, token);
        let available = self.balances[k];
        if available < amount {
            return Err(LedgerError::Insufficient { account, token, needed: amount, available });
        }
        self.balances[k] = available - amount;
        self.supply[token.index()] -= amount;
        self.touch(account);
        Ok(())
    }

    /// Checks every token's total against its supply; `symbols` name tokens in the error.
    pub fn check(&self, symbols: &[String]) -> Result<(), LedgerError> {
        for (k, supply) in self.supply.iter().enumerate() {
            let held = self.balances.iter().skip(k).step_by(self.n_tokens).fold(0u128, |a, b| a.saturating_add(*b));
            if held != *supply {
                return Err(LedgerError::Conservation {
                    symbol: symbols.get(k).cloned().unwrap_or_else(|| format!("#{k}")),
                    supply: *supply,
                    held,
                    difference: held as i128 - *supply as i128,
                });
            }
        }
        Ok(())
    }

    /// Raw balances (accounts x tokens), for digests.
    pub fn raw(&self) -> &[u128] {
        &self.balances
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn transfers_conserve_and_never_overdraw(ops in prop::collection::vec((0u32..4, 0u32..4, 0u16..2, any::<u64>()), 0..200)) {
            let mut l = Ledger::new(4, 2);
            for a in 0..4 {
                for t in 0..2 {
                    l.mint_genesis(AccountId(a), TokenId(t), 1_000_000).unwrap();
                }
            }
            for (from, to, token, amount) in ops {
                let before = l.balance(AccountId(from), TokenId(token));
                let snapshot: Vec<(u64, Vec<u128>)> = (0..4).map(|a| (l.version(AccountId(a)), l.account(AccountId(a)).to_vec())).collect();
                let r = l.transfer(AccountId(from), AccountId(to), TokenId(token), u128::from(amount % 2_000_000));
                if r.is_err() {
                    prop_assert_eq!(l.balance(AccountId(from), TokenId(token)), before);
                }
                prop_assert!(l.check(&["A".into(), "B".into()]).is_ok());
                // an account whose version did not move holds what it held
                for (a, (version, balances)) in snapshot.iter().enumerate() {
                    if l.version(AccountId(a as u32)) == *version {
                        prop_assert_eq!(l.account(AccountId(a as u32)), &balances[..]);
                    }
                }
            }
        }
    }

    #[test]
    fn check_names_the_token_and_the_difference() {
        let mut l = Ledger::new(2, 1);
        l.mint_genesis(AccountId(0), TokenId(0), 10).unwrap();
        l.balances[1] = 3; // simulate a bug that creates tokens
        let err = l.check(&["WETH".into()]).unwrap_err();
        assert_eq!(err, LedgerError::Conservation { symbol: "WETH".into(), supply: 10, held: 13, difference: 3 });
    }
}
