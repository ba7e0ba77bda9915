//! Dropping root after the sockets are bound: switch to the `-u user[:group]` identity. The
//! capability to set the clock (CAP_SYS_TIME) is kept by the systemd unit's
//! `AmbientCapabilities=`; a plain `-u` start without it runs observe-only correctly but cannot
//! adjust the clock (see docs).

use nix::unistd::{setgid, setgroups, setuid, Group, User};

/// Switch to `user` (and `group`, default: the user's primary group).
///
/// # Errors
/// The user or group is unknown, or a system call failed.
pub fn drop_to(user: &str, group: Option<&str>) -> Result<(), String> {
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
    if nix::unistd::geteuid() == u.uid {
        return Ok(());
    }
    setgroups(&[gid]).map_err(|e| format!("setgroups: {e}"))?;
    setgid(gid).map_err(|e| format!("setgid: {e}"))?;
    setuid(u.uid).map_err(|e| format!("setuid: {e}"))?;
    Ok(())
}
