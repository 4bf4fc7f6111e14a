//! `lock`: a lease lock service with fencing tokens (our lock service; one lock per `key`).
//!
//! History conventions:
//! - `acquire`: the `ok` value is the fencing token granted, an integer. Legal only while the lock
//!   is free, and each granted token must be strictly greater than every token granted before it.
//!   An `ok` without a value grants the lock with no token (only mutual exclusion is checked).
//! - `release`: legal only while the lock is held. If the invocation's `value` is a token, it must
//!   be the holder's token.
//! - `renew`: legal only while the lock is held (by the token in its `value`, if any); no change.
//!   A renew whose `ok` value is `false` reports the lease *lost* (the service no longer had it,
//!   or the client gave it up): like a `release`, the lock is free from some point within it.
//!
//! A lease that simply expires is invisible in a history, so the client (or the runner) must record
//! the loss of a lease as a `release` for this model; otherwise a legitimate grant after expiry
//! shows up as two overlapping grants. An acquire of unknown outcome may have granted some token
//! we never saw: the model keeps only its lower bound, which is exact for integer tokens.

use super::super::model::{Model, OpView, key_partition};
use super::as_integer;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// A lock operation as the `lock` model reads it.
pub enum LockOp {
    /// A grant with its token (`None` = granted without a token).
    Acquire(Option<i64>),
    /// An acquire of unknown outcome: if it took effect, its token is unknown.
    AcquireUnknown,
    /// A release, by the token in its value if any.
    Release(Option<i64>),
    /// A renewal, by the token in its value if any.
    Renew(Option<i64>),
    /// A renewal that found the lease lost: frees the lock, like a release.
    Lost(Option<i64>),
}

/// What is known of the holder's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    /// Granted by an acquire that returned no token.
    Untokened,
    /// Granted with exactly this token.
    Exact(i64),
    /// Granted by an acquire of unknown outcome: at least this.
    AtLeast(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// The lock: who holds it (by what token) and the smallest token a grant may carry next.
pub struct LockState {
    /// `None` = free.
    pub holder: Option<Token>,
    /// The smallest token the next grant may carry.
    pub token_min_next: i64,
}

#[derive(Debug, Clone, Copy, Default)]
/// The `lock` model (see the module docs).
pub struct Lock;

impl Model for Lock {
    type Op = LockOp;
    type State = LockState;

    fn name(&self) -> &'static str {
        "lock"
    }

    fn parse(&self, op: &OpView<'_>) -> Result<LockOp, String> {
        match op.f {
            "acquire" | "lock" if !op.known => Ok(LockOp::AcquireUnknown),
            "acquire" | "lock" => token(op.output, "acquire's ok value").map(LockOp::Acquire),
            "release" | "unlock" => token(op.input, "release's value").map(LockOp::Release),
            "renew" if op.known && op.output == Some(&Value::Bool(false)) => {
                token(op.input, "renew's value").map(LockOp::Lost)
            }
            "renew" => token(op.input, "renew's value").map(LockOp::Renew),
            other => Err(format!(
                "unknown operation `{other}` (expected acquire, release, renew)"
            )),
        }
    }

    fn partition(&self, op: &OpView<'_>) -> Option<String> {
        key_partition(op)
    }

    fn init(&self) -> LockState {
        LockState {
            holder: None,
            token_min_next: i64::MIN,
        }
    }

    fn step(&self, state: &LockState, op: &LockOp) -> Option<LockState> {
        let min = state.token_min_next;
        match (*op, state.holder) {
            (LockOp::Acquire(Some(t)), None) if t >= min => Some(LockState {
                holder: Some(Token::Exact(t)),
                token_min_next: t.saturating_add(1),
            }),
            (LockOp::Acquire(None), None) => Some(LockState {
                holder: Some(Token::Untokened),
                token_min_next: min,
            }),
            (LockOp::AcquireUnknown, None) => Some(LockState {
                holder: Some(Token::AtLeast(min)),
                token_min_next: min.saturating_add(1),
            }),
            (LockOp::Release(claimed) | LockOp::Lost(claimed), Some(held)) => {
                let (_, token_min_next) = confirm(held, claimed, min)?;
                Some(LockState {
                    holder: None,
                    token_min_next,
                })
            }
            (LockOp::Renew(claimed), Some(held)) => {
                let (token, token_min_next) = confirm(held, claimed, min)?;
                Some(LockState {
                    holder: Some(token),
                    token_min_next,
                })
            }
            _ => None,
        }
    }

    fn describe_op(&self, op: &LockOp) -> String {
        match op {
            LockOp::Acquire(Some(t)) => format!("acquire → token {t}"),
            LockOp::Acquire(None) => "acquire → (no token)".to_string(),
            LockOp::AcquireUnknown => "acquire → ?".to_string(),
            LockOp::Release(Some(t)) => format!("release(token {t})"),
            LockOp::Release(None) => "release".to_string(),
            LockOp::Renew(Some(t)) => format!("renew(token {t})"),
            LockOp::Renew(None) => "renew".to_string(),
            LockOp::Lost(Some(t)) => format!("renew(token {t}) → lost"),
            LockOp::Lost(None) => "renew → lost".to_string(),
        }
    }

    fn describe_state(&self, state: &LockState) -> String {
        let last = if state.token_min_next == i64::MIN {
            String::new()
        } else {
            format!(", next token ≥ {}", state.token_min_next)
        };
        match state.holder {
            None => format!("free{last}"),
            Some(Token::Untokened) => format!("held{last}"),
            Some(Token::Exact(t)) => format!("held by token {t}{last}"),
            Some(Token::AtLeast(t)) => format!("held by a token ≥ {t}{last}"),
        }
    }
}

/// Checks a claimed holder token; returns the (possibly refined) token and next minimum.
fn confirm(held: Token, claimed: Option<i64>, min: i64) -> Option<(Token, i64)> {
    match (held, claimed) {
        (_, None) | (Token::Untokened, Some(_)) => Some((held, min)),
        (Token::Exact(t), Some(c)) => (t == c).then_some((held, min)),
        (Token::AtLeast(lower), Some(c)) => {
            (c >= lower).then(|| (Token::Exact(c), min.max(c.saturating_add(1))))
        }
    }
}

fn token(value: Option<&Value>, what: &str) -> Result<Option<i64>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_integer(v)
            .map(Some)
            .ok_or_else(|| format!("{what} must be an integer fencing token, got {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ops: &[LockOp]) -> Option<LockState> {
        let lock = Lock;
        ops.iter()
            .try_fold(lock.init(), |state, op| lock.step(&state, op))
    }

    #[test]
    fn tokens_must_increase_and_grants_must_not_overlap() {
        use LockOp::*;
        assert!(run(&[Acquire(Some(1)), Release(Some(1)), Acquire(Some(2))]).is_some());
        assert!(run(&[Acquire(Some(2)), Release(None), Acquire(Some(2))]).is_none());
        assert!(run(&[Acquire(Some(1)), Acquire(Some(2))]).is_none());
        assert!(run(&[Release(None)]).is_none());
        assert!(run(&[Acquire(Some(1)), Release(Some(3))]).is_none());
        assert!(run(&[Acquire(Some(1)), Renew(Some(1)), Renew(Some(2))]).is_none());
        assert!(run(&[Acquire(Some(1)), Lost(Some(1)), Acquire(Some(2))]).is_some());
        assert!(run(&[Acquire(Some(1)), Lost(Some(2))]).is_none());
        assert!(run(&[Lost(None)]).is_none());
    }

    #[test]
    fn an_unknown_grant_keeps_an_exact_lower_bound() {
        use LockOp::*;
        // 5 was granted, then an unknown grant took a token ≥ 6: the next grant needs ≥ 7.
        let base = [
            Acquire(Some(5)),
            Release(None),
            AcquireUnknown,
            Release(None),
        ];
        assert!(run(&[&base[..], &[Acquire(Some(6))]].concat()).is_none());
        assert!(run(&[&base[..], &[Acquire(Some(7))]].concat()).is_some());
        // Releasing the unknown grant by token 9 pins it: the next grant needs ≥ 10.
        let pinned = [
            Acquire(Some(5)),
            Release(None),
            AcquireUnknown,
            Release(Some(9)),
        ];
        assert!(run(&[&pinned[..], &[Acquire(Some(9))]].concat()).is_none());
        assert!(run(&[&pinned[..], &[Acquire(Some(10))]].concat()).is_some());
        assert!(
            run(&[
                Acquire(Some(5)),
                Release(None),
                AcquireUnknown,
                Release(Some(5))
            ])
            .is_none()
        );
    }
}
