//! Snapshots: a machine saved to bytes and rebuilt from them (pickling in Python), and the
//! deep copy (`Machine: Clone`).
//!
//! The format is serde + postcard rather than a hand-written writer, for one reason above the
//! others: every struct of the machine's state derives `Serialize`, so a field another change
//! adds to any of them is saved automatically, or the build fails until its type can be; a
//! hand-written format would silently drop it. postcard (maintained, no_std-grade, small) is
//! compact (varints) and never trusts a length it reads: a sequence's declared length only
//! caps what serde preallocates, so a corrupt length cannot make it allocate terabytes, and
//! running past the end is an error, not a panic. The bulk of a big machine is a handful of
//! dense arrays (frame metadata, page-table leaves, swap maps): those are written as raw
//! little-endian bytes (the `raw` helpers below), a memcpy each way instead of a varint per
//! element.
//!
//! Layout of a snapshot:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `NUMASIM\0` |
//! | 4 | format version (little endian), [`FORMAT_VERSION`] |
//! | 8 | payload length |
//! | 8 | payload checksum (FNV-1a over 64-bit words, see [`checksum`]) |
//! | 2 + n | length and text of the numasim version that wrote it |
//! | payload | the postcard encoding of the [`Machine`] |
//!
//! Loading checks each of these in turn and names the first that is wrong (not a snapshot,
//! another format version, truncated, corrupt), then decodes the payload and runs
//! [`Machine::check`] on the result, so a blob that decodes into an inconsistent machine is
//! refused rather than simulated. Bump [`FORMAT_VERSION`] whenever a saved struct changes
//! shape; a blob written by another numasim version is refused by name as well, since the
//! shape of its structs may differ without a format bump.

use serde::de::{self, Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{FilePages, Machine, FILE_CHUNK};
use crate::error::{Error, Result};

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"NUMASIM\0";

/// The layout version of the payload; see the module docs.
pub const FORMAT_VERSION: u32 = 1;

/// The numasim version written into every snapshot (the workspace version).
pub const WRITER: &str = env!("CARGO_PKG_VERSION");

/// FNV-1a over the payload taken 8 bytes at a time (the tail zero-padded), with the length
/// mixed in: detects the flipped bits and cut blobs a checksum must, at several GB/s.
pub fn checksum(bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes(c.try_into().expect("chunks_exact(8)"));
        h = (h ^ w).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(PRIME);
        h ^= h >> 29;
    }
    h
}

impl Machine {
    /// The machine as a snapshot (see the module docs for the layout).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let writer = WRITER.as_bytes();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Length and checksum are filled in once the payload is written after the header.
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&u16::try_from(writer.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(writer);
        let head = out.len();
        let mut out = postcard::to_extend(self, out).map_err(|e| {
            Error::value(format!("snapshot: the machine could not be encoded: {e}"))
        })?;
        let (len, sum) = ((out.len() - head) as u64, checksum(&out[head..]));
        out[12..20].copy_from_slice(&len.to_le_bytes());
        out[20..28].copy_from_slice(&sum.to_le_bytes());
        Ok(out)
    }

    /// Rebuilds a machine from [`Machine::snapshot`]'s bytes. Every defect of the blob is a
    /// `ValueError`-class error naming what is wrong; the machine returned has passed
    /// [`Machine::check`].
    pub fn from_snapshot(blob: &[u8]) -> Result<Machine> {
        let mut r = Reader { blob, at: 0 };
        let magic = r.take(8, "the magic number")?;
        if magic != MAGIC {
            return Err(Error::value(
                "snapshot: not a numasim snapshot (the first 8 bytes are not \"NUMASIM\\0\")",
            ));
        }
        let version = u32::from_le_bytes(r.array("the format version")?);
        if version != FORMAT_VERSION {
            return Err(Error::value(format!(
                "snapshot: format version {version}, but this numasim reads version \
                 {FORMAT_VERSION}"
            )));
        }
        let len = u64::from_le_bytes(r.array("the payload length")?);
        let sum = u64::from_le_bytes(r.array("the checksum")?);
        let wlen = u16::from_le_bytes(r.array("the writer's version")?);
        let writer = r.take(usize::from(wlen), "the writer's version")?;
        if writer != WRITER.as_bytes() {
            return Err(Error::value(format!(
                "snapshot: written by numasim {}, but this is numasim {WRITER} (a snapshot is \
                 read by the version that wrote it)",
                String::from_utf8_lossy(writer)
            )));
        }
        let have = (blob.len() - r.at) as u64;
        if have < len {
            return Err(Error::value(format!(
                "snapshot: truncated: the header announces a payload of {len} bytes but only \
                 {have} follow"
            )));
        }
        if have > len {
            return Err(Error::value(format!(
                "snapshot: {} unexpected bytes after the {len}-byte payload",
                have - len
            )));
        }
        let payload = &blob[r.at..];
        if checksum(payload) != sum {
            return Err(Error::value("snapshot: corrupt: the payload does not match its checksum"));
        }
        let (m, rest): (Machine, &[u8]) = postcard::take_from_bytes(payload)
            .map_err(|e| Error::value(format!("snapshot: the payload does not decode: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::value(format!(
                "snapshot: {} bytes of the payload are left over after the machine",
                rest.len()
            )));
        }
        m.check().map_err(|e| {
            Error::value(format!("snapshot: the decoded machine is inconsistent: {e}"))
        })?;
        Ok(m)
    }
}

/// Reads the header fields in order, naming the one a short blob cuts.
struct Reader<'a> {
    blob: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.blob.len()).ok_or_else(|| {
            Error::value(format!(
                "snapshot: truncated: {} bytes end inside the header ({what})",
                self.blob.len()
            ))
        })?;
        let s = &self.blob[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N, what)?.try_into().expect("take returned N bytes"))
    }
}

/// The integer types the raw helpers write as little-endian bytes.
pub trait LeWord: Copy + Default {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
}

macro_rules! le_word {
    ($($t:ty),*) => {$(
        impl LeWord for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            #[inline]
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(b.try_into().expect("a word's bytes"))
            }
        }
    )*};
}
le_word!(u16, u32, u64);

fn to_bytes<T: LeWord>(words: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(words.len() * T::SIZE);
    for &w in words {
        w.put(&mut out);
    }
    out
}

fn from_bytes<T: LeWord, E: de::Error>(b: &[u8]) -> std::result::Result<Box<[T]>, E> {
    if b.len() % T::SIZE != 0 {
        return Err(E::custom(format!(
            "a dense array of {} bytes is not a whole number of {}-byte words",
            b.len(),
            T::SIZE
        )));
    }
    Ok(b.chunks_exact(T::SIZE).map(T::get).collect())
}

struct RawVisitor<T>(std::marker::PhantomData<T>);

impl<T: LeWord> Visitor<'_> for RawVisitor<T> {
    type Value = Box<[T]>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a dense array of {}-byte words", T::SIZE)
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> std::result::Result<Box<[T]>, E> {
        from_bytes(b)
    }
}

/// `#[serde(with = "raw")]` for a dense `Box<[u16 | u32 | u64]>`: one byte string.
pub mod raw {
    use super::{to_bytes, LeWord, RawVisitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: LeWord>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&to_bytes(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: LeWord>(d: D) -> Result<Box<[T]>, D::Error> {
        d.deserialize_bytes(RawVisitor(std::marker::PhantomData))
    }
}

/// One dense array as a value, for sequences of them.
struct RawBox<T>(Box<[T]>);

impl<T: LeWord> Serialize for RawBox<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        raw::serialize(&self.0, s)
    }
}

impl<'de, T: LeWord> Deserialize<'de> for RawBox<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        raw::deserialize(d).map(RawBox)
    }
}

/// `#[serde(with = "raw_vec")]` for a `Vec<Box<[u32 | u64]>>` (page-table levels).
pub mod raw_vec {
    use super::{LeWord, RawBox};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: LeWord>(v: &[Box<[T]>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(&super::RawRef(b))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: LeWord>(
        d: D,
    ) -> Result<Vec<Box<[T]>>, D::Error> {
        let v: Vec<RawBox<T>> = Vec::deserialize(d)?;
        Ok(v.into_iter().map(|b| b.0).collect())
    }
}

/// A borrowed dense array, written like [`RawBox`].
struct RawRef<'a, T>(&'a [T]);

impl<T: LeWord> Serialize for RawRef<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        raw::serialize(self.0, s)
    }
}

/// `#[serde(with = "sorted_map")]` for a hash map of pfns: written in key order, so that two
/// machines in the same state give the same bytes whatever their maps' insertion history.
pub mod sorted_map {
    use std::collections::HashMap;
    use std::hash::BuildHasher;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, V: Serialize + Copy, H: BuildHasher>(
        m: &HashMap<u64, V, H>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut v: Vec<(u64, V)> = m.iter().map(|(&k, &v)| (k, v)).collect();
        v.sort_unstable_by_key(|&(k, _)| k);
        s.collect_seq(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>, H>(
        d: D,
    ) -> Result<HashMap<u64, V, H>, D::Error>
    where
        H: BuildHasher + Default,
    {
        let v: Vec<(u64, V)> = Vec::deserialize(d)?;
        Ok(v.into_iter().collect())
    }
}

/// `#[serde(with = "static_str")]` for a `&'static str` naming a built-in (a cost profile, a
/// device): written as the text, read back as the one interned copy of that text (a string
/// is leaked once per distinct value, so loading snapshots again and again costs nothing).
/// `&'static str` under another name: serde's derive borrows a field spelled `&str` from the
/// input (which would tie a loaded machine to its blob); an alias is not spelled so.
pub type StaticStr = &'static str;

pub mod static_str {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use serde::{Deserialize, Deserializer, Serializer};

    static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

    pub fn serialize<S: Serializer>(v: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let text = String::deserialize(d)?;
        let mut set = INTERNED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&s) = set.get(text.as_str()) {
            return Ok(s);
        }
        let s: &'static str = Box::leak(text.into_boxed_str());
        set.insert(s);
        Ok(s)
    }
}

/// A file's sparse pages: the pieces in use as (piece index, its slots as raw words).
impl<T: LeWord + PartialEq> Serialize for FilePages<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.chunks.len()))?;
        for (k, c) in &self.chunks {
            seq.serialize_element(&(*k, RawRef(&c[..])))?;
        }
        seq.end()
    }
}

impl<'de, T: LeWord + PartialEq> Deserialize<'de> for FilePages<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: LeWord + PartialEq> Visitor<'de> for V<T> {
            type Value = FilePages<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("the pieces of a file's pages")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<FilePages<T>, A::Error> {
                let mut out = FilePages::<T>::default();
                while let Some((k, RawBox(b))) = seq.next_element::<(u64, RawBox<T>)>()? {
                    let piece: Box<[T; FILE_CHUNK]> = b.try_into().map_err(|b: Box<[T]>| {
                        A::Error::custom(format!(
                            "a piece of a file's pages has {} slots, not {FILE_CHUNK}",
                            b.len()
                        ))
                    })?;
                    if out.chunks.insert(k, piece).is_some() {
                        return Err(A::Error::custom(format!(
                            "piece {k} of a file's pages is listed twice"
                        )));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::machine::mm::{mapf, prot};
    use crate::machine::Pid;
    use crate::mempolicy::{MPOL_INTERLEAVE, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL};
    use crate::nodemask::NodeMask;
    use crate::testutil::{x86_machine, Rng};
    use crate::Semantics;

    fn mask(nodes: &[i64]) -> NodeMask {
        NodeMask::from_nodes(nodes.iter().copied(), 64).unwrap()
    }

    fn map(m: &mut Machine, pid: Pid, pages: u64, flags: u32, file: Option<u32>) -> u64 {
        m.mmap(pid, None, pages * 4096, prot::READ | prot::WRITE, flags, file, 0).unwrap()
    }

    /// A machine with something in every part of its state: forked COW pages, a shared file
    /// with dirty pages, shmem, an mlocked area, threads on two CPUs, swapped-out pages, a
    /// cpuset, task and VMA policies, pinned and pagevec'd pages, time passed.
    fn loaded(sem: Semantics) -> (Machine, Vec<(Pid, u64, u64)>) {
        let mut m = x86_machine(sem, &[2048, 2048, 2048], 4096);
        let p = m.spawn(1000, 1000, 0, "/", "parent").unwrap();
        let a = map(&mut m, p, 200, mapf::PRIVATE | mapf::ANONYMOUS, None);
        m.touch(p, a, 200 * 4096, true).unwrap();
        let f = m.create_file("/data", 64 * 4096).unwrap();
        let b = map(&mut m, p, 64, mapf::SHARED, Some(f));
        m.touch(p, b, 32 * 4096, true).unwrap();
        let s = map(&mut m, p, 16, mapf::SHARED | mapf::ANONYMOUS, None);
        m.touch(p, s, 16 * 4096, true).unwrap();
        let l = map(&mut m, p, 8, mapf::PRIVATE | mapf::ANONYMOUS, None);
        m.touch(p, l, 8 * 4096, true).unwrap();
        m.mlock(p, l, 8 * 4096, true).unwrap();
        let c = m.fork(p).unwrap();
        m.migrate_to_cpu(c, 2).unwrap();
        m.touch(c, a, 10 * 4096, true).unwrap();
        let t = m.clone_thread(p).unwrap();
        m.migrate_to_cpu(t, 4).unwrap();
        m.touch(t, a + 100 * 4096, 50 * 4096, true).unwrap();
        m.swap_out(p, a + 150 * 4096, 40 * 4096).unwrap();
        let cpus = NodeMask::from_nodes([2, 3, 4, 5], m.cpumask_bits()).unwrap();
        m.create_cpuset("/jobs", &mask(&[1, 2]), &cpus, sem != Semantics::V5).unwrap();
        m.set_mempolicy(c, MPOL_INTERLEAVE, 0, &mask(&[0, 1, 2])).unwrap();
        let i = map(&mut m, c, 30, mapf::PRIVATE | mapf::ANONYMOUS, None);
        m.touch(c, i, 30 * 4096, true).unwrap();
        m.advance(1_000_000);
        m.check().unwrap();
        let regions = vec![(p, a, 200), (p, b, 64), (p, s, 16), (p, l, 8), (c, a, 200), (c, i, 30)];
        (m, regions)
    }

    /// What a task can observe of the machine, and the machine's own counters.
    fn observe(m: &mut Machine, regions: &[(Pid, u64, u64)]) -> Vec<Vec<u64>> {
        let mut out = vec![vec![m.now_ns, m.vmstat.pgfault, m.vmstat.pswpout, m.vmstat.pswpin]];
        for &(pid, a, pages) in regions {
            out.push(m.peek(pid, a, pages * 4096).unwrap().into_iter().map(u64::from).collect());
            out.push(
                m.page_nodes(pid, a, pages * 4096)
                    .unwrap()
                    .into_iter()
                    .map(|n| u64::from(n.unsigned_abs()) | if n < 0 { 1 << 32 } else { 0 })
                    .collect(),
            );
        }
        out
    }

    /// The same random operations on each machine; returns what each observed.
    fn drive(m: &mut Machine, regions: &[(Pid, u64, u64)], seed: u64) -> Vec<String> {
        let mut rng = Rng(seed);
        let mut log = Vec::new();
        for _ in 0..40 {
            let &(pid, a, pages) =
                &regions[rng.below_u32(u32::try_from(regions.len()).unwrap()) as usize];
            let off = rng.below(pages);
            let len = 1 + rng.below(pages - off);
            let r = match rng.below(6) {
                0 => m.touch(pid, a + off * 4096, len * 4096, rng.below(2) == 0).map(|f| f.faults),
                1 => m.swap_out(pid, a + off * 4096, len * 4096),
                2 => {
                    let from = mask(&[i64::from(rng.below_u32(3))]);
                    let to = mask(&[i64::from(rng.below_u32(3))]);
                    m.do_migrate_pages(pid, &from, &to, MPOL_MF_MOVE_ALL).map(|r| r.moved)
                }
                3 => m.fork(pid).map(u64::from),
                4 => {
                    m.advance(rng.below(50_000_000));
                    Ok(m.now_ns)
                }
                _ => m
                    .do_migrate_pages(pid, &mask(&[0, 1, 2]), &mask(&[2]), MPOL_MF_MOVE)
                    .map(|r| r.moved),
            };
            log.push(format!("{r:?}"));
        }
        m.check().unwrap();
        log.push(format!("{:?}", observe(m, regions)));
        log
    }

    #[test]
    fn a_copy_and_a_restored_snapshot_behave_as_the_original() {
        for sem in Semantics::ALL {
            let (mut m, regions) = loaded(sem);
            let blob = m.snapshot().unwrap();
            let copy = m.clone();
            let mut back = Machine::from_snapshot(&blob).unwrap();
            copy.check().unwrap();
            assert_eq!(observe(&mut back, &regions), observe(&mut m, &regions), "{sem}");
            // The restored machine saves to the same bytes: nothing was lost or reordered.
            assert_eq!(back.snapshot().unwrap(), blob, "{sem}");
            for seed in [1, 2, 3] {
                let mut a = m.clone();
                let mut b = copy.clone();
                let mut c = Machine::from_snapshot(&blob).unwrap();
                let want = drive(&mut a, &regions, seed);
                assert_eq!(drive(&mut b, &regions, seed), want, "{sem} seed {seed}: copy");
                assert_eq!(drive(&mut c, &regions, seed), want, "{sem} seed {seed}: restored");
                assert_eq!(a.snapshot().unwrap(), c.snapshot().unwrap(), "{sem} seed {seed}");
            }
        }
    }

    #[test]
    fn a_copy_is_independent_of_the_original() {
        let (mut m, regions) = loaded(Semantics::Modern);
        let copy = m.clone();
        let before = copy.snapshot().unwrap();
        let (pid, a, pages) = regions[0];
        m.do_migrate_pages(pid, &mask(&[0, 1, 2]), &mask(&[2]), MPOL_MF_MOVE_ALL).unwrap();
        m.touch(pid, a, pages * 4096, true).unwrap();
        m.check().unwrap();
        copy.check().unwrap();
        assert_eq!(copy.snapshot().unwrap(), before);
        assert_ne!(m.snapshot().unwrap(), before);
    }

    fn refused(blob: &[u8], words: &str) {
        let e = Machine::from_snapshot(blob).err().expect("a bad blob is refused");
        assert_eq!(e.kind, ErrorKind::Value, "{e}");
        assert!(e.to_string().contains(words), "{e:?} should say {words:?}");
    }

    #[test]
    fn a_bad_blob_is_refused_by_name() {
        let (m, _) = loaded(Semantics::Linux2616);
        let blob = m.snapshot().unwrap();
        refused(b"", "truncated");
        refused(b"pickle!!and more bytes here", "not a numasim snapshot");
        // Cut anywhere, in the header or the payload: named, never a panic.
        for cut in [0, 7, 8, 11, 12, 19, 27, 30, blob.len() / 2, blob.len() - 1] {
            refused(&blob[..cut], "truncated");
        }
        let mut longer = blob.clone();
        longer.push(0);
        refused(&longer, "unexpected bytes");
        let mut v = blob.clone();
        v[8] = 99;
        refused(&v, "format version 99");
        let mut w = blob.clone();
        w[30] = b'9';
        refused(&w, "written by numasim");
        // A flipped bit anywhere in the payload.
        let mut rng = Rng(7);
        for _ in 0..50 {
            let mut c = blob.clone();
            let head = 30 + WRITER.len();
            let at = head + usize::try_from(rng.below((blob.len() - head) as u64)).unwrap();
            c[at] ^= 1 << rng.below(8);
            refused(&c, "corrupt");
        }
    }

    #[test]
    fn a_payload_that_decodes_to_garbage_is_refused() {
        // Right header and checksum around a payload that is not a machine: the checksum
        // cannot catch it, the decoder or check() must.
        let (m, _) = loaded(Semantics::V5);
        let blob = m.snapshot().unwrap();
        let head = 30 + WRITER.len();
        let mut rng = Rng(11);
        for len in [0usize, 1, 100, 10_000, blob.len() - head] {
            let payload: Vec<u8> = (0..len).map(|_| rng.next().to_le_bytes()[0]).collect();
            let mut b = blob[..head].to_vec();
            b[12..20].copy_from_slice(&(payload.len() as u64).to_le_bytes());
            b[20..28].copy_from_slice(&checksum(&payload).to_le_bytes());
            b.extend_from_slice(&payload);
            let e = Machine::from_snapshot(&b).err().expect("refused");
            assert_eq!(e.kind, ErrorKind::Value, "{e}");
        }
    }
}
