//! A string interner: repeated strings of a batch (principals, event names, IPs)
//! are stored once and referred to by a 4-byte symbol.

use rustc_hash::FxHashMap;

/// A symbol: index of an interned string in its [`Interner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

impl Sym {
    /// The symbol of the empty string, interned first in every interner.
    pub const EMPTY: Sym = Sym(0);

    /// Index of the symbol, for dense per-symbol tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The symbol at a dense index (the inverse of [`Sym::index`]).
    pub fn from_index(i: usize) -> Sym {
        Sym(u32::try_from(i).unwrap_or(u32::MAX))
    }
}

/// Stores each distinct string once.
#[derive(Debug, Clone)]
pub struct Interner {
    map: FxHashMap<Box<str>, Sym>,
    strs: Vec<Box<str>>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Self {
            map: FxHashMap::default(),
            strs: Vec::new(),
        };
        i.intern("");
        i
    }
}

impl Interner {
    /// The symbol for `s`, interning it on first sight.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.map.get(s) {
            return sym;
        }
        // More than 4 billion distinct strings cannot come from one bounded batch;
        // saturate rather than wrap so a symbol never aliases another.
        let sym = Sym(u32::try_from(self.strs.len()).unwrap_or(u32::MAX));
        let boxed: Box<str> = s.into();
        self.strs.push(boxed.clone());
        self.map.insert(boxed, sym);
        sym
    }

    /// The symbol for `s` if it was interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    /// The string of a symbol ("" for a symbol of another interner that is out of range).
    pub fn resolve(&self, sym: Sym) -> &str {
        self.strs.get(sym.index()).map(|s| &**s).unwrap_or("")
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.strs.len()
    }

    /// Whether only the empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.strs.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_each_string_once() {
        let mut i = Interner::default();
        let a = i.intern("iam.amazonaws.com");
        let b = i.intern("s3.amazonaws.com");
        assert_eq!(i.intern("iam.amazonaws.com"), a);
        assert_ne!(a, b);
        assert_eq!(i.resolve(b), "s3.amazonaws.com");
        assert_eq!(i.intern(""), Sym::EMPTY);
        assert_eq!(i.len(), 3);
    }
}
