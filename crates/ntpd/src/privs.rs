//! Dropping root after the sockets are bound: switch to the `-u user[:group]` identity while
//! keeping only the capabilities the daemon still needs: CAP_SYS_TIME (to discipline the
//! clock) and, when it listens on a port below 1024, CAP_NET_BIND_SERVICE (to listen again
//! after an interface comes back). Everything else is removed from the permitted, effective,
//! inheritable and bounding sets, so not even an exec could regain it.
//! Also the two classic start-up steps around the drop: `-N`/`-P` (real-time priority) and
//! `-i` (chroot into a jail after the configuration, keys and sockets are in hand).

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{setgid, setgroups, setuid, Gid, Group, Uid, User};

use crate::cli::Args;
use crate::log::{Level, Logger};

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
    let (uid, gid) = lookup(user, group)?;
    drop_to_ids(uid, gid, keep)
}

/// The ids of `user` (and `group`, default: the user's primary group). Done before a chroot,
/// whose jail usually has no /etc/passwd.
///
/// # Errors
/// The user or group is unknown, or the lookup failed.
pub fn lookup(user: &str, group: Option<&str>) -> Result<(Uid, Gid), String> {
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
    Ok((u.uid, gid))
}

/// Switch to `uid`/`gid`, keeping `keep`.
///
/// # Errors
/// A system call failed.
pub fn drop_to_ids(uid: Uid, gid: Gid, keep: &CapsHashSet) -> Result<(), String> {
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
    if nix::unistd::geteuid() != uid {
        setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
        setgid(gid).map_err(|e| format!("setgid: {e}"))?;
        setuid(uid).map_err(|e| format!("setuid: {e}"))?;
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

/// Chroot into `dir` and make it the working directory, as classic `-i`: every path opened
/// afterwards (drift, statistics, leap-second files) is inside the jail.
///
/// # Errors
/// The directory is missing, or chroot is not permitted (needs CAP_SYS_CHROOT).
pub fn enter_jail(dir: &str) -> Result<(), String> {
    nix::unistd::chroot(dir).map_err(|e| format!("chroot: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir: {e}"))
}

/// The start-up steps between binding the sockets and serving, in classic order: look the
/// `-u` user up, raise the priority (`-N`/`-P`), enter the jail (`-i`), drop root (`-u`).
///
/// # Errors
/// Unknown user, failed chroot or privilege drop, or root without `-u` under
/// `--require-drop`: the daemon then refuses to start. A priority that cannot be raised is
/// only logged, as classic does.
pub fn harden(args: &Args, log: &Logger) -> Result<(), String> {
    let ids = match args.user_group() {
        Some((user, group)) => {
            let ids = lookup(&user, group.as_deref()).map_err(|e| format!("-u {user}: {e}"))?;
            Some((user, ids))
        }
        None => None,
    };
    if args.nice || args.priority.is_some() {
        match ntp_clock::set_realtime_priority(args.priority) {
            Ok(p) => log.log(
                Level::Info,
                "priority",
                &format!("running at SCHED_FIFO priority {p}"),
            ),
            Err(e) => log.log(
                Level::Error,
                "priority",
                &format!("sched_setscheduler(): {e}"),
            ),
        }
    }
    if let Some(dir) = &args.jaildir {
        enter_jail(dir).map_err(|e| format!("-i {dir}: {e}"))?;
        log.log(Level::Info, "privs", &format!("chroot to {dir}"));
    }
    if let Some((user, (uid, gid))) = ids {
        let keep = kept_capabilities(args.port < 1024);
        drop_to_ids(uid, gid, &keep).map_err(|e| format!("-u {user}: {e}"))?;
        log.log(
            Level::Info,
            "privs",
            &format!("running as {user}, keeping CAP_SYS_TIME"),
        );
    } else if args.require_drop && nix::unistd::geteuid().is_root() {
        return Err("refusing to run as root without -u (--require-drop)".into());
    }
    Ok(())
}
