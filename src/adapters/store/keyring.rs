//! Per-user encryption keys: key files, the in-memory key cache, sealing and
//! opening records, and shredding a key on erase.
//!
//! Why per-user keys: sled keeps old log segments, so a removed record's
//! bytes stay on disk for a while. Every record is encrypted with its user's
//! key, and erasing the user destroys the key file; the stale ciphertext left
//! in sled's log is then noise (crypto-shredding).
//!
//! The cache is split into shards, each behind its own mutex. The shard lock
//! is also the per-user lock of the store: it is held while a record is
//! written or erased, so an erase and a save of the same user cannot
//! interleave, while users in other shards proceed in parallel.
//!
//! This module owns the `keys/` directory and nothing in sled.

use std::{
    collections::HashMap,
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
};

use chacha20poly1305::{
    KeyInit, XChaCha20Poly1305, XNonce,
    aead::{Aead, Payload},
};

use super::{StoreError, UserId};

/// Key length of XChaCha20Poly1305.
const KEY_LEN: usize = 32;
/// Nonce length of XChaCha20Poly1305; random nonces of this size never
/// realistically collide.
const NONCE_LEN: usize = 24;
/// Number of shards; a power of two well above the core count.
const SHARDS: usize = 64;

/// One user's key. Deliberately not `Debug`, so it cannot end up in a log.
#[derive(Clone)]
pub(super) struct UserKey([u8; KEY_LEN]);

/// The `keys/` directory plus the sharded cache of keys already read.
pub(super) struct Keyring {
    dir: PathBuf,
    shards: Box<[Mutex<HashMap<UserId, UserKey>>]>,
}

/// A locked shard: the per-user lock, plus access to that shard's cache.
pub(super) struct KeyShard<'a> {
    dir: &'a Path,
    cache: MutexGuard<'a, HashMap<UserId, UserKey>>,
}

impl Keyring {
    /// Opens (creating with mode 0700 if needed) the key directory `dir`.
    pub(super) fn open(dir: PathBuf) -> Result<Self, StoreError> {
        create_private_dir(&dir)?;
        restrict_dir(&dir).map_err(|source| StoreError::KeyFile {
            action: "restrict permissions of",
            path: dir.clone(),
            source,
        })?;
        if let Some(parent) = dir.parent() {
            // The new `keys` entry must survive a crash before any key does.
            sync_dir(parent).map_err(|source| StoreError::KeyFile {
                action: "sync the parent of",
                path: dir.clone(),
                source,
            })?;
        }
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        Ok(Keyring { dir, shards })
    }

    /// Locks the shard of `user`. Hold it for the whole write of that user.
    pub(super) fn lock(&self, user: UserId) -> KeyShard<'_> {
        let index = usize::try_from(user.rem_euclid(SHARDS as i64)).unwrap_or(0);
        let cache = self.shards[index].lock().unwrap_or_else(PoisonError::into_inner);
        KeyShard { dir: &self.dir, cache }
    }

    /// Users that have a key file, for the open-time sweep of orphans.
    /// Files that are not `<i64>.key` are ignored.
    pub(super) fn users_with_key_file(&self) -> Result<Vec<UserId>, StoreError> {
        let read_error = |source| StoreError::KeyFile { action: "list", path: self.dir.clone(), source };
        let mut users = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(read_error)? {
            let entry = entry.map_err(read_error)?;
            let name = entry.file_name();
            let Some(user) = name.to_str().and_then(|n| n.strip_suffix(".key")).and_then(|n| n.parse::<UserId>().ok())
            else {
                continue;
            };
            users.push(user);
        }
        Ok(users)
    }
}

impl KeyShard<'_> {
    /// The key of `user` from the cache or its file; `None` if it has no file.
    pub(super) fn existing(&mut self, user: UserId) -> Result<Option<UserKey>, StoreError> {
        if let Some(key) = self.cache.get(&user) {
            return Ok(Some(key.clone()));
        }
        let Some(key) = read_key(&key_path(self.dir, user))? else {
            return Ok(None);
        };
        self.cache.insert(user, key.clone());
        Ok(Some(key))
    }

    /// The key of `user`, creating and syncing a new key file if it has none.
    pub(super) fn get_or_create(&mut self, user: UserId) -> Result<UserKey, StoreError> {
        if let Some(key) = self.existing(user)? {
            return Ok(key);
        }
        let key = UserKey::random()?;
        write_key(self.dir, user, &key)?;
        self.cache.insert(user, key.clone());
        Ok(key)
    }

    /// Forgets the cached key of `user` (the file stays until [`Self::shred`]).
    pub(super) fn forget(&mut self, user: UserId) {
        self.cache.remove(&user);
    }

    /// Overwrites the key file of `user` with zeros, syncs, removes it and
    /// syncs the directory. A missing file is fine: erase is idempotent.
    pub(super) fn shred(&mut self, user: UserId) -> Result<(), StoreError> {
        self.cache.remove(&user);
        let path = key_path(self.dir, user);
        let error = |action| {
            let path = path.clone();
            move |source| StoreError::KeyFile { action, path, source }
        };
        let mut file = match OpenOptions::new().write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(error("open for shredding")(e)),
        };
        let len = file.metadata().map_err(error("inspect"))?.len();
        let zeros = vec![0u8; usize::try_from(len).unwrap_or(KEY_LEN).max(KEY_LEN)];
        file.write_all(&zeros).map_err(error("overwrite"))?;
        file.sync_all().map_err(error("sync"))?;
        drop(file);
        fs::remove_file(&path).map_err(error("remove"))?;
        sync_dir(self.dir).map_err(error("sync the directory of"))?;
        Ok(())
    }
}

impl UserKey {
    fn random() -> Result<Self, StoreError> {
        let mut bytes = [0u8; KEY_LEN];
        fill_random(&mut bytes)?;
        Ok(UserKey(bytes))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// `nonce || ciphertext` of `record`, bound to `user` as associated data
    /// so that a record copied under another user's id fails to open.
    pub(super) fn seal(&self, user: UserId, record: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        let aad = user.to_be_bytes();
        let ciphertext = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: record, aad: &aad })
            .map_err(|_| StoreError::Encrypt { user, len: record.len() })?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Inverse of [`Self::seal`].
    pub(super) fn open(&self, user: UserId, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        let Some((nonce, ciphertext)) = sealed.split_first_chunk::<NONCE_LEN>() else {
            return Err(StoreError::Decrypt { user });
        };
        let aad = user.to_be_bytes();
        self.cipher()
            .decrypt(&XNonce::from(*nonce), Payload { msg: ciphertext, aad: &aad })
            .map_err(|_| StoreError::Decrypt { user })
    }
}

/// `dir/<user>.key`.
pub(super) fn key_path(dir: &Path, user: UserId) -> PathBuf {
    dir.join(format!("{user}.key"))
}

/// Creates `dir` and its missing parents with mode 0700.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StoreError::CreateDir { dir: dir.to_path_buf(), source })
}

/// Makes `dir` 0700 even if it existed before with looser permissions.
fn restrict_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// fsyncs a directory, so that a created or removed entry survives a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn read_key(path: &Path) -> Result<Option<UserKey>, StoreError> {
    let error = |source| StoreError::KeyFile { action: "read", path: path.to_path_buf(), source };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(e)),
    };
    // Read one byte more than a key, to tell a long file from a key.
    let mut bytes = Vec::with_capacity(KEY_LEN + 1);
    (&mut file).take(KEY_LEN as u64 + 1).read_to_end(&mut bytes).map_err(error)?;
    let Ok(key) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) else {
        let len = file.metadata().map_err(error)?.len();
        return Err(StoreError::KeyFileLength { path: path.to_path_buf(), len });
    };
    Ok(Some(UserKey(key)))
}

fn write_key(dir: &Path, user: UserId, key: &UserKey) -> Result<(), StoreError> {
    let path = key_path(dir, user);
    let error = |action| {
        let path = path.clone();
        move |source| StoreError::KeyFile { action, path, source }
    };
    let mut options = OpenOptions::new();
    // create_new: the shard lock guarantees no other writer of this user, so
    // an existing file here means damage, and must not be overwritten.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(error("create"))?;
    file.write_all(&key.0).map_err(error("write"))?;
    file.sync_all().map_err(error("sync"))?;
    drop(file);
    sync_dir(dir).map_err(error("sync the directory of"))
}

fn fill_random(bytes: &mut [u8]) -> Result<(), StoreError> {
    getrandom::getrandom(bytes).map_err(|cause| StoreError::Random { cause })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_binds_the_user() {
        let key = UserKey::random().expect("random");
        let sealed = key.seal(42, b"hello").expect("seal");
        assert_eq!(sealed.len(), NONCE_LEN + 5 + 16);
        assert_eq!(key.open(42, &sealed).expect("open"), b"hello");
        assert!(matches!(key.open(43, &sealed), Err(StoreError::Decrypt { user: 43 })));
        let other = UserKey::random().expect("random");
        assert!(other.open(42, &sealed).is_err());
        assert!(key.open(42, &sealed[..10]).is_err());
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = UserKey::random().expect("random");
        let a = key.seal(1, b"same").expect("seal");
        let b = key.seal(1, b"same").expect("seal");
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[cfg(unix)]
    #[test]
    fn key_files_are_private_and_shredding_removes_them() {
        use std::os::unix::fs::PermissionsExt;

        let tmp = tempfile::tempdir().expect("tempdir");
        let keyring = Keyring::open(tmp.path().join("keys")).expect("open");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&tmp.path().join("keys")), 0o700);

        let mut shard = keyring.lock(-1005);
        let key = shard.get_or_create(-1005).expect("create");
        let path = key_path(&keyring.dir, -1005);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read(&path).expect("read"), key.0);
        drop(shard);
        assert_eq!(keyring.users_with_key_file().expect("list"), vec![-1005]);

        let mut shard = keyring.lock(-1005);
        shard.shred(-1005).expect("shred");
        assert!(!path.exists());
        shard.shred(-1005).expect("shredding twice is fine");
        assert!(shard.existing(-1005).expect("read").is_none());
    }

    #[test]
    fn a_truncated_key_file_is_an_error() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let keyring = Keyring::open(tmp.path().join("keys")).expect("open");
        let path = key_path(&keyring.dir, 9);
        fs::write(&path, [1u8; 5]).expect("write");
        let err = keyring.lock(9).existing(9).err().expect("bad length");
        assert!(matches!(err, StoreError::KeyFileLength { len: 5, .. }), "{err:?}");
        assert!(err.to_string().contains("9.key"), "{err}");
    }
}
