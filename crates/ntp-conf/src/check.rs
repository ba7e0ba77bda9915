//! Semantic checks after parsing: warnings about a configuration that parses but probably
//! does not do what the operator meant.

use crate::config::{Address, AssociationKind, Config, RestrictOp, RestrictTarget};
use crate::diag::Diagnostic;
use crate::keys::KeyFile;
use crate::loader::Loader;
use crate::restrict::{ip_bits, Applied, MatchFlags, RestrictTable};
use std::collections::HashMap;
use std::net::IpAddr;

/// The directory part of a path (`"."` for a bare file name).
fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => ".",
    }
}

impl Config {
    /// Errors for `peer` lines this daemon refuses: symmetric associations are authenticated
    /// only (an unauthenticated peer could be made to follow anyone who can forge its
    /// address), so each needs `key N` with a key for which `trusted(N)` holds.
    pub fn peer_key_errors(&self, trusted: &dyn Fn(u32) -> bool) -> Vec<Diagnostic> {
        self.associations
            .iter()
            .filter(|a| a.kind == AssociationKind::Peer)
            .filter_map(|a| match a.options.key {
                None => Some(Diagnostic::error(
                    a.location.clone(),
                    format!(
                        "peer {}: symmetric associations need authentication; add `key N` with a trusted key",
                        a.address
                    ),
                )),
                Some(id) if !trusted(u32::from(id)) => Some(Diagnostic::error(
                    a.location.clone(),
                    format!(
                        "peer {}: key {id} is not a trusted key (keys file + trustedkey)",
                        a.address
                    ),
                )),
                Some(_) => None,
            })
            .collect()
    }

    /// Warnings about this configuration. `fs` answers filesystem questions (nothing is
    /// checked on disk when it returns `None`); `keys` is the parsed key file, if the caller
    /// loaded one (trusted and association keys are then checked against it).
    pub fn check(&self, fs: &dyn Loader, keys: Option<&KeyFile>) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        self.check_restrictions(&mut out);

        let prefer: Vec<_> = self
            .associations
            .iter()
            .filter(|a| a.options.prefer)
            .collect();
        if prefer.len() > 1 {
            for a in &prefer[1..] {
                out.push(Diagnostic::warning(
                    a.location.clone(),
                    format!(
                        "\"prefer\" is given on {} sources (first at line {}); only one source can be preferred",
                        prefer.len(),
                        prefer[0].location.line
                    ),
                ));
            }
        }

        let mut seen: HashMap<(AssociationKind, &Address), u32> = HashMap::new();
        for a in &self.associations {
            if let Some(first) = seen.get(&(a.kind, &a.address)) {
                out.push(Diagnostic::warning(
                    a.location.clone(),
                    format!(
                        "{} {} duplicates line {first}; the duplicate is ignored",
                        a.kind.keyword(),
                        a.address
                    ),
                ));
            } else {
                seen.insert((a.kind, &a.address), a.location.line);
            }
            if matches!(
                a.kind,
                AssociationKind::Broadcast | AssociationKind::ManycastClient
            ) {
                out.push(Diagnostic::warning(
                    a.location.clone(),
                    format!(
                        "\"{}\" is not implemented by this daemon and is ignored: it serves and follows unicast time only (server, pool, peer)",
                        a.kind.keyword()
                    ),
                ));
            }
            if let Address::Refclock(r) = &a.address {
                if r.driver != crate::config::RefclockId::LOCAL {
                    out.push(Diagnostic::warning(
                        a.location.clone(),
                        format!(
                            "reference clock {} (driver type {}) is not available in this daemon and is ignored; only the LOCAL driver (127.127.1.u) exists",
                            r.address(),
                            r.driver
                        ),
                    ));
                }
            }
            if a.kind == AssociationKind::Pool && matches!(a.address, Address::Ip(_)) {
                out.push(Diagnostic::warning(
                    a.location.clone(),
                    format!("pool {} is an IP address; \"pool\" expects a DNS name that resolves to many servers", a.address),
                ));
            }
        }

        for f in &self.fudges {
            let Some(r) = f.refclock else { continue };
            let configured = self
                .associations
                .iter()
                .any(|a| a.address == Address::Refclock(r));
            if !configured {
                if let Some(at) = &f.location {
                    out.push(Diagnostic::warning(
                        at.clone(),
                        format!(
                            "fudge {} has no matching \"server {}\" line",
                            r.address(),
                            r.address()
                        ),
                    ));
                }
            }
        }

        if let Some(d) = &self.driftfile {
            let dir = parent_dir(&d.path);
            if fs.is_dir(dir) == Some(false) {
                out.push(Diagnostic::warning(
                    d.location.clone(),
                    format!("driftfile directory \"{dir}\" does not exist; the frequency will not be saved"),
                ));
            }
        }

        if let Some(kf) = keys {
            for (id, at) in &self.trustedkeys {
                if kf.get(*id).is_none() {
                    out.push(Diagnostic::warning(
                        at.clone(),
                        format!("trustedkey {id} is not in the key file"),
                    ));
                }
            }
            for a in &self.associations {
                if let Some(id) = a.options.key {
                    if kf.get(id).is_none() {
                        out.push(Diagnostic::warning(
                            a.location.clone(),
                            format!(
                                "{} {} uses key {id}, which is not in the key file",
                                a.kind.keyword(),
                                a.address
                            ),
                        ));
                    }
                }
            }
        }
        for a in &self.associations {
            if let Some(id) = a.options.key {
                if !self.trustedkeys.iter().any(|(t, _)| *t == id) {
                    out.push(Diagnostic::warning(
                        a.location.clone(),
                        format!(
                            "{} {} uses key {id}, which is not listed in \"trustedkey\"",
                            a.kind.keyword(),
                            a.address
                        ),
                    ));
                }
            }
        }
        // ntpd accepts a control/request MAC only with a trusted key (`authistrusted`).
        for (name, key) in [
            ("controlkey", &self.controlkey),
            ("requestkey", &self.requestkey),
        ] {
            let Some((id, at)) = key else { continue };
            if !self.trustedkeys.iter().any(|(t, _)| t == id) {
                out.push(Diagnostic::warning(
                    at.clone(),
                    format!(
                        "{name} {id} is not listed in \"trustedkey\", so it can never authenticate"
                    ),
                ));
            }
            if let Some(kf) = keys {
                if kf.get(*id).is_none() {
                    out.push(Diagnostic::warning(
                        at.clone(),
                        format!("{name} {id} is not in the key file"),
                    ));
                }
            }
        }
        if !self.trustedkeys.is_empty() && self.keys.is_none() {
            if let Some((_, at)) = self.trustedkeys.first() {
                out.push(Diagnostic::warning(
                    at.clone(),
                    "\"trustedkey\" is given but no \"keys\" file",
                ));
            }
        }

        // Options that disable safety nets are allowed, but said out loud (E13).
        if let Some(at) = &self.tinker.location {
            if self.tinker.panic == Some(0.0) {
                out.push(Diagnostic::warning(
                    at.clone(),
                    "tinker panic 0 disables the panic threshold: any offset will be accepted",
                ));
            }
            if self.tinker.step == Some(0.0) {
                out.push(Diagnostic::warning(
                    at.clone(),
                    "tinker step 0 disables stepping: large offsets are slewed for a long time",
                ));
            }
        }
        out.sort_by(|a, b| {
            (a.location.file.as_ref(), a.location.line, a.location.column).cmp(&(
                b.location.file.as_ref(),
                b.location.line,
                b.location.column,
            ))
        });
        out
    }

    fn check_restrictions(&self, out: &mut Vec<Diagnostic>) {
        let (_, report) = RestrictTable::build(self);
        let mut warned = Vec::new();
        for (idx, applied) in &report {
            let line = &self.restrictions[*idx];
            if warned.contains(idx) {
                continue;
            }
            match (line.op, applied) {
                (RestrictOp::Restrict, Applied::Merged(Some(first))) if *first != line.location => {
                    // `restrict default ...` followed by `restrict -6 default ...` is the
                    // historic idiom from when `default` meant IPv4 only; not worth a warning.
                    let earlier = self.restrictions.iter().find(|r| r.location == *first);
                    let idiom = earlier.is_some_and(|e| {
                        e.target == RestrictTarget::Default && e.family != line.family
                    });
                    if idiom {
                        continue;
                    }
                    warned.push(*idx);
                    out.push(Diagnostic::warning(
                        line.location.clone(),
                        format!(
                            "this restrict entry duplicates line {}; classic ntpd merges the flags of both lines",
                            first.line
                        ),
                    ));
                }
                (RestrictOp::Unrestrict | RestrictOp::Delrestrict, Applied::NotFound) => {
                    warned.push(*idx);
                    out.push(Diagnostic::warning(
                        line.location.clone(),
                        "no earlier restrict entry has this address, mask and match flags; this line does nothing",
                    ));
                }
                _ => {}
            }
        }
        for (i, line) in self.restrictions.iter().enumerate() {
            if line.op != RestrictOp::Restrict {
                continue;
            }
            if line.target == RestrictTarget::Default
                && line.match_flags.contains(MatchFlags::NTPONLY)
            {
                out.push(Diagnostic::warning(
                    line.location.clone(),
                    "restrict default ntpport can never match: the built-in default entry matches every port first",
                ));
                continue;
            }
            let RestrictTarget::Host {
                address: Address::Ip(ip),
                mask,
            } = &line.target
            else {
                continue;
            };
            if ip.is_multicast() {
                out.push(Diagnostic::warning(
                    line.location.clone(),
                    format!("restrict {ip} can never match: packets from multicast sources are always ignored"),
                ));
                continue;
            }
            if let Some(m) = mask {
                let (a, _) = ip_bits(*ip);
                let (mb, _) = ip_bits(*m);
                if a & !mb != 0 {
                    let net = match ip {
                        IpAddr::V4(_) => {
                            IpAddr::V4(std::net::Ipv4Addr::from(u32::try_from(a & mb).unwrap_or(0)))
                        }
                        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(a & mb)),
                    };
                    out.push(Diagnostic::warning(
                        line.location.clone(),
                        format!("restrict {ip} has bits set outside mask {m}; it applies to all of {net} mask {m}"),
                    ));
                }
            }
            // An `ntpport` entry after a plain entry for the same network never wins: the
            // plain entry sorts first (insertion order) and matches every port.
            if line.match_flags.contains(MatchFlags::NTPONLY) {
                let earlier = self.restrictions[..i].iter().find(|o| {
                    o.op == RestrictOp::Restrict
                        && o.match_flags.is_empty()
                        && o.target == line.target
                });
                if let Some(o) = earlier {
                    out.push(Diagnostic::warning(
                        line.location.clone(),
                        format!(
                            "this ntpport entry can never match: line {} has the same address and mask and matches every port first",
                            o.location.line
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_dir_of_paths() {
        assert_eq!(parent_dir("/var/lib/ntp/ntp.drift"), "/var/lib/ntp");
        assert_eq!(parent_dir("/ntp.drift"), "/");
        assert_eq!(parent_dir("ntp.drift"), ".");
    }
}
