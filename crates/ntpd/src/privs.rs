//! Dropping root after the sockets are bound: switch to the `-u user[:group]` identity while
//! keeping only the capabilities the daemon still needs: CAP_SYS_TIME (to discipline the
//! clock) and, when it listens on a port below 1024, CAP_NET_BIND_SERVICE (to listen again
//! after an interface comes back). Everything else is removed from the permitted, effective,
//! inheritable and bounding sets, so not even an exec could regain it.

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{setgid, setgroups, setuid, Group, User};

/// The capabilities kept after dropping root.
pub fn kept_capabilities(privileged_port: bool) -> CapsHashSet {
    let mut keep = CapsHashSet::new();
    keep.insert(Capability::CAP_SYS_TIME);
    if privileged_port {
        keep.insert(Capability::CAP_NET_BIND_SERVICE);
    }
    keep
}

/// Switch to `user` (and `group`, default: the user's primary group), keeping `keep`.
///
/// # Errors
/// The user or group is unknown, or a system call failed (the daemon then refuses to start).
pub fn drop_to(user: &str, group: Option<&str>, keep: &CapsHashSet) -> Result<(), String> {
    let u = User::from_name(user)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("unknown user {user}"))?;
    let gid = match group {
        Some(g) => {
            Group::from_name(g)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("unknown group {g}"))?
                .gid
        }
        None => u.gid,
    };
    let running_as_root = nix::unistd::geteuid().is_root();
    if running_as_root {
        // The bounding set can only shrink while we still hold CAP_SETPCAP (as root).
        for cap in caps::all() {
            if !keep.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| format!("bounding set: {e}"))?;
            }
        }
        nix::sys::prctl::set_keepcaps(true).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    }
    if nix::unistd::geteuid() != u.uid {
        setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
        setgid(gid).map_err(|e| format!("setgid: {e}"))?;
        setuid(u.uid).map_err(|e| format!("setuid: {e}"))?;
    }
    if running_as_root {
        caps::set(None, CapSet::Permitted, keep).map_err(|e| format!("permitted set: {e}"))?;
        caps::set(None, CapSet::Effective, keep).map_err(|e| format!("effective set: {e}"))?;
        caps::set(None, CapSet::Inheritable, &CapsHashSet::new())
            .map_err(|e| format!("inheritable set: {e}"))?;
        let _ = nix::sys::prctl::set_keepcaps(false);
    }
    Ok(())
}
