//! End-to-end test of leap second announcement from the `leapfile`: with a leap less than a
//! day ahead the daemon serves LI=01, with one three days ahead LI=00 (classic 4.2.8
//! announces in the last day only). The files are written here with a correct SHA-1 `#h`
//! line; both daemons run with `disable ntp`, so nothing touches the host clock or kernel.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{query_from, wait_for, Daemon};
use ntp_wire::LeapIndicator;
use sha1::{Digest, Sha1};

const NTP_UNIX: u64 = 2_208_988_800;

/// A leap-seconds.list whose last entry (TAI 38) is at NTP second `leap`, hashed as the
/// IERS file is: SHA-1 over the digits of `#$`, `#@` and every entry, five hex words.
fn leapfile(leap: u64) -> String {
    let updated = leap - 30 * 86_400;
    let expires = leap + 200 * 86_400;
    let entries = [(3_692_217_600u64, 37), (leap, 38)];
    let mut digits = format!("{updated}{expires}");
    let mut text = format!("#$\t{updated}\n#@\t{expires}\n");
    for (t, o) in entries {
        digits.push_str(&format!("{t}{o}"));
        text.push_str(&format!("{t}\t{o}\n"));
    }
    let hash: Vec<String> = Sha1::digest(digits.as_bytes())
        .chunks(4)
        .map(|c| format!("{:x}", u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect();
    text.push_str(&format!("#h\t{}\n", hash.join(" ")));
    text
}

fn start(tag: &str, leap_in: u64) -> Daemon {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + NTP_UNIX;
    let dir = std::env::temp_dir().join(format!("ntpd-leapfile-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("leap-seconds.list");
    std::fs::write(&path, leapfile(now + leap_in)).unwrap();
    Daemon::start(
        tag,
        &format!(
            "disable ntp\ndriftfile $DIR/ntp.drift\nleapfile {}\n\
             server 127.127.1.0 minpoll 3\nfudge 127.127.1.0 stratum 10\n",
            path.display()
        ),
    )
}

#[test]
fn a_leap_within_a_day_is_served_as_li_01_and_one_further_away_is_not() {
    let near = start("leap-near", 6 * 3600);
    let far = start("leap-far", 3 * 86_400);
    let synced = |d: &Daemon| {
        query_from("127.0.0.1", d.port, Duration::from_millis(300)).filter(|(h, _)| h.stratum == 11)
    };
    wait_for("LI=01 from the near leap", Duration::from_secs(120), || {
        synced(&near).is_some_and(|(h, _)| h.leap == LeapIndicator::AddSecond)
    });
    wait_for(
        "the far daemon synchronised",
        Duration::from_secs(120),
        || synced(&far).is_some(),
    );
    let (h, _) = synced(&far).unwrap();
    assert_eq!(
        h.leap,
        LeapIndicator::NoWarning,
        "3 days ahead is not announced"
    );
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("ntpd-leapfile-leap-near-{}", std::process::id())),
    );
    let _ = std::fs::remove_dir_all(
        std::env::temp_dir().join(format!("ntpd-leapfile-leap-far-{}", std::process::id())),
    );
}
