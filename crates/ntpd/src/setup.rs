//! From the parsed configuration to the engine's settings: `tos`, `tinker`, `-g`/`-x`/`-G`,
//! the drift file value, and one `SourceConfig` per association (names resolved here, with
//! the failures kept for a later retry).

use std::net::{SocketAddr, ToSocketAddrs};

use ntp_conf::{Address, AssociationKind, Config, StatsKind, SystemFlag};
use ntp_core::{EngineConfig, SourceConfig, TinkerConfig, TosConfig};
use ntp_wire::{PollInterval, RefId, SymmetricKey};

use crate::cli::Args;

/// How many addresses a `pool` line contributes (classic: up to `tos maxclock`).
pub const DEFAULT_POOL_MEMBERS: usize = 4;

/// The engine configuration for this run.
pub fn engine_config(
    config: &Config,
    args: &Args,
    seed: u64,
    drift_ppm: Option<f64>,
) -> EngineConfig {
    let d = EngineConfig::default();
    let t = &config.tinker;
    let tos = &config.tos;
    let dt = TinkerConfig::default();
    let dtos = TosConfig::default();
    EngineConfig {
        seed,
        precision: d.precision,
        tos: TosConfig {
            minsane: tos.minsane.map_or(dtos.minsane, |v| v as usize),
            minclock: tos.minclock.map_or(dtos.minclock, |v| v as usize),
            maxclock: tos.maxclock.map_or(dtos.maxclock, |v| v as usize),
            maxdist: tos.maxdist.unwrap_or(dtos.maxdist),
            mindist: tos.mindist.unwrap_or(dtos.mindist),
            orphan: tos.orphan.or(dtos.orphan),
            orphanwait: tos.orphanwait.unwrap_or(dtos.orphanwait),
            ceiling: tos.ceiling.unwrap_or(dtos.ceiling),
            floor: tos.floor.unwrap_or(dtos.floor),
        },
        tinker: TinkerConfig {
            // -x: slew offsets up to 600 s instead of stepping.
            step: if args.slew {
                600.0
            } else {
                t.step.unwrap_or(dt.step)
            },
            stepout: t.stepout.unwrap_or(dt.stepout),
            panic: t.panic.unwrap_or(dt.panic),
            dispersion: t.dispersion.map_or(dt.dispersion, |ppm| ppm * 1e-6),
            max_frequency: dt.max_frequency,
        },
        allow_large_first_step: args.panicgate || args.force_step_once,
        never_step: false,
        observe_only: observe_only(config),
        initial_frequency: drift_ppm.or(t.freq),
        drift_save_interval: if args.drift_save_interval > 0.0 {
            args.drift_save_interval
        } else {
            d.drift_save_interval
        },
        drift_save_threshold: config
            .driftfile
            .as_ref()
            .and_then(|f| f.threshold)
            .map_or(d.drift_save_threshold, |thr| thr * 1e6),
        statistics: crate::stats::StatsWriter::from_config(config, 0)
            .is_some_and(|w| w.enabled(StatsKind::Loopstats) || w.enabled(StatsKind::Peerstats)),
        local_refids: d.local_refids,
    }
}

/// Bytes one rate-limit/MRU slot takes (nine 64-bit words), for `mru maxmem` and `mru_mem`.
pub const MRU_SLOT_BYTES: u64 = 72;

/// The rate-limit table as `discard` and `mru` say: `mru maxdepth N` sizes the table directly,
/// else `mru maxmem KiB` divided by the slot size, else the built-in 4096 entries (about
/// 288 KiB). The table is allocated once at start-up (rounded up to a power of two, at most
/// 2^24 entries), so however many sources send, memory stays where the operator put it.
pub fn rate_limit_config(config: &Config) -> ntp_core::server::RateLimitConfig {
    let default = ntp_core::server::RateLimitConfig::default();
    let by_mem = config
        .mru
        .maxmem
        .map(|kib| (u64::from(kib) * 1024 / MRU_SLOT_BYTES) as usize);
    ntp_core::server::RateLimitConfig {
        average_log2: config.discard.average.unwrap_or(3),
        minimum_secs: config.discard.minimum.unwrap_or(2),
        table_size: config
            .mru
            .maxdepth
            .map(|d| d as usize)
            .or(by_mem)
            .unwrap_or(default.table_size),
    }
}

/// True for `disable ntp`: everything runs, nothing touches the clock.
pub fn observe_only(config: &Config) -> bool {
    config.system_flag(SystemFlag::Ntp) == Some(false)
}

/// An association the daemon could not set up yet (a name that did not resolve).
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    /// Index into `config.associations`.
    pub index: usize,
    /// The name.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// Name resolution, injectable for tests.
pub trait Resolver {
    /// Resolve `name` to addresses with `port`.
    ///
    /// # Errors
    /// A human-readable reason.
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String>;
}

/// The system resolver (getaddrinfo).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
        (name, port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|e| e.to_string())
    }
}

/// A source to add, with the index of the `pool` line it came from (pool members are
/// replaced when they stay unreachable).
pub type Planned = (SourceConfig, Option<usize>);

/// The sources for the engine from every association, and the names that did not resolve.
pub fn sources(
    config: &Config,
    keys: &[SymmetricKey],
    families: crate::net::Families,
    resolver: &dyn Resolver,
) -> (Vec<Planned>, Vec<Unresolved>) {
    let all: Vec<usize> = (0..config.associations.len()).collect();
    sources_for(config, &all, &[], keys, families, resolver)
}

/// The sources for the associations at `indices`, leaving out addresses in `exclude` (those
/// already in use), and the names that did not resolve.
pub fn sources_for(
    config: &Config,
    indices: &[usize],
    exclude: &[SocketAddr],
    keys: &[SymmetricKey],
    families: crate::net::Families,
    resolver: &dyn Resolver,
) -> (Vec<Planned>, Vec<Unresolved>) {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for (index, a) in indices
        .iter()
        .filter_map(|&i| config.associations.get(i).map(|a| (i, a)))
    {
        match (&a.kind, &a.address) {
            (_, Address::Refclock(r)) => {
                if r.driver != ntp_conf::RefclockId::LOCAL {
                    // Only the LOCAL driver exists here; other refclocks need hardware.
                    continue;
                }
                let fudge = config.fudges.iter().find(|f| f.refclock == Some(*r));
                let stratum = fudge.and_then(|f| f.stratum).unwrap_or(5);
                let refid = fudge
                    .and_then(|f| f.refid.as_deref())
                    .and_then(|s| RefId::from_ascii(s).ok())
                    .unwrap_or(RefId::LOCL);
                let mut s = SourceConfig::local(stratum, refid);
                apply_options(&mut s, a, keys);
                out.push((s, None));
            }
            (AssociationKind::Server | AssociationKind::Pool | AssociationKind::Peer, addr) => {
                let port = a.options.port.unwrap_or(123);
                let resolved = match addr {
                    Address::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
                    Address::Name(n) => resolver.resolve(n, port),
                    Address::Refclock(_) => unreachable_refclock(),
                };
                match resolved {
                    Ok(list) => {
                        let mut list: Vec<SocketAddr> = list
                            .into_iter()
                            .filter(|s| families.allows(&s.ip()))
                            .filter(|s| !exclude.contains(s))
                            .filter(|s| match a.family {
                                Some(ntp_conf::Family::V4) => s.is_ipv4(),
                                Some(ntp_conf::Family::V6) => s.is_ipv6(),
                                None => true,
                            })
                            .collect();
                        let take = if a.kind == AssociationKind::Pool {
                            DEFAULT_POOL_MEMBERS
                        } else {
                            1
                        };
                        list.truncate(take);
                        if list.is_empty() {
                            failed.push(Unresolved {
                                index,
                                name: addr.to_string(),
                                reason: "no address of a usable family".into(),
                            });
                        }
                        let pool = (a.kind == AssociationKind::Pool).then_some(index);
                        for sa in list {
                            if out.iter().any(|(s, _): &Planned| s.address == sa) {
                                continue;
                            }
                            let mut s = SourceConfig::server(sa);
                            apply_options(&mut s, a, keys);
                            if a.kind == AssociationKind::Peer {
                                // Symmetric active; bursts make no sense there (the peer
                                // sends at its own poll, not once per packet of ours).
                                s.kind = ntp_core::SourceKind::Symmetric { local_refid: None };
                                s.iburst = false;
                                s.burst = false;
                            }
                            out.push((s, pool));
                        }
                    }
                    Err(reason) => failed.push(Unresolved {
                        index,
                        name: addr.to_string(),
                        reason,
                    }),
                }
            }
            // broadcast / manycastclient need multicast, which this daemon does not offer.
            _ => {}
        }
    }
    (out, failed)
}

/// `peer` lines must name a trusted key: symmetric associations are authenticated only (an
/// unauthenticated peer could be made to follow anyone who can forge its address). Returns
/// one `file:line:column: ...` message per offending line.
///
/// # Errors
/// The messages, newline-separated, when any `peer` line has no `key N` or an untrusted one.
pub fn check_peers(config: &Config, keys: &[SymmetricKey]) -> Result<(), String> {
    let errors: Vec<String> = config
        .peer_key_errors(&|id| keys.iter().any(|k| k.id == id))
        .iter()
        .map(ToString::to_string)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn unreachable_refclock() -> Result<Vec<SocketAddr>, String> {
    Err("reference clock address in a network association".into())
}

fn apply_options(s: &mut SourceConfig, a: &ntp_conf::Association, keys: &[SymmetricKey]) {
    let o = &a.options;
    if let Some(p) = o.minpoll.and_then(|p| PollInterval::new(p as i8).ok()) {
        s.minpoll = p;
    }
    if let Some(p) = o.maxpoll.and_then(|p| PollInterval::new(p as i8).ok()) {
        s.maxpoll = p;
    }
    if s.maxpoll < s.minpoll {
        s.maxpoll = s.minpoll;
    }
    s.iburst = o.iburst;
    s.burst = o.burst;
    s.prefer = o.prefer;
    s.noselect = o.noselect;
    s.truechimer = o.truechimer;
    s.version = o.version.unwrap_or(4);
    s.key = o
        .key
        .and_then(|id| keys.iter().find(|k| k.id == u32::from(id)).cloned());
}

#[cfg(test)]
mod tests {
    #[test]
    fn mru_settings_size_the_rate_limit_table() {
        let c = parse("server 192.0.2.1\nmru maxdepth 100000\ndiscard average 4 minimum 1\n");
        let r = rate_limit_config(&c);
        assert_eq!(
            (r.table_size, r.average_log2, r.minimum_secs),
            (100_000, 4, 1)
        );
        let c = parse("server 192.0.2.1\nmru maxmem 1024\n");
        assert_eq!(rate_limit_config(&c).table_size, 1024 * 1024 / 72);
        let c = parse("server 192.0.2.1\n");
        let r = rate_limit_config(&c);
        assert_eq!((r.table_size, r.average_log2, r.minimum_secs), (4096, 3, 2));
    }

    use super::*;
    use ntp_conf::NoFiles;

    struct FakeDns;
    impl Resolver for FakeDns {
        fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
            match name {
                "pool.example" => Ok((1..=6)
                    .map(|i| SocketAddr::from(([192, 0, 2, i], port)))
                    .collect()),
                "one.example" => Ok(vec![SocketAddr::from(([198, 51, 100, 1], port))]),
                _ => Err("Name or service not known".into()),
            }
        }
    }

    fn parse(text: &str) -> Config {
        ntp_conf::parse(text, "ntp.conf", &NoFiles).unwrap()
    }

    #[test]
    fn tutorial_sources() {
        let c = parse(
            "server 127.127.1.0\nfudge 127.127.1.0 stratum 10\nserver 192.0.2.9 iburst prefer minpoll 4 maxpoll 6\nserver one.example iburst port 12300\npool pool.example iburst\nserver nowhere.example\n",
        );
        let (s, failed) = sources(&c, &[], crate::net::Families::Both, &FakeDns);
        assert_eq!(
            s.iter().filter(|(_, p)| *p == Some(3)).count(),
            DEFAULT_POOL_MEMBERS
        );
        let s: Vec<SourceConfig> = s.into_iter().map(|(s, _)| s).collect();
        assert_eq!(s.len(), 1 + 1 + 1 + DEFAULT_POOL_MEMBERS);
        assert!(matches!(
            s[0].kind,
            ntp_core::SourceKind::Local { stratum: 10, .. }
        ));
        assert!(s[1].prefer && s[1].iburst);
        assert_eq!(s[1].minpoll.log2(), 4);
        assert_eq!(s[1].maxpoll.log2(), 6);
        assert_eq!(s[2].address, SocketAddr::from(([198, 51, 100, 1], 12300)));
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].name, "nowhere.example");
    }

    #[test]
    fn a_replacement_pool_member_skips_addresses_in_use() {
        let c = parse("pool pool.example iburst\n");
        let used: Vec<SocketAddr> = (1..=4)
            .map(|i| SocketAddr::from(([192, 0, 2, i], 123)))
            .collect();
        let (s, _) = sources_for(&c, &[0], &used, &[], crate::net::Families::Both, &FakeDns);
        let addrs: Vec<SocketAddr> = s.iter().map(|(s, _)| s.address).collect();
        assert_eq!(addrs[0], SocketAddr::from(([192, 0, 2, 5], 123)));
        assert!(addrs.iter().all(|a| !used.contains(a)));
    }

    #[test]
    fn peer_lines_become_symmetric_sources_and_need_a_trusted_key() {
        let key = SymmetricKey::new(1, ntp_wire::MacAlgorithm::Md5, b"secret");
        let c = parse("server 192.0.2.1\npeer 192.0.2.2 key 1 iburst\n");
        assert_eq!(check_peers(&c, std::slice::from_ref(&key)), Ok(()));
        let (s, _) = sources(
            &c,
            std::slice::from_ref(&key),
            crate::net::Families::Both,
            &FakeDns,
        );
        assert!(!s[0].0.is_symmetric());
        assert!(s[1].0.is_symmetric() && !s[1].0.iburst);
        assert_eq!(s[1].0.key.as_ref().map(|k| k.id), Some(1));

        let c = parse("server 192.0.2.1\npeer 192.0.2.2\npeer 192.0.2.3 key 2\n");
        let e = check_peers(&c, &[key]).unwrap_err();
        let lines: Vec<&str> = e.lines().collect();
        assert_eq!(lines.len(), 2, "{e}");
        assert!(lines[0].starts_with("ntp.conf:2:1: peer 192.0.2.2"), "{e}");
        assert!(
            lines[1].starts_with("ntp.conf:3:1: peer 192.0.2.3: key 2"),
            "{e}"
        );
    }

    #[test]
    fn tos_tinker_and_flags_map() {
        let c =
            parse("tos minsane 2 maxdist 2.5 orphan 10\ntinker panic 0 step 0.5\ndisable ntp\n");
        let args = Args::parse_from_os(["ntpd", "-g"]).unwrap();
        let e = engine_config(&c, &args, 7, Some(-12.5));
        assert_eq!(e.tos.minsane, 2);
        assert_eq!(e.tos.maxdist, 2.5);
        assert_eq!(e.tos.orphan, Some(10));
        assert_eq!(e.tinker.panic, 0.0);
        assert_eq!(e.tinker.step, 0.5);
        assert!(e.allow_large_first_step);
        assert_eq!(e.initial_frequency, Some(-12.5));
        assert!(observe_only(&c));
        assert!(!observe_only(&parse("enable ntp\n")));
    }
}
