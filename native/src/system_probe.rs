//! Level 1 of the probes: a port is free only if a TCP bind succeeds on every local
//! address a server might use. Checking 127.0.0.1 alone misses servers on `0.0.0.0` (on macOS
//! and BSD a specific bind can succeed beside a wildcard one) and on `::1`.

use atlas_ports_core::Probe;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::time::Duration;

/// Probes ports with real binds.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemProbe;

const ADDRESSES: [std::net::IpAddr; 4] = [
    std::net::IpAddr::V4(Ipv4Addr::LOCALHOST),
    std::net::IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    std::net::IpAddr::V6(Ipv6Addr::LOCALHOST),
    std::net::IpAddr::V6(Ipv6Addr::UNSPECIFIED),
];

/// Pauses before re-checking a port that looked busy. Another prober (a second atlas-ports on
/// another registry, a `check`) holds a port for microseconds; a server holds it for good.
const RECHECK_AFTER: [Duration; 2] = [Duration::from_micros(150), Duration::from_micros(600)];

impl Probe for SystemProbe {
    fn is_free(&self, port: u16) -> bool {
        ADDRESSES.iter().all(|&ip| {
            let addr = SocketAddr::new(ip, port);
            let mut answer = bind_answer(addr);
            for pause in RECHECK_AFTER {
                if answer != Bind::InUse {
                    break;
                }
                std::thread::sleep(pause);
                answer = bind_answer(addr);
            }
            answer == Bind::Free
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Bind {
    Free,
    InUse,
    Refused,
}

/// Whether a listener could bind `addr` now. An address this host does not have (no IPv6)
/// does not count against the port; anything else that fails — in use, permission denied
/// (privileged ports, Windows' reserved ranges), or an error we cannot explain — means busy,
/// so we never hand out a port we could not verify.
fn bind_answer(addr: SocketAddr) -> Bind {
    match TcpListener::bind(addr) {
        Ok(_) => Bind::Free,
        Err(e) if matches!(e.kind(), ErrorKind::AddrNotAvailable | ErrorKind::Unsupported) || is_no_family(&e) => {
            Bind::Free
        }
        Err(e) if e.kind() == ErrorKind::AddrInUse => Bind::InUse,
        Err(_) => Bind::Refused,
    }
}

/// The host has no such address family (IPv6 disabled).
fn is_no_family(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(crate::platform::NO_ADDRESS_FAMILY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener_port(addr: &str) -> Option<(TcpListener, u16)> {
        let l = TcpListener::bind(addr).ok()?;
        let port = l.local_addr().ok()?.port();
        Some((l, port))
    }

    #[test]
    fn a_listener_on_any_local_address_makes_the_port_busy() {
        for addr in ["127.0.0.1:0", "0.0.0.0:0", "[::1]:0", "[::]:0"] {
            let Some((_l, port)) = listener_port(addr) else {
                assert!(addr.starts_with('['), "IPv4 listeners always work here");
                continue; // no IPv6 on this host
            };
            assert!(!SystemProbe.is_free(port), "{addr} port {port} must be busy");
        }
    }

    #[test]
    fn another_prober_does_not_make_a_free_port_look_busy() {
        let (l, port) = listener_port("127.0.0.1:0").unwrap();
        drop(l);
        // A busy fleet: another process probes the same port every few hundred microseconds.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let other = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    SystemProbe.is_free(port);
                    std::thread::sleep(Duration::from_micros(300));
                }
            })
        };
        let false_busy = (0..500).filter(|_| !SystemProbe.is_free(port)).count();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        other.join().unwrap();
        // A prober that the scheduler stops while it holds the port (a machine loaded far past
        // its cores) can outlast both re-checks: allow that rarely. Without the re-checks, every
        // overlap is a false "busy".
        assert!(false_busy <= 5, "another prober made a free port look busy {false_busy} times in 500");
    }

    #[test]
    fn a_closed_port_is_free() {
        let (l, port) = listener_port("127.0.0.1:0").unwrap();
        drop(l);
        assert!(SystemProbe.is_free(port));
    }
}
