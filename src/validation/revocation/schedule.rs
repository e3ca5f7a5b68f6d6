//! When a CRL source is fetched again: its refresh, the CRL's nextUpdate, the lease that lets
//! one VM of the Envoy fetch, and the backoff after failures. [`Meta`] is what every VM reads
//! of a source in shared data.

/// How long a CRL fetch may take, milliseconds.
pub const CRL_FETCH_TIMEOUT_MS: u32 = 10_000;
/// How long a fetch lease holds, seconds: the fetch's timeout and some slack. A VM that dies
/// while fetching blocks the source no longer than this.
pub const LEASE_SECONDS: i64 = 15;
/// The first retry after a failed fetch, seconds; it doubles with each failure in a row, up to
/// [`MAX_BACKOFF_SECONDS`] (and never beyond `refreshSeconds`).
pub const FIRST_BACKOFF_SECONDS: i64 = 2;
/// The longest wait between retries, seconds.
pub const MAX_BACKOFF_SECONDS: i64 = 300;
/// A CRL is fetched again this long before its nextUpdate (at most), seconds.
pub const NEAR_NEXT_UPDATE_SECONDS: i64 = 300;
/// Whatever its nextUpdate says, a CRL is not fetched again sooner than this after a success
/// (or `refreshSeconds`, if shorter), seconds: a CA that publishes late is not hammered.
pub const MIN_REFETCH_SECONDS: i64 = 60;

/// The metadata of a fetched CRL in shared data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// Increments with every CRL published; 0: none yet.
    pub generation: u64,
    /// When the current CRL was fetched.
    pub fetched: i64,
    /// Its nextUpdate.
    pub next_update: Option<i64>,
    /// A fetch is under way until then.
    pub lease_until: i64,
    /// Failed fetches in a row.
    pub failures: u32,
    /// No new attempt before then.
    pub retry_at: i64,
}

impl Meta {
    /// Reads the shared-data form; what does not parse counts as absent.
    pub fn parse(bytes: &[u8]) -> Meta {
        let mut meta = Meta::default();
        for field in String::from_utf8_lossy(bytes).split(' ') {
            let Some((k, v)) = field.split_once('=') else {
                continue;
            };
            match k {
                "gen" => meta.generation = v.parse().unwrap_or(0),
                "fetched" => meta.fetched = v.parse().unwrap_or(0),
                "next" => meta.next_update = v.parse().ok(),
                "lease" => meta.lease_until = v.parse().unwrap_or(0),
                "fails" => meta.failures = v.parse().unwrap_or(0),
                "retry" => meta.retry_at = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        meta
    }

    /// The shared-data form.
    pub fn encode(&self) -> String {
        format!(
            "gen={} fetched={} next={} lease={} fails={} retry={}",
            self.generation,
            self.fetched,
            self.next_update
                .map_or_else(|| "-".to_string(), |n| n.to_string()),
            self.lease_until,
            self.failures,
            self.retry_at
        )
    }

    /// Whether a fetch should start now.
    pub fn due(&self, now: i64, refresh: i64) -> bool {
        if now < self.lease_until || now < self.retry_at {
            return false;
        }
        if self.generation == 0 {
            return true;
        }
        let mut due_at = self.fetched.saturating_add(refresh);
        if let Some(next) = self.next_update {
            due_at = due_at.min(next.saturating_sub(NEAR_NEXT_UPDATE_SECONDS.min(refresh / 2)));
        }
        due_at = due_at.max(
            self.fetched
                .saturating_add(MIN_REFETCH_SECONDS.min(refresh)),
        );
        now >= due_at
    }

    /// This VM takes the lease: it fetches, the others wait until the lease ends.
    pub fn lease(&mut self, now: i64) {
        self.lease_until = now.saturating_add(LEASE_SECONDS);
    }

    /// A CRL fetched at `now` (with its nextUpdate) was published: a new generation, the
    /// streak and the lease cleared. Returns how many failures in a row it ends.
    pub fn published(&mut self, now: i64, next_update: Option<i64>) -> u32 {
        let recovered = self.failures;
        self.generation += 1;
        self.fetched = now;
        self.next_update = next_update;
        self.lease_until = 0;
        self.failures = 0;
        self.retry_at = 0;
        recovered
    }

    /// A fetch failed at `now`: the streak grows, the next attempt backs off, the lease is
    /// released. Returns whether it is the first failure of a streak.
    pub fn failed(&mut self, now: i64, refresh: i64) -> bool {
        let first = self.failures == 0;
        self.failures = self.failures.saturating_add(1);
        self.retry_at = now.saturating_add(backoff(self.failures, refresh));
        self.lease_until = 0;
        first
    }
}

/// The wait before the next attempt after `failures` failed fetches in a row.
pub fn backoff(failures: u32, refresh: i64) -> i64 {
    let doubled = FIRST_BACKOFF_SECONDS.saturating_mul(1i64 << failures.saturating_sub(1).min(20));
    doubled.min(MAX_BACKOFF_SECONDS).min(refresh).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips() {
        let meta = Meta {
            generation: 7,
            fetched: 100,
            next_update: Some(5000),
            lease_until: 115,
            failures: 2,
            retry_at: 120,
        };
        assert_eq!(Meta::parse(meta.encode().as_bytes()), meta);
        assert_eq!(Meta::parse(b"garbage"), Meta::default());
    }

    #[test]
    fn a_source_is_due_first_at_once_then_each_refresh_and_before_next_update() {
        let fresh = Meta::default();
        assert!(fresh.due(0, 3600));
        let fetched = Meta {
            generation: 1,
            fetched: 1000,
            next_update: Some(1000 + 86_400),
            ..Meta::default()
        };
        // Each: the metadata, its refresh, and the first second it is due.
        let cases = [
            (fetched.clone(), 3600, 1000 + 3600, "each refresh"),
            (
                Meta {
                    next_update: Some(1000 + 1000),
                    ..fetched.clone()
                },
                3600,
                1000 + 700,
                "a nextUpdate sooner than the refresh brings the fetch forward",
            ),
            (
                Meta {
                    next_update: Some(1000),
                    ..fetched.clone()
                },
                3600,
                1000 + 60,
                "but never sooner than a minute after the last success",
            ),
            (
                Meta {
                    next_update: Some(1000 + 120),
                    ..fetched.clone()
                },
                100,
                1000 + 70,
                "with a short refresh the margin before nextUpdate is half of it (50 s)",
            ),
            (
                Meta {
                    lease_until: 5000,
                    ..fetched.clone()
                },
                3600,
                5000,
                "a lease held waits",
            ),
        ];
        for (meta, refresh, first, what) in cases {
            assert!(!meta.due(first - 1, refresh), "{what}");
            assert!(meta.due(first, refresh), "{what}");
        }
        // A retry not yet due waits.
        let backing_off = Meta {
            retry_at: 9000,
            ..fetched
        };
        assert!(!backing_off.due(8999, 3600));
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_the_refresh() {
        assert_eq!(
            (1..=10).map(|f| backoff(f, 3600)).collect::<Vec<_>>(),
            vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
        );
        assert_eq!(backoff(5, 10), 10);
        assert_eq!(backoff(1, 1), 1);
    }
}
