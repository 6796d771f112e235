//! How long what is kept only for a while is kept (the retention flags), and which process
//! prunes what: the process that owns a table prunes it.
//!
//! - The outbox and the idempotency keys are the write model's, pruned where the **relay**
//!   runs (`serve` unless `--no-relay`, and `relay`): the relay is the one process per write
//!   model that always runs and already works the outbox, while API processes scale out and
//!   `project` may not reach the write model at all.
//! - The applied positions are the read model's, pruned where events are **applied**:
//!   `project` and `serve`'s projector on the real stack; without a broker, the relay's
//!   process, which applies them in-process.
//!
//! Two processes pruning the same table do no harm: each batch deletes what is old, and
//! PostgreSQL's batches skip each other's locked rows.

use std::time::Duration;

use clap::Args;
use shareholders_ports::{
    AppliedRetention, Retained, RetentionSettings, WriteRetention, run_pruning,
};
use tokio::sync::watch;

use crate::stack::{ReadSide, Stack, WriteSide};

/// How long each kind of record is kept. Durations are a whole number and a unit: `s`, `m`,
/// `h` or `d` (as 90s, 15m, 24h, 7d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct RetentionArgs {
    /// How long a published outbox event is kept after its publication. An event an
    /// idempotency key refers to stays as long as the key.
    #[arg(
        long,
        env = "SHAREHOLDERS_OUTBOX_RETENTION",
        default_value = "7d",
        value_parser = parse_duration
    )]
    pub outbox_retention: Duration,
    /// How long an idempotency key replays its first answer; after that, a request repeating
    /// it is a new request.
    #[arg(
        long,
        env = "SHAREHOLDERS_IDEMPOTENCY_RETENTION",
        default_value = "24h",
        value_parser = parse_duration
    )]
    pub idempotency_retention: Duration,
    /// How long the read model keeps the positions it applied one by one (read-your-writes
    /// waits on them). Older ones are folded into its applied-through watermark, and a
    /// position not applied by then (never committed, or dead-lettered) counts as applied.
    #[arg(
        long,
        env = "SHAREHOLDERS_APPLIED_RETENTION",
        default_value = "24h",
        value_parser = parse_duration
    )]
    pub applied_retention: Duration,
    /// Pause between two pruning rounds (each deletes in batches of 10,000).
    #[arg(
        long,
        env = "SHAREHOLDERS_PRUNE_INTERVAL",
        default_value = "60s",
        value_parser = parse_interval
    )]
    pub prune_interval: Duration,
}

impl Default for RetentionArgs {
    fn default() -> Self {
        Self {
            outbox_retention: RetentionSettings::OUTBOX_EVENTS,
            idempotency_retention: RetentionSettings::IDEMPOTENCY_KEYS,
            applied_retention: RetentionSettings::APPLIED_POSITIONS,
            prune_interval: RetentionSettings::INTERVAL,
        }
    }
}

impl RetentionArgs {
    #[must_use]
    pub fn settings(&self) -> RetentionSettings {
        RetentionSettings {
            outbox_events: self.outbox_retention,
            idempotency_keys: self.idempotency_retention,
            applied_positions: self.applied_retention,
            interval: self.prune_interval,
            batch: RetentionSettings::BATCH,
        }
    }
}

/// A duration as the flags take it: a whole number and a unit, `s`, `m`, `h` or `d`.
///
/// # Errors
/// A message naming the input, for anything else (no unit, another unit, a fraction, a sign,
/// a number past what a duration holds).
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let explain = || {
        format!(
            "a duration is a whole number and a unit, s, m, h or d (as 90s, 15m, 24h, 7d), \
             not {input:?}"
        )
    };
    let trimmed = input.trim();
    let unit_at = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(explain)?;
    let (number, unit) = trimmed.split_at(unit_at);
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(explain()),
    };
    let number: u64 = number.parse().map_err(|_| explain())?;
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{input:?} is longer than any duration this can wait"))
}

/// A pause between rounds: a duration, and not zero.
fn parse_interval(input: &str) -> Result<Duration, String> {
    let interval = parse_duration(input)?;
    if interval.is_zero() {
        return Err(format!(
            "the interval between rounds cannot be 0 ({input:?})"
        ));
    }
    Ok(interval)
}

/// What a process prunes: the write model when it runs the relay, the read model's applied
/// positions when it applies events.
#[must_use]
pub fn retained(stack: &Stack, relays: bool, applies: bool) -> Retained {
    let write: Option<std::sync::Arc<dyn WriteRetention>> = match (&stack.write, relays) {
        (_, false) => None,
        (WriteSide::Embedded(s), true) => Some(std::sync::Arc::new(s.clone())),
        (WriteSide::Postgres(s), true) => Some(std::sync::Arc::new(s.clone())),
    };
    let applied: Option<std::sync::Arc<dyn AppliedRetention>> = match (&stack.read, applies) {
        (_, false) => None,
        (ReadSide::Embedded(s), true) => Some(std::sync::Arc::new(s.clone())),
        (ReadSide::Mongo(m), true) => Some(std::sync::Arc::new(m.clone())),
    };
    Retained { write, applied }
}

/// Starts pruning `retained` until `signal` turns true; `None` when there is nothing to prune.
#[must_use]
pub fn start(
    retained: Retained,
    args: &RetentionArgs,
    signal: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    (!retained.is_empty()).then(|| tokio::spawn(run_pruning(retained, args.settings(), signal)))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("90s", 90)]
    #[case("15m", 900)]
    #[case("24h", 86_400)]
    #[case("7d", 604_800)]
    #[case("0s", 0)]
    #[case(" 1d ", 86_400)]
    fn durations_parse(#[case] input: &str, #[case] seconds: u64) {
        assert_eq!(parse_duration(input), Ok(Duration::from_secs(seconds)));
    }

    #[rstest]
    #[case("")]
    #[case("7")]
    #[case("d")]
    #[case("7w")]
    #[case("1.5h")]
    #[case("-1d")]
    #[case("1h30m")]
    #[case("24 h")]
    #[case("7D")]
    fn bad_durations_are_refused_with_the_rule(#[case] input: &str) {
        let error = parse_duration(input).expect_err("refused");
        assert!(error.contains("s, m, h or d"), "{error}");
        assert!(error.contains(&format!("{input:?}")), "{error}");
    }

    #[test]
    fn a_duration_past_the_clock_is_refused() {
        let error = parse_duration("999999999999999999d").expect_err("refused");
        assert!(error.contains("longer than any duration"), "{error}");
    }

    #[test]
    fn the_interval_cannot_be_zero() {
        assert!(parse_interval("0s").is_err());
        assert_eq!(parse_interval("5m"), Ok(Duration::from_secs(300)));
    }

    #[test]
    fn the_defaults_are_the_documented_ones() {
        let settings = RetentionArgs::default().settings();
        assert_eq!(settings.outbox_events, parse_duration("7d").expect("valid"));
        assert_eq!(
            settings.idempotency_keys,
            parse_duration("24h").expect("valid")
        );
        assert_eq!(
            settings.applied_positions,
            parse_duration("24h").expect("valid")
        );
        assert_eq!(settings.interval, parse_duration("60s").expect("valid"));
        assert_eq!(settings.batch, 10_000);
    }
}
