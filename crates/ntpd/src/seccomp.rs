//! The system-call allow-list (`--seccomp`): once the sockets are bound, the privileges
//! dropped and the worker threads started, the daemon only needs a network service's calls
//! and the clock calls. Everything else (execve, fork, ptrace, mount, setuid, module
//! loading, ...) kills the whole process with SIGSYS, like systemd's `SystemCallFilter=`,
//! so a compromised daemon cannot continue; `--seccomp=log` lets it through and has the
//! kernel log it (audit type 1326, visible in `dmesg`/`journalctl -k`), for operators
//! trying a new distribution or libc.
//!
//! The list was derived by running the daemon under `strace -f` through the whole e2e test
//! suite (server workers, mode 6/7, SIGHUP re-resolution, pool replacement, metrics, drift
//! and statistics files, -q, privilege drop) and is kept as tight as that suite allows.
//! The filter is compiled from Rust data by `seccompiler` and installed on every thread at
//! once (TSYNC) through its safe API; x86_64 and aarch64 only.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule,
};

/// What `--seccomp` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// No filter (the default on the command line, as classic ntpd).
    #[default]
    Off,
    /// A call outside the list kills the process with SIGSYS.
    Enforce,
    /// A call outside the list is allowed and logged by the kernel (audit), for debugging.
    Log,
}

impl Mode {
    /// The mode a `--seccomp=NAME` value names (`enforce`, `log`; anything else is off, the
    /// command-line parser admits only these three).
    pub fn from_name(name: &str) -> Mode {
        match name {
            "enforce" => Mode::Enforce,
            "log" => Mode::Log,
            _ => Mode::Off,
        }
    }
}

/// Why the filter could not be installed (start-up then fails: asking for a sandbox and
/// silently running without one would be worse).
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// seccompiler has no syscall table for this architecture.
    #[error("--seccomp is only supported on x86_64 and aarch64, not {0}")]
    UnsupportedArch(&'static str),
    /// The filter could not be compiled (a bug in the list).
    #[error("cannot build the seccomp filter: {0}")]
    Build(String),
    /// The kernel refused the filter (no seccomp support, or a thread could not be synced).
    #[error("cannot install the seccomp filter: {0}")]
    Install(String),
}

/// The calls allowed without conditions, each group with why the daemon needs it after
/// start-up. Numbers come from libc for the target architecture; the forms that exist only
/// on x86_64 (where glibc still uses them) are in [`legacy_calls`]. Seen under `strace -f`
/// through the e2e suite unless the comment says otherwise.
fn allowed_calls() -> Vec<i64> {
    let mut v = vec![
        // UDP: association sockets, server workers (recvmmsg/sendmmsg batches with kernel
        // timestamps), control replies; new association sockets after SIGHUP re-resolution or
        // pool replacement; sockets bound by an interface rescan; the metrics endpoint (TCP
        // listen/accept, read/write timeouts); glibc's stub resolver (UDP connect, sendmmsg,
        // recvfrom, a netlink socket for the local addresses); the syslog socket (AF_UNIX
        // connect + sendto). `socket` is limited to these families (see `socket_rules`).
        libc::SYS_bind,
        libc::SYS_connect,
        libc::SYS_listen,
        libc::SYS_accept4,
        libc::SYS_setsockopt,
        libc::SYS_getsockname,
        libc::SYS_recvfrom,
        libc::SYS_recvmsg,
        libc::SYS_recvmmsg,
        libc::SYS_sendto,
        libc::SYS_sendmmsg,
        // Not seen in the suite, kept for other distributions: getsockopt (SO_ERROR checks in
        // libraries) and sendmsg (nss-resolve/nscd talk to a local daemon over AF_UNIX).
        libc::SYS_getsockopt,
        libc::SYS_sendmsg,
        // The event loops: tokio's epoll on the client thread, the resolver's poll (ppoll and
        // epoll_pwait are the only forms on aarch64), fcntl on new descriptors.
        libc::SYS_epoll_ctl,
        libc::SYS_epoll_pwait,
        libc::SYS_ppoll,
        libc::SYS_fcntl,
        // A call interrupted by a signal (SIGHUP, or a debugger stopping the daemon) resumes
        // through restart_syscall.
        libc::SYS_restart_syscall,
        // Threads: locks and condition variables; a worker's back-off sleep after a socket
        // error; spin back-off under contention (not seen, cheap and harmless).
        libc::SYS_futex,
        libc::SYS_nanosleep,
        libc::SYS_clock_nanosleep,
        libc::SYS_sched_yield,
        // Threads started after the filter (the server workers, and the metrics endpoint on its
        // first publication): stack and guard page (mmap/mprotect), robust futex list,
        // restartable sequences, the CPU set, the thread name (prctl, see `prctl_rules`).
        // `clone` itself is allowed only with CLONE_THREAD (see `clone_rules`).
        libc::SYS_set_robust_list,
        libc::SYS_rseq,
        libc::SYS_sched_getaffinity,
        // Identity, so that a panic still aborts with SIGABRT (raise = tgkill) and leaves a
        // core rather than dying of SIGSYS.
        libc::SYS_getpid,
        libc::SYS_gettid,
        libc::SYS_tgkill,
        // The clock: read it (vDSO fallbacks) and discipline it (frequency, status and leap
        // bits, ADJ_SETOFFSET steps all go through clock_adjtime; adjtimex, clock_settime and
        // settimeofday are the classic forms some libcs and `-q` step paths use).
        libc::SYS_clock_gettime,
        libc::SYS_gettimeofday,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_clock_settime,
        libc::SYS_settimeofday,
        // Files: the drift file (temporary file + fsync + rename, unlink of the temporary
        // file when the write fails), statistics files (append, daily rotation), the log
        // file, /etc/hosts, /etc/resolv.conf, /etc/nsswitch.conf and /etc/gai.conf for
        // re-resolution, and the NSS modules a distribution's nsswitch.conf may name (their
        // loading is openat + read + fstat + mmap + mprotect + close). renameat/renameat2 and
        // unlinkat are the only forms on aarch64; fstat for older glibc.
        libc::SYS_openat,
        libc::SYS_read,
        libc::SYS_write,
        libc::SYS_close,
        libc::SYS_lseek,
        libc::SYS_fsync,
        libc::SYS_fstat,
        libc::SYS_newfstatat,
        libc::SYS_statx,
        libc::SYS_renameat,
        libc::SYS_renameat2,
        libc::SYS_unlinkat,
        // Memory: the allocator (brk arena, mmap'ed large blocks, realloc, trimming).
        libc::SYS_mmap,
        libc::SYS_munmap,
        libc::SYS_mremap,
        libc::SYS_mprotect,
        libc::SYS_madvise,
        libc::SYS_brk,
        // Signals: tokio's SIGTERM/SIGINT/SIGHUP handlers and signal masks of new threads,
        // their alternate stacks for stack-overflow detection.
        libc::SYS_rt_sigaction,
        libc::SYS_rt_sigprocmask,
        libc::SYS_rt_sigreturn,
        libc::SYS_sigaltstack,
        // Hash-map keys of a new thread (std draws them once per thread), and the way out.
        libc::SYS_getrandom,
        libc::SYS_exit,
        libc::SYS_exit_group,
    ];
    v.extend(legacy_calls());
    v
}

/// The x86_64-only forms glibc uses there (poll, epoll_wait, rename, unlink).
#[cfg(target_arch = "x86_64")]
fn legacy_calls() -> Vec<i64> {
    vec![
        libc::SYS_poll,
        libc::SYS_epoll_wait,
        libc::SYS_rename,
        libc::SYS_unlink,
    ]
}

/// The x86_64-only forms (none elsewhere).
#[cfg(not(target_arch = "x86_64"))]
fn legacy_calls() -> Vec<i64> {
    Vec::new()
}

/// `socket` only for the families a network service needs (as the systemd unit's
/// RestrictAddressFamilies): IPv4, IPv6, AF_UNIX (syslog, NSS daemons), netlink (the
/// resolver's and an interface rescan's view of local addresses). No raw packet sockets.
fn socket_rules() -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    [
        libc::AF_INET,
        libc::AF_INET6,
        libc::AF_UNIX,
        libc::AF_NETLINK,
    ]
    .into_iter()
    .map(|family| {
        SeccompRule::new(vec![SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            u64::from(family.unsigned_abs()),
        )?])
    })
    .collect()
}

/// `clone` only when it creates a thread (CLONE_THREAD set): fork and vfork, the first step
/// of running another program, stay forbidden.
fn clone_rules() -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    let thread = u64::try_from(libc::CLONE_THREAD).unwrap_or(0x10000);
    Ok(vec![SeccompRule::new(vec![SeccompCondition::new(
        0,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::MaskedEq(thread),
        thread,
    )?])?])
}

/// `ioctl` only for FIONREAD (glibc's resolver sizing an answer, seen) and FIONBIO (std's
/// `set_nonblocking`, for sockets opened after start-up).
fn ioctl_rules() -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    [libc::FIONBIO, libc::FIONREAD]
        .into_iter()
        .map(|req| {
            SeccompRule::new(vec![SeccompCondition::new(
                1,
                SeccompCmpArgLen::Dword,
                SeccompCmpOp::Eq,
                u64::from(req as u32),
            )?])
        })
        .collect()
}

/// `prctl` only to name a new thread (PR_SET_NAME, as std does for "ntpd-metrics").
fn prctl_rules() -> Result<Vec<SeccompRule>, seccompiler::BackendError> {
    Ok(vec![SeccompRule::new(vec![SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        libc::PR_SET_NAME as u64,
    )?])?])
}

/// The architecture seccompiler compiles for, or why there is none.
fn target_arch() -> Result<seccompiler::TargetArch, SeccompError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(seccompiler::TargetArch::x86_64),
        "aarch64" => Ok(seccompiler::TargetArch::aarch64),
        other => Err(SeccompError::UnsupportedArch(other)),
    }
}

/// The compiled programs for `mode` (empty for [`Mode::Off`]): first one that answers
/// `clone3` with ENOSYS, so glibc falls back to `clone`, whose flags the allow-list can
/// inspect (clone3 passes them in memory, out of a filter's reach); then the allow-list.
/// When several filters are stacked the kernel takes the strictest answer.
///
/// # Errors
/// [`SeccompError::UnsupportedArch`] off x86_64/aarch64, [`SeccompError::Build`] if the
/// list does not compile.
pub fn programs(mode: Mode) -> Result<Vec<BpfProgram>, SeccompError> {
    let mismatch = match mode {
        Mode::Off => return Ok(Vec::new()),
        Mode::Enforce => SeccompAction::KillProcess,
        Mode::Log => SeccompAction::Log,
    };
    let arch = target_arch()?;
    let build = |e: seccompiler::BackendError| SeccompError::Build(e.to_string());
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = allowed_calls()
        .into_iter()
        .map(|n| (n, Vec::new()))
        .collect();
    rules.insert(libc::SYS_clone, clone_rules().map_err(build)?);
    rules.insert(libc::SYS_socket, socket_rules().map_err(build)?);
    rules.insert(libc::SYS_ioctl, ioctl_rules().map_err(build)?);
    rules.insert(libc::SYS_prctl, prctl_rules().map_err(build)?);
    // Let through here so that the ENOSYS of the first program is the answer (stacked
    // filters: the strictest verdict wins, and a kill here would beat the ENOSYS).
    rules.insert(libc::SYS_clone3, Vec::new());
    let allow = SeccompFilter::new(rules, mismatch, SeccompAction::Allow, arch).map_err(build)?;
    let no_clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(build)?;
    let compile =
        |f: SeccompFilter| BpfProgram::try_from(f).map_err(|e| SeccompError::Build(e.to_string()));
    Ok(vec![compile(no_clone3)?, compile(allow)?])
}

/// Install the filter for `mode` on every thread of the process (nothing for
/// [`Mode::Off`]). Sets `no_new_privs` as a side effect, as seccomp requires.
///
/// # Errors
/// [`SeccompError`]: unsupported architecture, or the kernel refused the filter.
pub fn apply(mode: Mode) -> Result<(), SeccompError> {
    for p in programs(mode)? {
        seccompiler::apply_filter_all_threads(&p)
            .map_err(|e| SeccompError::Install(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_builds_no_program() {
        assert!(programs(Mode::Off).unwrap().is_empty());
    }

    #[test]
    fn enforce_and_log_compile_two_programs() {
        for mode in [Mode::Enforce, Mode::Log] {
            let p = programs(mode).unwrap();
            assert_eq!(p.len(), 2);
            // A classic BPF program is limited to 4096 instructions.
            assert!(p.iter().all(|p| !p.is_empty() && p.len() < 4096));
        }
    }

    #[test]
    fn dangerous_calls_are_not_on_the_list() {
        let list = allowed_calls();
        for n in [
            libc::SYS_execve,
            libc::SYS_execveat,
            libc::SYS_ptrace,
            libc::SYS_mount,
            libc::SYS_setuid,
            libc::SYS_kill,
            libc::SYS_init_module,
            libc::SYS_clone3,
            libc::SYS_clone,
            libc::SYS_ioctl,
            libc::SYS_prctl,
            libc::SYS_socket,
        ] {
            assert!(
                !list.contains(&n),
                "syscall {n} must not be allowed unconditionally"
            );
        }
    }
}
