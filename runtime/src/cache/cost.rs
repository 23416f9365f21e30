//! What memory an entry really takes, so a store's byte bound holds for
//! the process's RSS and not only for the bodies: 100k answers of one byte
//! each take ~100 MB of headers, tables and allocator rounding.
//!
//! The model is glibc's malloc (the allocator of Rust on Linux), rounded
//! up: other allocators round less.

/// The bytes an allocation of `n` bytes takes: glibc adds an 8-byte header
/// and rounds to 16 (32 at least); from its mmap threshold (128 KiB) on, a
/// block is whole pages.
pub(crate) const fn heap(n: usize) -> usize {
    if n == 0 {
        0
    } else if n >= 128 * 1024 {
        (n + 16).div_ceil(4096) * 4096
    } else if n + 8 <= 32 {
        32
    } else {
        (n + 8).div_ceil(16) * 16
    }
}

/// The share of one item of `item` bytes in a hash table: hashbrown fills
/// at most 7/8 of its buckets and doubles when full, so just after growing
/// an item has 16/7 buckets, each with a control byte.
pub(crate) const fn table_slot(item: usize) -> usize {
    (item + 1) * 16 / 7 + 1
}

/// The share of one item in a `BTreeMap` with `item`-byte pairs: nodes of
/// 11, about half full when keys arrive in order, plus the internal nodes.
pub(crate) const fn btree_slot(item: usize) -> usize {
    (item * 11 + 24) / 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_as_glibc_does() {
        assert_eq!(
            [0, 1, 24, 25, 40, 41, 1000].map(heap),
            [0, 32, 32, 48, 48, 64, 1008]
        );
        assert_eq!(heap(200 * 1024), 51 * 4096);
        assert_eq!(table_slot(16), 39);
    }
}
