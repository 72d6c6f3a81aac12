//! Addresses: public IPv4 outside every reserved block, addresses inside known
//! prefixes, and residential IPv6.

use crate::ids::SimRng;
use rand::Rng;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `a` is globally routable unicast (not private, loopback, link-local,
/// CGNAT, documentation, benchmarking, multicast or reserved).
pub(crate) fn is_public(a: Ipv4Addr) -> bool {
    let [o1, o2, o3, _] = a.octets();
    !(o1 == 0
        || o1 == 10
        || o1 == 127
        || o1 >= 224
        || (o1 == 100 && (64..128).contains(&o2))
        || (o1 == 169 && o2 == 254)
        || (o1 == 172 && (16..32).contains(&o2))
        || (o1 == 192 && o2 == 168)
        || (o1 == 192 && o2 == 0 && (o3 == 0 || o3 == 2))
        || (o1 == 198 && (o2 == 18 || o2 == 19))
        || (o1 == 198 && o2 == 51 && o3 == 100)
        || (o1 == 203 && o2 == 0 && o3 == 113))
}

/// A random public IPv4 address (host part never .0 or .255).
pub(crate) fn public_v4(rng: &mut SimRng) -> Ipv4Addr {
    loop {
        let a = Ipv4Addr::new(
            rng.random_range(1..224),
            rng.random(),
            rng.random(),
            rng.random_range(1..255),
        );
        if is_public(a) {
            return a;
        }
    }
}

/// A random address inside `prefix`/`len` (host part never all zeros or ones).
pub(crate) fn in_prefix(rng: &mut SimRng, prefix: [u8; 4], len: u32) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::from(prefix));
    let host_bits = 32 - len.min(30);
    let span = 1u32 << host_bits;
    let host = rng.random_range(1..span - 1);
    Ipv4Addr::from((base & !(span - 1)) | host)
}

/// A residential or mobile IPv6 address in a large ISP's /32.
pub(crate) fn public_v6(rng: &mut SimRng) -> Ipv6Addr {
    const ISPS: [u16; 6] = [0x2600, 0x2601, 0x2603, 0x2607, 0x2a02, 0x2409];
    let isp = ISPS[rng.random_range(0..ISPS.len())];
    Ipv6Addr::new(
        isp,
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
        rng.random(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::stream;

    #[test]
    fn public_addresses_avoid_reserved_blocks() {
        let mut rng = stream(1, "ip", 0);
        for _ in 0..10_000 {
            let a = public_v4(&mut rng);
            assert!(
                !a.is_private() && !a.is_loopback() && !a.is_link_local(),
                "{a}"
            );
            assert!(!a.is_multicast() && !a.is_documentation(), "{a}");
        }
        assert!(!is_public(Ipv4Addr::new(100, 100, 1, 1)));
        assert!(is_public(Ipv4Addr::new(66, 249, 66, 1)));
    }

    #[test]
    fn prefix_addresses_stay_inside() {
        let mut rng = stream(1, "ip", 1);
        for _ in 0..1000 {
            let o = in_prefix(&mut rng, [10, 0, 10, 0], 24).octets();
            assert_eq!(&o[..3], &[10, 0, 10]);
            assert!(o[3] != 0 && o[3] != 255);
        }
    }
}
