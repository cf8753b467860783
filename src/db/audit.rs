//! The `audit` table: every admin action and every refused attempt.

use chrono::{DateTime, Utc};

use crate::db::{Db, Result, ts};

/// How an admin action ended, as stored in the `result` column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditOutcome {
    Ok,
    /// Not an admin, or not in a private chat or the admin chat.
    Refused,
    Failed(String),
    /// A button pressed too late, twice, or for nothing.
    Ignored(String),
    /// Done, with what came of it («3 part(s)», «awaiting confirmation …»).
    Done(String),
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditOutcome::Ok => f.write_str("ok"),
            AuditOutcome::Refused => f.write_str("refused"),
            AuditOutcome::Failed(why) => write!(f, "failed: {why}"),
            AuditOutcome::Ignored(why) => write!(f, "ignored: {why}"),
            AuditOutcome::Done(what) => f.write_str(what),
        }
    }
}

impl From<&str> for AuditOutcome {
    fn from(text: &str) -> Self {
        match text {
            "ok" => AuditOutcome::Ok,
            "refused" => AuditOutcome::Refused,
            _ => match (
                text.strip_prefix("failed: "),
                text.strip_prefix("ignored: "),
            ) {
                (Some(why), _) => AuditOutcome::Failed(why.to_owned()),
                (_, Some(why)) => AuditOutcome::Ignored(why.to_owned()),
                _ => AuditOutcome::Done(text.to_owned()),
            },
        }
    }
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// RFC 3339 UTC.
    pub at: String,
    pub user_id: Option<i64>,
    pub action: String,
    pub detail: String,
    pub outcome: AuditOutcome,
}

impl Db {
    pub async fn audit(
        &self,
        user_id: Option<u64>,
        action: &str,
        detail: &str,
        outcome: &AuditOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on!(self, pool => sqlx::query(
            "INSERT INTO audit (at, user_id, action, detail, result) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(ts(now))
        .bind(user_id.map(|u| u as i64))
        .bind(action)
        .bind(detail)
        .bind(outcome.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        type Row = (String, Option<i64>, String, String, String);
        let rows: Vec<Row> = on!(self, pool => sqlx::query_as("SELECT at, user_id, action, COALESCE(detail, '') AS detail, result FROM audit ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(at, user_id, action, detail, result)| AuditEntry {
                at,
                user_id,
                action,
                detail,
                outcome: AuditOutcome::from(result.as_str()),
            })
            .collect())
    }
}
