//! Per-user keys in slot files: `keys/ring` (identity of this data
//! directory) and `keys/NNNN.slots` (1024 bucket files of 64-byte slots).
//!
//! Why slots and not one file per user: a million users must not mean a
//! million files, and erasure must still destroy a key's bytes. A slot is
//! overwritten in place (`pwrite` + `fdatasync`), so on an ordinary
//! filesystem the old key is gone once `erase` returns; on copy-on-write
//! filesystems or flash the old blocks may survive until reused (see the
//! parent module).
//!
//! A slot holds everything about a user that is not encrypted: the user id
//! (its front end's tag and number),
//! a random handle (what sled keys are made of, so sled never holds a user
//! id), the key, the time of the user's next reminder, and flags. Nothing
//! here is ever written to sled; nothing in sled is readable without a slot.
//!
//! Which bucket a user lives in is a keyed hash of the id (the key is in
//! `keys/ring`), so a bucket number says next to nothing about the user.
//!
//! Buckets are read lazily, on the first look-up that needs them, so
//! opening the store costs the same for ten users or a million.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
};

use super::pack::{self, Packing};
use super::{Front, StoreError, UserId};
use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};

/// Number of bucket files.
pub(super) const BUCKETS: usize = 1024;
/// Bytes of one slot on disk.
const SLOT_LEN: usize = 64;
/// Key length of XChaCha20Poly1305.
const KEY_LEN: usize = 32;
/// Nonce length of XChaCha20Poly1305.
const NONCE_LEN: usize = 24;
/// Length of a handle.
pub(super) const HANDLE_LEN: usize = 16;
/// `keys/ring`: magic, then the data directory's id, then the bucket secret.
const RING_MAGIC: &[u8; 8] = b"gbring02";
const RING_LEN: usize = 8 + HANDLE_LEN + 32;
/// "No reminder" in the next-due field.
pub(super) const NEVER: i64 = i64::MAX;

/// A random name for one user's data in sled; meaningless without its slot.
pub(super) type Handle = [u8; HANDLE_LEN];

/// Slot flags.
pub(super) mod flag {
    /// A record of this slot was made durable at least once: a missing
    /// record is then damage (a rolled-back database), never "a new user".
    pub const LIVE: u8 = 1;
    /// An erase began; its data is to be removed and the slot cleared.
    pub const ERASING: u8 = 2;
    /// Holds only the key of messages still to be sent after an erase.
    pub const FAREWELL: u8 = 4;
}

/// One user's key. Deliberately not `Debug`, so it cannot end up in a log.
#[derive(Clone)]
pub(super) struct UserKey([u8; KEY_LEN]);

/// A slot as read from disk.
#[derive(Clone)]
pub(super) struct Slot {
    pub user: UserId,
    pub handle: Handle,
    pub key: UserKey,
    pub next_due: i64,
    pub flags: u8,
    /// The event named by the head of the user's record, once this process
    /// wrote that record (see [`BucketGuard::note_written`]); never on disk.
    pub wrote: Option<Option<UpdateKey>>,
}

/// An event id as the record's head and the `updates` tree hold it.
pub(super) type UpdateKey = [u8; super::encoding::UPDATE_KEY_LEN];

/// Where a slot lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SlotRef {
    pub bucket: u16,
    pub index: u32,
}

/// The `keys/` directory.
pub(super) struct Slots {
    dir: PathBuf,
    secret: [u8; 32],
    /// Identity of the data directory, also stored in sled's `meta` tree.
    pub db_id: Handle,
    buckets: Box<[Mutex<Bucket>]>,
}

/// One bucket file, read on first use. Its mutex is also the lock under
/// which a user's slot is created, changed or cleared.
#[derive(Default)]
pub(super) struct Bucket {
    loaded: bool,
    /// Slot index → slot; None for a free slot.
    slots: Vec<Option<Slot>>,
}

/// A locked bucket.
pub(super) struct BucketGuard<'a> {
    slots: &'a Slots,
    number: u16,
    bucket: MutexGuard<'a, Bucket>,
}

impl Slots {
    /// True when `dir` holds a ring file (keys of an existing store).
    pub(super) fn exists(dir: &Path) -> bool {
        dir.join("ring").exists()
    }

    /// Opens `dir`, creating a new ring (new data directory id) when
    /// `create` and none exists.
    pub(super) fn open(dir: &Path, create: bool) -> Result<Slots, StoreError> {
        create_private_dir(dir)?;
        let ring_path = dir.join("ring");
        let ring = match fs::read(&ring_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                let mut bytes = Vec::with_capacity(RING_LEN);
                bytes.extend_from_slice(RING_MAGIC);
                let mut random = [0u8; HANDLE_LEN + 32];
                fill_random(&mut random)?;
                bytes.extend_from_slice(&random);
                write_new_file(&ring_path, &bytes)?;
                sync_dir(dir).map_err(key_file("sync the directory of", &ring_path))?;
                bytes
            }
            Err(e) => return Err(key_file("read", &ring_path)(e)),
        };
        if ring.len() != RING_LEN || &ring[..8] != RING_MAGIC {
            return Err(StoreError::KeyFileLength { path: ring_path, len: ring.len() as u64 });
        }
        let mut db_id = [0u8; HANDLE_LEN];
        db_id.copy_from_slice(&ring[8..8 + HANDLE_LEN]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&ring[8 + HANDLE_LEN..]);
        let buckets = (0..BUCKETS).map(|_| Mutex::new(Bucket::default())).collect();
        Ok(Slots { dir: dir.to_path_buf(), secret, db_id, buckets })
    }

    /// Bucket of `user`: a keyed hash, so the number says little about the id.
    pub(super) fn bucket_of(&self, user: UserId) -> u16 {
        // FNV-1a over secret ‖ the id's number: enough to spread ids; the
        // secret keeps the mapping from being computed without this
        // directory. The front end is left out, so that the ids stored
        // before front ends had names stay in their buckets; two users
        // with the same number share a bucket, which holds many anyway.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.secret.iter().chain(user.id.to_be_bytes().iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        (h % BUCKETS as u64) as u16
    }

    /// Locks bucket `number`, reading its file on first use.
    pub(super) fn lock(&self, number: u16) -> Result<BucketGuard<'_>, StoreError> {
        let mut bucket = self.buckets[usize::from(number)].lock().unwrap_or_else(PoisonError::into_inner);
        if !bucket.loaded {
            bucket.slots = read_bucket(&self.bucket_path(number))?;
            bucket.loaded = true;
        }
        Ok(BucketGuard { slots: self, number, bucket })
    }

    /// Locks the bucket of `user`.
    pub(super) fn lock_user(&self, user: UserId) -> Result<BucketGuard<'_>, StoreError> {
        self.lock(self.bucket_of(user))
    }

    fn bucket_path(&self, number: u16) -> PathBuf {
        self.dir.join(format!("{number:04}.slots"))
    }

    /// Every slot of every bucket (reads every bucket file not yet read).
    pub(super) fn all(&self) -> Result<Vec<Slot>, StoreError> {
        let mut out = Vec::new();
        for number in 0..BUCKETS as u16 {
            let guard = self.lock(number)?;
            out.extend(guard.bucket.slots.iter().flatten().cloned());
        }
        Ok(out)
    }

    /// True when no bucket file holds a slot (a new or emptied keyring).
    #[cfg(test)]
    pub(super) fn is_empty(&self) -> Result<bool, StoreError> {
        for entry in fs::read_dir(&self.dir).map_err(key_file("list", &self.dir))? {
            let entry = entry.map_err(key_file("list", &self.dir))?;
            let name = entry.file_name();
            if name.to_string_lossy().ends_with(".slots") {
                let path = entry.path();
                if read_bucket(&path)?.iter().any(Option::is_some) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Copies the ring and every bucket file into `dest` (which must not hold keys yet).
    /// The caller holds whatever pause keeps slots from changing meanwhile.
    pub(super) fn copy_to(&self, dest: &Path) -> Result<(), StoreError> {
        create_private_dir(dest)?;
        for entry in fs::read_dir(&self.dir).map_err(key_file("list", &self.dir))? {
            let entry = entry.map_err(key_file("list", &self.dir))?;
            let name = entry.file_name();
            let text = name.to_string_lossy();
            if text == "ring" || text.ends_with(".slots") {
                let bytes = fs::read(entry.path()).map_err(key_file("read", &entry.path()))?;
                write_new_file(&dest.join(&name), &bytes)?;
            }
        }
        sync_dir(dest).map_err(key_file("sync", dest))
    }
}

impl BucketGuard<'_> {
    /// This bucket's number.
    pub(super) fn number(&self) -> u16 {
        self.number
    }

    /// The user's slot (not a farewell one), if any.
    pub(super) fn find(&self, user: UserId) -> Option<(SlotRef, &Slot)> {
        self.bucket.slots.iter().enumerate().find_map(|(i, s)| {
            let s = s.as_ref()?;
            (s.user == user && s.flags & flag::FAREWELL == 0).then(|| (self.slot_ref(i), s))
        })
    }

    /// The slot with `handle`, if any.
    pub(super) fn find_handle(&self, handle: &Handle) -> Option<(SlotRef, &Slot)> {
        self.bucket.slots.iter().enumerate().find_map(|(i, s)| {
            let s = s.as_ref()?;
            (s.handle == *handle).then(|| (self.slot_ref(i), s))
        })
    }

    /// Remembers that this process wrote the record of the slot with
    /// `handle`, under a head naming `event`: the next step of that user need
    /// not read the record back to learn it. Nothing is written.
    pub(super) fn note_written(&mut self, handle: &Handle, event: Option<UpdateKey>) {
        if let Some(slot) = self.bucket.slots.iter_mut().flatten().find(|s| s.handle == *handle) {
            slot.wrote = Some(event);
        }
    }

    /// Every slot in this bucket.
    pub(super) fn slots(&self) -> impl Iterator<Item = (SlotRef, &Slot)> {
        self.bucket.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|s| (self.slot_ref(i), s)))
    }

    fn slot_ref(&self, index: usize) -> SlotRef {
        SlotRef { bucket: self.number, index: index as u32 }
    }

    /// A fresh slot for `user` (new handle, new key), durable when it returns.
    pub(super) fn create(&mut self, user: UserId, flags: u8) -> Result<(SlotRef, Slot), StoreError> {
        let mut key = [0u8; KEY_LEN];
        fill_random(&mut key)?;
        let mut handle = [0u8; HANDLE_LEN];
        fill_random(&mut handle)?;
        let slot = Slot { user, handle, key: UserKey(key), next_due: NEVER, flags, wrote: None };
        let index = match self.bucket.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.bucket.slots.push(None);
                self.bucket.slots.len() - 1
            }
        };
        self.write(index, Some(&slot))?;
        Ok((self.slot_ref(index), slot))
    }

    /// Replaces the slot at `at` durably (None clears it: zeros over the old bytes).
    pub(super) fn put(&mut self, at: SlotRef, slot: Option<&Slot>) -> Result<(), StoreError> {
        self.write(at.index as usize, slot)
    }

    fn write(&mut self, index: usize, slot: Option<&Slot>) -> Result<(), StoreError> {
        let path = self.slots.bucket_path(self.number);
        let new_file = !path.exists();
        let mut options = OpenOptions::new();
        options.write(true).create(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(key_file("open", &path))?;
        let bytes = slot.map_or([0u8; SLOT_LEN], encode_slot);
        file.write_all_at(&bytes, (index * SLOT_LEN) as u64).map_err(key_file("write", &path))?;
        file.sync_data().map_err(key_file("sync", &path))?;
        if new_file {
            sync_dir(&self.slots.dir).map_err(key_file("sync the directory of", &path))?;
        }
        if self.bucket.slots.len() <= index {
            self.bucket.slots.resize(index + 1, None);
        }
        self.bucket.slots[index] = slot.cloned();
        Ok(())
    }
}

fn encode_slot(slot: &Slot) -> [u8; SLOT_LEN] {
    let mut b = [0u8; SLOT_LEN];
    b[0..8].copy_from_slice(&slot.user.id.to_be_bytes());
    b[8..24].copy_from_slice(&slot.handle);
    b[24..56].copy_from_slice(&slot.key.0);
    // 7 bytes of next-due seconds would do, but the layout stays simple:
    // flags in the low half of byte 56 and the front end's tag in its high
    // half (Telegram's is 0: slots written before front ends had names),
    // next-due in the last 7 bytes, big-endian, offset by 2^55.
    debug_assert!(slot.flags < 16 && slot.user.front.tag() < 16);
    b[56] = slot.flags | (slot.user.front.tag() << 4);
    let due = encode_due(slot.next_due);
    b[57..64].copy_from_slice(&due);
    b
}

fn encode_due(at: i64) -> [u8; 7] {
    // Seconds fit comfortably in 56 bits; NEVER maps to all ones.
    let v: u64 = if at == NEVER { (1 << 56) - 1 } else { (at.clamp(-(1 << 54), 1 << 54) + (1 << 55)) as u64 };
    let full = v.to_be_bytes();
    let mut out = [0u8; 7];
    out.copy_from_slice(&full[1..]);
    out
}

fn decode_due(b: &[u8]) -> i64 {
    let mut full = [0u8; 8];
    full[1..].copy_from_slice(b);
    let v = u64::from_be_bytes(full);
    if v == (1 << 56) - 1 { NEVER } else { v as i64 - (1 << 55) }
}

fn read_bucket(path: &Path) -> Result<Vec<Option<Slot>>, StoreError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(key_file("read", path)(e)),
    };
    bytes
        .chunks(SLOT_LEN)
        .map(|c| {
            if c.len() < SLOT_LEN || c[8..24].iter().all(|b| *b == 0) {
                return Ok(None);
            }
            let front = Front::from_tag(c[56] >> 4).ok_or_else(|| StoreError::Corrupt {
                tree: "keys",
                detail: format!("a slot of {} names front end number {}", path.display(), c[56] >> 4),
            })?;
            let mut handle = [0u8; HANDLE_LEN];
            handle.copy_from_slice(&c[8..24]);
            let mut key = [0u8; KEY_LEN];
            key.copy_from_slice(&c[24..56]);
            let mut user = [0u8; 8];
            user.copy_from_slice(&c[0..8]);
            Ok(Some(Slot {
                user: UserId::new(front, i64::from_be_bytes(user)),
                handle,
                key: UserKey(key),
                flags: c[56] & 0x0F,
                next_due: decode_due(&c[57..64]),
                wrote: None,
            }))
        })
        .collect()
}

/// What a sealed value is, bound into its associated data so that a value
/// moved to another place fails to open.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    /// A record as schemas 1 to 6 wrote it, still read.
    Record = 1,
    Note = 2,
    Outbox = 3,
    /// A record behind its [`Head`](super::encoding::Head) (schema 7).
    Headed = 4,
}

impl Kind {
    /// The sled tree values of this kind live in.
    fn tree(self) -> &'static str {
        match self {
            Kind::Record | Kind::Headed => "records",
            Kind::Note => "notes",
            Kind::Outbox => "outbox",
        }
    }
}

impl UserKey {
    /// A fresh random key.
    pub(super) fn random() -> Result<UserKey, StoreError> {
        let mut key = [0u8; KEY_LEN];
        fill_random(&mut key)?;
        Ok(UserKey(key))
    }

    /// A key kept elsewhere (a row of the PostgreSQL store); None when it is not a key's length.
    pub(super) fn from_bytes(bytes: &[u8]) -> Option<UserKey> {
        <[u8; KEY_LEN]>::try_from(bytes).ok().map(UserKey)
    }

    /// The key's bytes, to be stored where only this key's owner's data is.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// `nonce || ciphertext` of `plain`, bound to `handle` and `kind`.
    ///
    /// A value is compressed first when that makes it shorter (see
    /// [`pack`]), and sealed with how it was packed in its associated data.
    /// Every byte saved is a byte the store writes less: a record is
    /// rewritten at every step, and an outbox item, though deleted once
    /// delivered, is written as often and stays in sled's log until the log
    /// is reclaimed (packing them too took the store bench from 2.30 to
    /// 2.00–2.02 KB a user at 100 000 users, with no CPU difference the load
    /// test could tell from its noise).
    pub(super) fn seal(&self, handle: &Handle, kind: Kind, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        match pack::pack(plain) {
            Some((packing, packed)) => self.seal_as(handle, kind as u8 | packing.bits(), &packed),
            None => self.seal_as(handle, kind as u8, plain),
        }
    }

    /// Seals `plain` as it is, with `tag` (a kind, packed or not) in the associated data.
    pub(super) fn seal_as(&self, handle: &Handle, tag: u8, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let aad = aad(handle, tag);
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: &aad })
            .map_err(|_| StoreError::Encrypt { len: plain.len() })?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Inverse of [`Self::seal`] (values sealed before packing existed open
    /// too); `user` only names the owner in the error.
    pub(super) fn open(&self, handle: &Handle, kind: Kind, sealed: &[u8], user: UserId) -> Result<Vec<u8>, StoreError> {
        let Some((nonce, ciphertext)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(StoreError::Decrypt { user });
        };
        let cipher = self.cipher();
        let open_as = |tag: u8| {
            let aad = aad(handle, tag);
            cipher.decrypt(&XNonce::from(*nonce), Payload { msg: ciphertext, aad: &aad }).ok()
        };
        // How it was packed, the associated data says: only one opens.
        for packing in Packing::READ_ORDER {
            if let Some(packed) = open_as(kind as u8 | packing.bits()) {
                return pack::unpack(packing, &packed).ok_or_else(|| StoreError::Corrupt {
                    tree: kind.tree(),
                    detail: format!("a value of user {user} does not unpack"),
                });
            }
        }
        Err(StoreError::Decrypt { user })
    }

    /// Opens a value sealed by the schema-1 layout (associated data: the
    /// user's number, from before ids had front ends).
    pub(super) fn open_v1(&self, raw: i64, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let user = UserId::from_unnamed(raw);
        let Some((nonce, ciphertext)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(StoreError::Decrypt { user });
        };
        let aad = raw.to_be_bytes();
        self.cipher()
            .decrypt(&XNonce::from(*nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| StoreError::Decrypt { user })
    }
}

fn aad(handle: &Handle, tag: u8) -> [u8; HANDLE_LEN + 1] {
    let mut aad = [0u8; HANDLE_LEN + 1];
    aad[..HANDLE_LEN].copy_from_slice(handle);
    aad[HANDLE_LEN] = tag;
    aad
}

fn key_file(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::KeyFile { action, path, source }
}

/// Creates `dir` and its missing parents with mode 0700, and tightens an
/// existing one that is open to others (with a warning).
pub(super) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::CreateDir { dir: dir.to_path_buf(), source })?;
    let meta = fs::metadata(dir).map_err(|source| StoreError::CreateDir { dir: dir.to_path_buf(), source })?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), "the data directory was open to other users; made it private (0700)");
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|source| StoreError::CreateDir { dir: dir.to_path_buf(), source })?;
    }
    Ok(())
}

/// Makes every file under `dir` 0600 and every directory 0700; returns how
/// many needed it.
pub(super) fn tighten_tree(dir: &Path) -> io::Result<usize> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let want = if meta.is_dir() { 0o700 } else { 0o600 };
            if meta.is_dir() {
                pending.push(entry.path());
            }
            if meta.permissions().mode() & 0o777 != want && (meta.is_dir() || meta.is_file()) {
                fs::set_permissions(entry.path(), fs::Permissions::from_mode(want))?;
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// fsyncs a directory, so that a created or removed entry survives a crash.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(key_file("create", path))?;
    file.write_all(bytes).map_err(key_file("write", path))?;
    file.sync_all().map_err(key_file("sync", path))
}

/// Reads a schema-1 key file (`keys/<id>.key`, 32 bytes).
pub(super) fn read_v1_key(path: &Path) -> Result<UserKey, StoreError> {
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    File::open(path)
        .and_then(|f| f.take(KEY_LEN as u64 + 1).read_to_end(&mut bytes))
        .map_err(key_file("read", path))?;
    let key = <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| StoreError::KeyFileLength { path: path.to_path_buf(), len: bytes.len() as u64 })?;
    Ok(UserKey(key))
}

/// Overwrites a file with zeros, syncs and removes it (schema-1 key files after migration).
pub(super) fn shred_file(path: &Path) -> Result<(), StoreError> {
    let len = fs::metadata(path).map_err(key_file("inspect", path))?.len();
    let mut file = OpenOptions::new().write(true).open(path).map_err(key_file("open", path))?;
    file.write_all(&vec![0u8; usize::try_from(len).unwrap_or(KEY_LEN)]).map_err(key_file("overwrite", path))?;
    file.sync_all().map_err(key_file("sync", path))?;
    fs::remove_file(path).map_err(key_file("remove", path))
}

/// A fresh random handle.
pub(super) fn random_handle() -> Result<Handle, StoreError> {
    let mut handle = [0u8; HANDLE_LEN];
    fill_random(&mut handle)?;
    Ok(handle)
}

fn fill_random(bytes: &mut [u8]) -> Result<(), StoreError> {
    getrandom::getrandom(bytes).map_err(|cause| StoreError::Random { cause })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(n: i64) -> UserId {
        UserId::telegram(n)
    }

    #[test]
    fn slots_round_trip_through_their_file_and_clear_to_zeros() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("keys");
        let slots = Slots::open(&dir, true).expect("open");
        let b = slots.bucket_of(u(-42));
        let (at, slot) = slots.lock(b).expect("lock").create(u(-42), 0).expect("create");
        let mut changed = slot.clone();
        changed.next_due = 1_800_000_000;
        changed.flags = flag::LIVE;
        slots.lock(b).expect("lock").put(at, Some(&changed)).expect("put");
        drop(slots);

        let slots = Slots::open(&dir, false).expect("reopen");
        assert_eq!(slots.bucket_of(u(-42)), b, "the bucket secret is kept");
        let guard = slots.lock(b).expect("lock");
        let (found_at, found) = guard.find(u(-42)).expect("found");
        assert_eq!(found_at, at);
        assert_eq!((found.user, found.handle, found.next_due, found.flags), (u(-42), slot.handle, 1_800_000_000, 1));
        drop(guard);
        slots.lock(b).expect("lock").put(at, None).expect("clear");
        let bytes = fs::read(dir.join(format!("{b:04}.slots"))).expect("read");
        assert!(bytes.iter().all(|x| *x == 0), "a cleared slot is zeros on disk");
        assert!(slots.is_empty().expect("empty"));
    }

    #[test]
    fn next_due_encodes_never_and_past_times() {
        for at in [NEVER, 0, -5, 1_800_000_000, 4_000_000_000] {
            assert_eq!(decode_due(&encode_due(at)), at);
        }
    }

    #[test]
    fn sealed_values_are_bound_to_handle_and_kind() {
        let key = UserKey([7; KEY_LEN]);
        let h = [1u8; HANDLE_LEN];
        let sealed = key.seal(&h, Kind::Record, b"hello").expect("seal");
        assert_eq!(key.open(&h, Kind::Record, &sealed, u(1)).expect("open"), b"hello");
        assert!(key.open(&h, Kind::Note, &sealed, u(1)).is_err());
        assert!(key.open(&[2u8; HANDLE_LEN], Kind::Record, &sealed, u(1)).is_err());
        assert_ne!(sealed, key.seal(&h, Kind::Record, b"hello").expect("seal"), "fresh nonce");
    }

    #[test]
    fn long_repetitive_values_are_sealed_compressed_and_open_as_written() {
        let key = UserKey([7; KEY_LEN]);
        let h = [1u8; HANDLE_LEN];
        let record = r#"{"answers":{"amount":"¥3,500.00"},"history":["#.repeat(40).into_bytes();
        let sealed = key.seal(&h, Kind::Record, &record).expect("seal");
        assert!(sealed.len() < record.len() / 4, "{} bytes sealed from {}", sealed.len(), record.len());
        assert_eq!(key.open(&h, Kind::Record, &sealed, u(1)).expect("open"), record);
        assert!(key.open(&h, Kind::Note, &sealed, u(1)).is_err(), "still bound to its kind");
        assert!(key.open(&[2u8; HANDLE_LEN], Kind::Record, &sealed, u(1)).is_err(), "and to its handle");
        // Notes and outbox items are packed too; a short value is sealed as it is.
        for kind in [Kind::Note, Kind::Outbox] {
            let sealed = key.seal(&h, kind, &record).expect("seal");
            assert!(sealed.len() < record.len() / 4, "{kind:?}: {} bytes sealed from {}", sealed.len(), record.len());
            assert_eq!(key.open(&h, kind, &sealed, u(1)).expect("open"), record);
            let sealed = key.seal(&h, kind, b"short").expect("seal");
            assert_eq!(sealed.len(), NONCE_LEN + 5 + 16);
            assert_eq!(key.open(&h, kind, &sealed, u(1)).expect("open"), b"short");
        }
        // A value sealed before compression existed (schema 2) still opens.
        let old = key.seal_as(&h, Kind::Record as u8, &record).expect("seal");
        assert_eq!(key.open(&h, Kind::Record, &old, u(1)).expect("open"), record);
        // So does one compressed with DEFLATE (schema 3).
        let deflated = miniz_oxide::deflate::compress_to_vec(&record, 6);
        let old = key.seal_as(&h, Kind::Record as u8 | Packing::Deflate.bits(), &deflated).expect("seal");
        assert_eq!(key.open(&h, Kind::Record, &old, u(1)).expect("open"), record);
        // A packed value that does not inflate is damage, named as such.
        let bad = key.seal_as(&h, Kind::Record as u8 | Packing::Deflate.bits(), b"\xff\xff not deflate").expect("seal");
        assert!(matches!(key.open(&h, Kind::Record, &bad, u(1)), Err(StoreError::Corrupt { tree: "records", .. })));
    }
}
