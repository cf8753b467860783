//! Who owns a claimed delivery row: `host:pid:nonce`, and whether that owner is
//! certainly gone, so its unsent claim may be retried at once.

/// `host:pid:nonce` naming this process on the rows it claims.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace(':', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!(
        "{host}:{}:{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// Whether the process named by `owner` is certainly gone: same host, and either its
/// pid no longer exists or it is this pid with another nonce (a restarted container).
/// On another host only the lease can tell.
pub fn owner_is_dead(owner: &str, me: &str) -> bool {
    let mut theirs = owner.splitn(3, ':');
    let mut mine = me.splitn(3, ':');
    let (Some(host), Some(pid), Some(nonce)) = (theirs.next(), theirs.next(), theirs.next()) else {
        return false;
    };
    let (Some(my_host), Some(my_pid), Some(my_nonce)) = (mine.next(), mine.next(), mine.next())
    else {
        return false;
    };
    if host != my_host || !std::path::Path::new("/proc/self").exists() {
        return false;
    }
    if pid == my_pid {
        return nonce != my_nonce;
    }
    !std::path::Path::new("/proc").join(pid).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_on_this_host() {
        let me = owner_id();
        let host = me.split(':').next().unwrap();
        assert!(!owner_is_dead(&me, &me));
        assert!(owner_is_dead(
            &format!("{host}:{}:0000", std::process::id()),
            &me
        ));
        assert!(owner_is_dead(&format!("{host}:999999999:0000"), &me));
        assert!(!owner_is_dead("elsewhere:1:0", &me));
    }
}
