//! Compression of records before sealing.
//!
//! A record is a small JSON document (one to five KB) rewritten at every
//! step, and every byte saved is a byte the store writes less each step and
//! keeps less on disk. Small documents compress poorly on their own: most of
//! their bytes are first occurrences (field names, enum tags, date and money
//! shapes). So records are compressed with zstd and a fixed dictionary of
//! what records are made of ([`DICT_1`], `record.dict1`): a typical record
//! comes out about a quarter smaller than with DEFLATE alone.
//!
//! How a value was packed is recorded in the kind byte of its associated
//! data (see `slots`), so each form opens with what made it:
//! - [`Packing::Zstd1`]: zstd with dictionary 1 (written since storage
//!   schema 4 for sled, 2 for PostgreSQL);
//! - [`Packing::Deflate`]: raw DEFLATE, no dictionary (read only; written by
//!   schema 3);
//! - [`Packing::Plain`]: as it is (short or incompressible values).
//!
//! The dictionary is part of the storage format: a value packed with it
//! cannot be read without the very same bytes. A test pins its hash; a
//! better dictionary is a new file, a new [`Packing`] and a new schema
//! version, never an edit of this one.

use std::sync::{Mutex, OnceLock, PoisonError};

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// Dictionary 1: the shape of a record (field names, enum tags, a history
/// of frames, reminders, plans of instalments, dates and money in both
/// languages), with no user's data in it.
pub(super) const DICT_1: &[u8] = include_bytes!("record.dict1");

/// Values this long or longer are compressed, if it helps.
const PACK_FROM: usize = 128;
/// zstd level. Measured on a 2.4 KB record on this project's 2-core
/// machine: level 9 packs it to 515 bytes in 26 µs, level 3 to 566 bytes in
/// 8 µs (DEFLATE level 6, used before: 686 bytes in 95 µs). Every step packs
/// its record and each message it queues, so this is paid several times a
/// step: level 9 was a tenth of the bot's CPU in the load test. Negative
/// levels leave literals unencoded (no Huffman tables built per value) and
/// keep the dictionary's matches, which is where small records gain: on the
/// 778-byte record of the test below, level 3 gives 271 bytes in 4.9 µs,
/// level -1 305 bytes in 2.2 µs (level 1: 295 bytes, 4.9 µs). The store
/// stays well under its 2 KB a user. Any level reads back with the same
/// dictionary: this is not part of the format.
const LEVEL: i32 = -1;
/// Compressors kept for reuse (each holds a few hundred KB of tables).
const KEPT: usize = 8;
/// Most a packed value may unpack to: far above any record, so that only
/// a damaged value (which cannot open anyway) would reach it.
const UNPACK_LIMIT: usize = 64 << 20;

/// How a sealed value's plaintext was packed; its bits go into the kind byte
/// of the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Packing {
    Plain = 0,
    /// zstd with [`DICT_1`].
    Zstd1 = 0x40,
    /// Raw DEFLATE (schema 3); read, no longer written.
    Deflate = 0x80,
}

impl Packing {
    /// The forms a value may be in, the one written today first.
    pub(super) const READ_ORDER: [Packing; 3] = [Packing::Zstd1, Packing::Deflate, Packing::Plain];

    /// The tag bits this packing adds to a kind.
    pub(super) fn bits(self) -> u8 {
        self as u8
    }
}

fn encoder_dict() -> &'static EncoderDictionary<'static> {
    static DICT: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| EncoderDictionary::copy(DICT_1, LEVEL))
}

fn decoder_dict() -> &'static DecoderDictionary<'static> {
    static DICT: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| DecoderDictionary::copy(DICT_1))
}

static COMPRESSORS: Mutex<Vec<Compressor<'static>>> = Mutex::new(Vec::new());
static DECOMPRESSORS: Mutex<Vec<Decompressor<'static>>> = Mutex::new(Vec::new());

/// Takes a pooled item or makes one, runs `f`, and gives it back.
fn pooled<T, R>(pool: &Mutex<Vec<T>>, make: impl FnOnce() -> Option<T>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
    let reused = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
    let mut item = reused.or_else(make)?;
    let result = f(&mut item);
    let mut kept = pool.lock().unwrap_or_else(PoisonError::into_inner);
    if kept.len() < KEPT {
        kept.push(item);
    }
    Some(result)
}

/// `plain` packed the way values are written today, if that is shorter
/// than `plain` and `plain` is worth packing; None means seal it as it is.
pub(super) fn pack(plain: &[u8]) -> Option<(Packing, Vec<u8>)> {
    if plain.len() < PACK_FROM {
        return None;
    }
    let make = || Compressor::with_prepared_dictionary(encoder_dict()).ok();
    let packed = pooled(&COMPRESSORS, make, |c| c.compress(plain).ok())??;
    (packed.len() < plain.len()).then_some((Packing::Zstd1, packed))
}

/// The plaintext of a value packed as `packing`; None if it does not unpack
/// (damage: the value was sealed, so nobody else wrote it).
pub(super) fn unpack(packing: Packing, packed: &[u8]) -> Option<Vec<u8>> {
    match packing {
        Packing::Plain => Some(packed.to_vec()),
        Packing::Deflate => miniz_oxide::inflate::decompress_to_vec_with_limit(packed, UNPACK_LIMIT).ok(),
        Packing::Zstd1 => {
            let make = || Decompressor::with_prepared_dictionary(decoder_dict()).ok();
            pooled(&DECOMPRESSORS, make, |d| d.decompress(packed, UNPACK_LIMIT).ok())?
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dictionary is part of the storage format: records written with it
    /// need these very bytes to be read again.
    #[test]
    fn dictionary_1_is_exactly_the_one_records_were_written_with() {
        // FNV-1a: enough to notice an edit (this guards against accidents, not attacks).
        let fnv =
            DICT_1.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        assert_eq!(
            (DICT_1.len(), fnv),
            (1653, 0x93ce_af66_39f3_be98),
            "record.dict1 changed: existing records would no longer open. Restore it; a new dictionary is a new file"
        );
    }

    #[test]
    fn a_record_packs_smaller_with_the_dictionary_than_deflate_and_unpacks_as_it_was() {
        let record = r#"{"guide":"repay","lang":"zh","node":"summary","stage":"plan","vars":{"debt":{"Num":"28650.5"},"due":{"Str":"2026-11-18"},"months":{"Int":3},"plan":{"List":[{"Map":{"amount":{"Num":"9550.16"},"due":{"Str":"2026-12-23"},"n":{"Int":1}}},{"Map":{"amount":{"Num":"9550.16"},"due":{"Str":"2027-01-23"},"n":{"Int":2}}}]}},"answers":{"amount":"¥28,650.50","due":"2026年11月18日","months":"3"},"history":[{"node":"welcome","stage":"facts"},{"node":"amount","stage":"facts","da":{"set":{"welcome":"ok"}}}],"pending":null,"seq":849175208,"finished":true,"first_name":"Ming","reminders":{"first":{"send_on":"2026-12-22","about":"2026-12-23","text":"Tomorrow: the first instalment.","sent":false,"source":"summary/0"}},"reached":["facts","plan"],"last_press":"g1:849175204:f8a35e19:c2"}"#.as_bytes();
        let (packing, packed) = pack(record).expect("packs");
        assert_eq!(packing, Packing::Zstd1);
        let deflated = miniz_oxide::deflate::compress_to_vec(record, 6);
        assert!(
            packed.len() * 4 < deflated.len() * 3,
            "zstd with the dictionary: {} bytes; DEFLATE: {} (of {})",
            packed.len(),
            deflated.len(),
            record.len()
        );
        assert_eq!(unpack(Packing::Zstd1, &packed).expect("unpacks"), record);
        // DEFLATE values (schema 3) still unpack.
        assert_eq!(unpack(Packing::Deflate, &deflated).expect("inflates"), record);
    }

    #[test]
    fn short_or_incompressible_values_are_not_packed_and_damage_does_not_unpack() {
        assert!(pack(b"short").is_none());
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let random: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(pack(&random).is_none());
        assert!(unpack(Packing::Zstd1, b"\x28\xb5\x2f\xfd garbage").is_none());
        assert!(unpack(Packing::Deflate, b"\xff\xff not deflate").is_none());
    }
}
