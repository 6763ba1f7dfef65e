//! MurmurHash3 (x86, 32-bit) and the bucketing built on it.
//!
//! Sticky rollout buckets a key exactly as Unleash's gradual and flexible rollout strategies do:
//!
//! ```text
//! bucket(key, group_id) = murmur3_x86_32(utf8("{group_id}:{key}"), seed 0) % 100 + 1
//! ```
//!
//! so a bucket is in `1..=100`, and a key is inside a rollout of `p` percent iff `p > 0 && bucket <= p`.
//! Raising `p` only adds keys; the same key and group always land in the same bucket. Strings are
//! hashed as their UTF-8 bytes (identical to every Unleash SDK for ASCII keys).

/// MurmurHash3, x86 variant, 32-bit output, over `data` with `seed`.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;

    let mut h = seed;
    let blocks = data.chunks_exact(4);
    let tail = blocks.remainder();
    for block in blocks {
        let k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        h ^= mix_k(k, C1, C2);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    if !tail.is_empty() {
        let k = tail
            .iter()
            .enumerate()
            .fold(0u32, |k, (i, &b)| k | (u32::from(b) << (8 * i)));
        h ^= mix_k(k, C1, C2);
    }
    // The length is mixed in modulo 2^32, as the reference implementation does.
    h ^= data.len() as u32;
    fmix32(h)
}

fn mix_k(k: u32, c1: u32, c2: u32) -> u32 {
    k.wrapping_mul(c1).rotate_left(15).wrapping_mul(c2)
}

fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// `murmur3_32("{group_id}:{key}", seed) % normalizer + 1`: a value in `1..=normalizer`.
///
/// With `normalizer = 100` and `seed = 0` this is Unleash's `normalizedValue` used by the rollout
/// strategies; variants use the same formula with the total variant weight as normalizer and the
/// feature name as group. A `normalizer` of 0 yields 0 (no bucket).
pub fn normalized_value(key: &str, group_id: &str, normalizer: u32, seed: u32) -> u32 {
    if normalizer == 0 {
        return 0;
    }
    let hashed = murmur3_32(format!("{group_id}:{key}").as_bytes(), seed);
    hashed % normalizer + 1
}

/// The rollout bucket of `key` in `group_id`, in `1..=100` (Unleash's strategy bucketing).
pub fn normalized_bucket(key: &str, group_id: &str) -> u32 {
    normalized_value(key, group_id, 100, 0)
}

/// Whether a bucket lies inside a rollout of `percent` (0 never, 100 always).
pub fn bucket_in_rollout(bucket: u32, percent: u32) -> bool {
    percent > 0 && bucket <= percent
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published MurmurHash3 x86_32 vectors (SMHasher reference implementation).
    #[test]
    fn murmur3_matches_published_vectors() {
        let cases: &[(&[u8], u32, u32)] = &[
            (b"", 0, 0),
            (b"", 1, 0x514E_28B7),
            (b"", 0xffff_ffff, 0x81F1_6F39),
            (&[0xff, 0xff, 0xff, 0xff], 0, 0x7629_3B50),
            (&[0x21, 0x43, 0x65, 0x87], 0, 0xF55B_516B),
            (&[0x21, 0x43, 0x65, 0x87], 0x5082_EDEE, 0x2362_F9DE),
            (&[0x21, 0x43, 0x65], 0, 0x7E4A_8634),
            (&[0x21, 0x43], 0, 0xA0F7_B07A),
            (&[0x21], 0, 0x7266_1CF4),
            (&[0, 0, 0, 0], 0, 0x2362_F9DE),
            (&[0, 0, 0], 0, 0x85F0_B427),
            (&[0, 0], 0, 0x30F4_C306),
            (&[0], 0, 0x514E_28B7),
            (b"aaaa", 0x9747_b28c, 0x5A97_808A),
            (b"aaa", 0x9747_b28c, 0x283E_0130),
            (b"aa", 0x9747_b28c, 0x5D21_1726),
            (b"a", 0x9747_b28c, 0x7FA0_9EA6),
            (b"abcd", 0x9747_b28c, 0xF047_8627),
            (b"abc", 0x9747_b28c, 0xC84A_62DD),
            (b"ab", 0x9747_b28c, 0x7487_5592),
            (b"Hello, world!", 0x9747_b28c, 0x2488_4CBA),
            (
                "\u{3c0}\u{3c0}\u{3c0}\u{3c0}\u{3c0}\u{3c0}\u{3c0}\u{3c0}".as_bytes(),
                0x9747_b28c,
                0xD580_63C1,
            ),
            (
                b"The quick brown fox jumps over the lazy dog",
                0x9747_b28c,
                0x2FA8_26CD,
            ),
        ];
        for &(data, seed, expected) in cases {
            assert_eq!(
                murmur3_32(data, seed),
                expected,
                "murmur3_32({data:?}, {seed:#x})"
            );
        }
    }

    #[test]
    fn buckets_are_in_range_and_rollout_edges_are_exact() {
        for i in 0..2000 {
            let b = normalized_bucket(&i.to_string(), "g");
            assert!((1..=100).contains(&b), "bucket {b} out of range");
            assert!(bucket_in_rollout(b, 100));
            assert!(!bucket_in_rollout(b, 0));
        }
        assert_eq!(normalized_value("k", "g", 0, 0), 0);
    }
}
