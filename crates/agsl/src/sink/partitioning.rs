//! The partition layout of a converted table: the seed's keys per service (FORMATS.md 7.7), or
//! the same led by `account_id=` for sources that hold several accounts' logs (organization
//! trails, central logging buckets). The choice is fixed per table: a target written in one
//! layout is refused in the other, as readers would see two layouts mixed.

use std::fmt;
use std::str::FromStr;

use agsl_formats::{HIVE_DEFAULT_PARTITION, LogFormat, Partitioning};

/// The partition key that leads the account layout.
pub const ACCOUNT_KEY: &str = "account_id";

/// Which partition layout a job writes (`--partitioning`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PartitionLayout {
    /// The seed's: `region=/year=/month=/day=`, or `year=/month=/day=`.
    #[default]
    Seed,
    /// `account_id=` first, then the seed's keys.
    Account,
}

impl FromStr for PartitionLayout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "seed" => Ok(PartitionLayout::Seed),
            "account" => Ok(PartitionLayout::Account),
            _ => Err(format!(
                "unknown partitioning `{text}`; expected seed (region/year/month/day, as the seed \
                 wrote) or account (account_id first)"
            )),
        }
    }
}

impl fmt::Display for PartitionLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionLayout::Seed => "seed",
            PartitionLayout::Account => "account",
        })
    }
}

/// The partition keys and folder paths of one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TablePartitioning {
    pub base: Partitioning,
    pub layout: PartitionLayout,
}

impl TablePartitioning {
    pub fn new(base: Partitioning, layout: PartitionLayout) -> Self {
        Self { base, layout }
    }

    /// The partitioning of `format`'s table in `layout`.
    pub fn of(format: &dyn LogFormat, layout: PartitionLayout) -> Self {
        Self::new(format.info().partitioning, layout)
    }

    /// The partition key names, in path order.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::with_capacity(5);
        if self.layout == PartitionLayout::Account {
            keys.push(ACCOUNT_KEY);
        }
        keys.extend_from_slice(self.base.keys());
        keys
    }

    /// The Hive partition path of a row: e.g. `account_id=…/region=…/year=YYYY/month=MM/day=DD`
    /// for `day` days since 1970-01-01 (UTC). A missing account or region is Hive's NULL.
    pub fn path(&self, account: Option<&str>, region: Option<&str>, day: i64) -> String {
        self.with_account(account, self.base.path(region, day))
    }

    /// The partition path of rows without an event time whose object key has no date either:
    /// Hive's NULL for `year`, `month` and `day`.
    pub fn undated_path(&self, account: Option<&str>, region: Option<&str>) -> String {
        let dated = self.base.path(region, 0);
        let undated = dated.split_once("year=").map_or(dated.clone(), |(keys, _)| {
            format!(
                "{keys}year={HIVE_DEFAULT_PARTITION}/month={HIVE_DEFAULT_PARTITION}/day={HIVE_DEFAULT_PARTITION}"
            )
        });
        self.with_account(account, undated)
    }

    fn with_account(&self, account: Option<&str>, seed: String) -> String {
        match self.layout {
            PartitionLayout::Seed => seed,
            PartitionLayout::Account => format!(
                "{ACCOUNT_KEY}={}/{seed}",
                account.unwrap_or(HIVE_DEFAULT_PARTITION)
            ),
        }
    }

    /// The layout a table file's path (relative to its table folder) was written in.
    pub fn layout_of(path_in_table: &str) -> PartitionLayout {
        if path_in_table
            .strip_prefix(ACCOUNT_KEY)
            .is_some_and(|rest| rest.starts_with('='))
        {
            PartitionLayout::Account
        } else {
            PartitionLayout::Seed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_paths_are_the_formats_own() {
        for base in [Partitioning::RegionDate, Partitioning::Date] {
            let seed = TablePartitioning::new(base, PartitionLayout::Seed);
            assert_eq!(seed.keys(), base.keys());
            assert_eq!(
                seed.path(Some("123456789012"), Some("eu-west-1"), 19_789),
                base.path(Some("eu-west-1"), 19_789)
            );
        }
    }

    #[test]
    fn account_paths_lead_with_the_account() {
        let by_account = TablePartitioning::new(Partitioning::RegionDate, PartitionLayout::Account);
        assert_eq!(
            by_account.keys(),
            ["account_id", "region", "year", "month", "day"]
        );
        let path = by_account.path(Some("123456789012"), Some("eu-west-1"), 19_789);
        assert_eq!(
            path,
            "account_id=123456789012/region=eu-west-1/year=2024/month=03/day=07"
        );
        assert_eq!(
            TablePartitioning::layout_of(&path),
            PartitionLayout::Account
        );
        let flat = TablePartitioning::new(Partitioning::Date, PartitionLayout::Account);
        assert_eq!(
            flat.path(None, None, 0),
            "account_id=__HIVE_DEFAULT_PARTITION__/year=1970/month=01/day=01"
        );
        assert_eq!(
            TablePartitioning::layout_of("year=1970/month=01/day=01/part-1.parquet"),
            PartitionLayout::Seed
        );
        assert_eq!("account".parse(), Ok(PartitionLayout::Account));
        assert!("dt".parse::<PartitionLayout>().is_err());
    }
}
