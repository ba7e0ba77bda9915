//! Writing a [`Config`] back as classic ntp.conf text.
//!
//! The output is canonical: one directive per line, grouped by directive, `includefile`
//! contents inlined, `restrict` lines in their original order (their order matters). Parsing
//! the output gives a configuration that writes the same text again. Not representable in
//! classic syntax and therefore omitted: NTPsec `refclock ... baud N`.

use crate::config::*;
use crate::restrict::{MatchFlags, RestrictFlags};
use std::fmt::{self, Display, Formatter, Write};

/// A word as ntp.conf needs it: quoted if it has spaces, `#` or parentheses.
struct Word<'a>(&'a str);

impl Display for Word<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let needs_quotes = s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c == '#' || c == '(' || c == ')');
        if needs_quotes && !s.contains('"') {
            write!(f, "\"{s}\"")
        } else {
            f.write_str(s)
        }
    }
}

/// A number in a form the strict float reader accepts (`600.0`, `1e-7`).
struct Num(f64);

impl Display for Num {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn family(f: Option<Family>) -> &'static str {
    match f {
        Some(Family::V4) => " -4",
        Some(Family::V6) => " -6",
        None => "",
    }
}

fn opt<T: Display>(out: &mut String, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        let _ = write!(out, " {name} {v}");
    }
}

fn optf(out: &mut String, name: &str, v: Option<f64>) {
    if let Some(v) = v {
        let _ = write!(out, " {name} {}", Num(v));
    }
}

fn line(f: &mut Formatter<'_>, directive: &str, rest: &str) -> fmt::Result {
    if rest.is_empty() {
        Ok(())
    } else {
        writeln!(f, "{directive}{rest}")
    }
}

impl Display for RestrictLine {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = match self.op {
            RestrictOp::Restrict => "restrict",
            RestrictOp::Unrestrict => "unrestrict",
            RestrictOp::Delrestrict => "delrestrict",
        };
        write!(f, "{kw}{}", family(self.family))?;
        match &self.target {
            RestrictTarget::Default => f.write_str(" default")?,
            RestrictTarget::Source => f.write_str(" source")?,
            RestrictTarget::Host { address, mask } => {
                write!(f, " {address}")?;
                if let Some(m) = mask {
                    write!(f, " mask {m}")?;
                }
            }
        }
        if let Some(n) = self.ippeerlimit {
            write!(f, " ippeerlimit {n}")?;
        }
        for (flag, kw) in RestrictFlags::ALL {
            if self.flags.contains(*flag) {
                if *flag == RestrictFlags::SRVRSPFUZ {
                    f.write_str(" serverresponse fuzz")?;
                } else {
                    write!(f, " {kw}")?;
                }
            }
        }
        for (flag, kw) in MatchFlags::ALL {
            if self.match_flags.contains(*flag) && *flag != MatchFlags::SOURCE {
                write!(f, " {kw}")?;
            }
        }
        if self.epeer {
            f.write_str(" epeer")?;
        }
        Ok(())
    }
}

impl Display for Association {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let o = &self.options;
        write!(
            f,
            "{}{} {}",
            self.kind.keyword(),
            family(self.family),
            self.address
        )?;
        for (on, kw) in [
            (o.burst, "burst"),
            (o.iburst, "iburst"),
            (o.prefer, "prefer"),
            (o.noselect, "noselect"),
            (o.truechimer, "true"),
            (o.preempt, "preempt"),
            (o.xleave, "xleave"),
            (o.xmtnonce, "xmtnonce"),
        ] {
            if on {
                write!(f, " {kw}")?;
            }
        }
        let mut s = String::new();
        opt(&mut s, "minpoll", &o.minpoll);
        opt(&mut s, "maxpoll", &o.maxpoll);
        opt(&mut s, "key", &o.key);
        opt(&mut s, "version", &o.version);
        opt(&mut s, "mode", &o.mode);
        opt(&mut s, "ttl", &o.ttl);
        opt(&mut s, "port", &o.port);
        f.write_str(&s)
    }
}

impl Display for Config {
    /// Canonical ntp.conf text; see the module documentation.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.driftfile {
            write!(f, "driftfile {}", Word(&d.path))?;
            if let Some(t) = d.threshold {
                write!(f, " {}", Num(t))?;
            }
            writeln!(f)?;
        }
        if let Some(v) = self.nonvolatile {
            writeln!(f, "nonvolatile {}", Num(v))?;
        }
        if let Some(l) = &self.leapfile {
            write!(f, "leapfile {}", Word(&l.path))?;
            match l.hash {
                Some(LeapHash::Check) => f.write_str(" checkhash")?,
                Some(LeapHash::Ignore) => f.write_str(" ignorehash")?,
                None => {}
            }
            writeln!(f)?;
        }
        if let Some(v) = self.leapsmearinterval {
            writeln!(f, "leapsmearinterval {v}")?;
        }
        for (name, v) in [
            ("logfile", &self.logfile),
            ("statsdir", &self.statsdir),
            ("pidfile", &self.pidfile),
            ("keys", &self.keys),
        ] {
            if let Some(v) = v {
                writeln!(f, "{name} {}", Word(v))?;
            }
        }
        if !self.logconfig.is_empty() {
            f.write_str("logconfig")?;
            for item in &self.logconfig {
                let op = match item.op {
                    LogOp::Set => "=",
                    LogOp::Add => "+",
                    LogOp::Remove => "-",
                };
                let class = match item.class {
                    LogClass::Clock => "clock",
                    LogClass::Peer => "peer",
                    LogClass::Sys => "sys",
                    LogClass::Sync => "sync",
                    LogClass::All => "all",
                };
                let kind = match item.kind {
                    LogKind::Info => "info",
                    LogKind::Events => "events",
                    LogKind::Status => "status",
                    LogKind::Statistics => "statistics",
                    LogKind::All => "all",
                };
                write!(f, " {op}{class}{kind}")?;
            }
            writeln!(f)?;
        }
        if !self.statistics.is_empty() {
            f.write_str("statistics")?;
            for s in &self.statistics {
                write!(f, " {}", stats_name(*s))?;
            }
            writeln!(f)?;
        }
        for g in &self.filegens {
            write!(f, "filegen {}", stats_name(g.name))?;
            if let Some(file) = &g.file {
                write!(f, " file {}", Word(file))?;
            }
            if let Some(k) = g.kind {
                let k = match k {
                    FileGenType::None => "none",
                    FileGenType::Pid => "pid",
                    FileGenType::Day => "day",
                    FileGenType::Week => "week",
                    FileGenType::Month => "month",
                    FileGenType::Year => "year",
                    FileGenType::Age => "age",
                };
                write!(f, " type {k}")?;
            }
            match g.link {
                Some(true) => f.write_str(" link")?,
                Some(false) => f.write_str(" nolink")?,
                None => {}
            }
            match g.enable {
                Some(true) => f.write_str(" enable")?,
                Some(false) => f.write_str(" disable")?,
                None => {}
            }
            writeln!(f)?;
        }
        if !self.trustedkeys.is_empty() {
            f.write_str("trustedkey")?;
            for (id, _) in &self.trustedkeys {
                write!(f, " {id}")?;
            }
            writeln!(f)?;
        }
        if let Some((k, _)) = &self.controlkey {
            writeln!(f, "controlkey {k}")?;
        }
        if let Some((k, _)) = &self.requestkey {
            writeln!(f, "requestkey {k}")?;
        }
        let t = &self.tinker;
        let mut s = String::new();
        for (name, v) in [
            ("allan", t.allan),
            ("dispersion", t.dispersion),
            ("freq", t.freq),
            ("huffpuff", t.huffpuff),
            ("panic", t.panic),
            ("step", t.step),
            ("stepback", t.stepback),
            ("stepfwd", t.stepfwd),
            ("stepout", t.stepout),
            ("tick", t.tick),
        ] {
            optf(&mut s, name, v);
        }
        line(f, "tinker", &s)?;
        let t = &self.tos;
        let mut s = String::new();
        opt(&mut s, "basedate", &t.basedate);
        opt(&mut s, "bcpollbstep", &t.bcpollbstep);
        optf(&mut s, "beacon", t.beacon);
        opt(&mut s, "ceiling", &t.ceiling);
        opt(&mut s, "cohort", &t.cohort.map(u8::from));
        opt(&mut s, "floor", &t.floor);
        opt(&mut s, "minclock", &t.minclock);
        opt(&mut s, "maxclock", &t.maxclock);
        optf(&mut s, "maxdist", t.maxdist);
        optf(&mut s, "mindist", t.mindist);
        opt(&mut s, "minsane", &t.minsane);
        opt(&mut s, "orphan", &t.orphan);
        optf(&mut s, "orphanwait", t.orphanwait);
        optf(&mut s, "maxdisp", t.maxdisp);
        line(f, "tos", &s)?;
        for (flag, on) in &self.system_flags {
            let name = system_flag_name(*flag);
            writeln!(f, "{} {name}", if *on { "enable" } else { "disable" })?;
        }
        for a in &self.associations {
            writeln!(f, "{a}")?;
        }
        for a in &self.unpeer {
            writeln!(f, "unpeer {a}")?;
        }
        for fu in &self.fudges {
            let Some(r) = fu.refclock else { continue };
            let mut s = String::new();
            optf(&mut s, "time1", fu.time1);
            optf(&mut s, "time2", fu.time2);
            opt(&mut s, "stratum", &fu.stratum);
            if let Some(refid) = &fu.refid {
                let _ = write!(s, " refid {}", Word(refid));
            }
            for (i, flag) in fu.flags.iter().enumerate() {
                opt(&mut s, &format!("flag{}", i + 1), &flag.map(u8::from));
            }
            optf(&mut s, "minjitter", fu.minjitter);
            if let Some(a) = &fu.abbrev {
                let _ = write!(s, " abbrev {}", Word(a));
            }
            writeln!(f, "fudge {}{s}", r.address())?;
        }
        for d in &self.devices {
            write!(f, "device {}", d.refclock.address())?;
            if let Some(p) = &d.timedata {
                write!(f, " timedata {}", Word(p))?;
            }
            if let Some(p) = &d.ppsdata {
                write!(f, " ppsdata {}", Word(p))?;
            }
            writeln!(f)?;
        }
        if !self.phone.is_empty() {
            f.write_str("phone")?;
            for p in &self.phone {
                write!(f, " {}", Word(p))?;
            }
            writeln!(f)?;
        }
        if self.broadcastclient {
            writeln!(f, "broadcastclient")?;
        }
        if !self.multicastclient.is_empty() {
            f.write_str("multicastclient")?;
            for a in &self.multicastclient {
                write!(f, " {a}")?;
            }
            writeln!(f)?;
        }
        if !self.manycastserver.is_empty() {
            f.write_str("manycastserver")?;
            for a in &self.manycastserver {
                write!(f, " {a}")?;
            }
            writeln!(f)?;
        }
        if let Some(v) = self.mdnstries {
            writeln!(f, "mdnstries {v}")?;
        }
        if let Some(v) = self.broadcastdelay {
            writeln!(f, "broadcastdelay {}", Num(v))?;
        }
        if !self.ttl.is_empty() {
            f.write_str("ttl")?;
            for t in &self.ttl {
                write!(f, " {t}")?;
            }
            writeln!(f)?;
        }
        for r in &self.restrictions {
            writeln!(f, "{r}")?;
        }
        let d = &self.discard;
        let mut s = String::new();
        opt(&mut s, "average", &d.average);
        opt(&mut s, "minimum", &d.minimum);
        opt(&mut s, "monitor", &d.monitor);
        line(f, "discard", &s)?;
        let mut s = String::new();
        opt(&mut s, "burst", &d.burst);
        opt(&mut s, "kod", &d.kod);
        line(f, "limit", &s)?;
        let m = &self.mru;
        let mut s = String::new();
        for (name, v) in [
            ("maxdepth", m.maxdepth),
            ("maxmem", m.maxmem),
            ("mindepth", m.mindepth),
            ("maxage", m.maxage),
            ("minage", m.minage),
            ("initalloc", m.initalloc),
            ("initmem", m.initmem),
            ("incalloc", m.incalloc),
            ("incmem", m.incmem),
        ] {
            opt(&mut s, name, &v);
        }
        line(f, "mru", &s)?;
        for rule in &self.interfaces {
            let action = match rule.action {
                InterfaceAction::Listen => "listen",
                InterfaceAction::Ignore => "ignore",
                InterfaceAction::Drop => "drop",
            };
            write!(f, "interface {action} ")?;
            match &rule.target {
                InterfaceTarget::All => f.write_str("all")?,
                InterfaceTarget::Ipv4 => f.write_str("ipv4")?,
                InterfaceTarget::Ipv6 => f.write_str("ipv6")?,
                InterfaceTarget::Wildcard => f.write_str("wildcard")?,
                InterfaceTarget::Name(n) => f.write_str(n)?,
                InterfaceTarget::Address(a, None) => write!(f, "{a}")?,
                InterfaceTarget::Address(a, Some(p)) => write!(f, "{a}/{p}")?,
            }
            writeln!(f)?;
        }
        for v in &self.setvars {
            write!(f, "setvar {} = {}", v.name, Word(&v.value))?;
            if v.default {
                f.write_str(" default")?;
            }
            writeln!(f)?;
        }
        for t in &self.traps {
            write!(f, "trap {}", t.host)?;
            if let Some(p) = t.port {
                write!(f, " port {p}")?;
            }
            if let Some(i) = t.interface {
                write!(f, " interface {i}")?;
            }
            writeln!(f)?;
        }
        if let Some(v) = self.dscp {
            writeln!(f, "dscp {v}")?;
        }
        if let Some(a) = self.metrics {
            writeln!(f, "metrics {a}")?;
        }
        let r = &self.rlimit;
        let mut s = String::new();
        opt(&mut s, "memlock", &r.memlock);
        opt(&mut s, "stacksize", &r.stacksize);
        opt(&mut s, "filenum", &r.filenum);
        line(f, "rlimit", &s)?;
        if let Some(v) = self.tick {
            writeln!(f, "tick {}", Num(v))?;
        }
        if !self.pollskew.is_empty() {
            f.write_str("pollskewlist")?;
            for p in &self.pollskew {
                match p.poll {
                    Some(n) => write!(f, " {n}")?,
                    None => f.write_str(" default")?,
                }
                write!(f, " {}|{}", p.early, p.late)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn stats_name(s: StatsKind) -> &'static str {
    match s {
        StatsKind::Clockstats => "clockstats",
        StatsKind::Cryptostats => "cryptostats",
        StatsKind::Loopstats => "loopstats",
        StatsKind::Peerstats => "peerstats",
        StatsKind::Rawstats => "rawstats",
        StatsKind::Sysstats => "sysstats",
        StatsKind::Protostats => "protostats",
        StatsKind::Timingstats => "timingstats",
    }
}

fn system_flag_name(f: SystemFlag) -> &'static str {
    match f {
        SystemFlag::Auth => "auth",
        SystemFlag::Bclient => "bclient",
        SystemFlag::Calibrate => "calibrate",
        SystemFlag::Kernel => "kernel",
        SystemFlag::Mode7 => "mode7",
        SystemFlag::Monitor => "monitor",
        SystemFlag::Ntp => "ntp",
        SystemFlag::Stats => "stats",
        SystemFlag::PeerClearDigestEarly => "peer_clear_digest_early",
        SystemFlag::UnpeerCryptoEarly => "unpeer_crypto_early",
        SystemFlag::UnpeerCryptoNakEarly => "unpeer_crypto_nak_early",
        SystemFlag::UnpeerDigestEarly => "unpeer_digest_early",
    }
}

#[cfg(test)]
mod tests {
    use crate::{parse, NoFiles};

    #[test]
    fn display_writes_canonical_text() {
        let c = parse(
            "server -4 192.0.2.1 iburst minpoll 4\nrestrict 10.0.0.0/8 nomodify serverresponse fuzz ntpport\ntinker panic 600 step 1e-7\nsetvar loc = \"rack 4\" default\n",
            "t",
            &NoFiles,
        )
        .unwrap();
        assert_eq!(
            c.to_string(),
            "tinker panic 600.0 step 1e-7\nserver -4 192.0.2.1 iburst minpoll 4\nrestrict 10.0.0.0 mask 255.0.0.0 nomodify serverresponse fuzz ntpport\nsetvar loc = \"rack 4\" default\n"
        );
    }
}
