//! Who owns a claimed delivery row: `host:pid:nonce`, unique per process. The
//! name is for people reading the log; whether its owner lives is told by its
//! heartbeat (`db::Replica`), never by parsing it: containers share hostnames
//! and pids.

/// This machine's name as people know it (the heartbeat's label).
pub fn host_label() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace(':', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `host:pid:nonce` naming this process on the rows it claims.
pub fn owner_id() -> String {
    format!(
        "{}:{}:{:016x}",
        host_label(),
        std::process::id(),
        rand::random::<u64>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_start_names_a_new_owner_on_this_host() {
        let (a, b) = (owner_id(), owner_id());
        assert_ne!(a, b, "the nonce tells two starts with one pid apart");
        let prefix = format!("{}:{}:", host_label(), std::process::id());
        assert!(a.starts_with(&prefix) && b.starts_with(&prefix), "{a} {b}");
    }
}
