//! A set of ports as a 64 Kbit bitmap: O(1) membership, built in one pass over the allocations.

/// Set of port numbers 0–65535.
#[derive(Clone)]
pub struct PortSet {
    bits: Box<[u64; 1024]>,
}

impl PortSet {
    /// The empty set.
    pub fn new() -> Self {
        PortSet { bits: Box::new([0; 1024]) }
    }

    /// Adds a port.
    pub fn insert(&mut self, port: u16) {
        self.bits[usize::from(port >> 6)] |= 1 << (port & 63);
    }

    /// Whether the port is in the set.
    pub fn contains(&self, port: u16) -> bool {
        self.bits[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

impl Default for PortSet {
    fn default() -> Self {
        Self::new()
    }
}

impl FromIterator<u16> for PortSet {
    fn from_iter<I: IntoIterator<Item = u16>>(iter: I) -> Self {
        let mut set = PortSet::new();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries((0..=u16::MAX).filter(|p| self.contains(*p))).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_at_the_edges() {
        let set: PortSet = [1, 63, 64, 65535].into_iter().collect();
        for p in [1, 63, 64, 65535] {
            assert!(set.contains(p));
        }
        for p in [0, 2, 62, 65, 65534] {
            assert!(!set.contains(p));
        }
    }
}
