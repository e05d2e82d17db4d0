//! SHA-256 that can resume from a saved state: the stamp of a new build that begins with the
//! same bytes as the previous one (every delta whose first change is not at the very start)
//! is computed from the state saved at the last checkpoint before the first difference,
//! instead of from the first byte.
//!
//! The state is saved every [`CHECKPOINT_EVERY`] bytes, at block boundaries; the compression
//! function is the `sha2` crate's (hardware SHA instructions where the processor has them).

use serde::{Deserialize, Serialize};
use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

/// Distance between two saved states (a multiple of the 64-byte block).
pub const CHECKPOINT_EVERY: u64 = 1 << 20;

const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The SHA-256 state after the first `offset` bytes of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Bytes hashed (a multiple of 64).
    pub offset: u64,
    /// The eight state words.
    pub state: [u32; 8],
}

/// The checkpoints of one build's archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// The build (SHA-256 of the whole archive).
    pub stamp: super::Stamp,
    /// States every [`CHECKPOINT_EVERY`] bytes, in order.
    pub states: Vec<Checkpoint>,
}

impl Checkpoints {
    /// The last state at or before `offset`.
    pub(crate) fn at_or_before(&self, offset: u64) -> Option<Checkpoint> {
        self.states
            .iter()
            .take_while(|c| c.offset <= offset)
            .last()
            .copied()
    }
}

/// A SHA-256 computation that records a [`Checkpoint`] every [`CHECKPOINT_EVERY`] bytes.
#[derive(Clone)]
pub(crate) struct ResumableSha256 {
    state: [u32; 8],
    /// Bytes compressed so far (a multiple of 64).
    done: u64,
    pending: Vec<u8>,
    checkpoints: Vec<Checkpoint>,
}

impl ResumableSha256 {
    /// A computation from the first byte.
    pub(crate) fn new() -> Self {
        Self::resume(Checkpoint {
            offset: 0,
            state: H0,
        })
    }

    /// A computation resumed at `from` (its bytes after `from.offset` come next).
    pub(crate) fn resume(from: Checkpoint) -> Self {
        Self {
            state: from.state,
            done: from.offset,
            pending: Vec::with_capacity(64),
            checkpoints: Vec::new(),
        }
    }

    /// Hashes `data`.
    pub(crate) fn update(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() {
            let take = (64 - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() < 64 {
                return;
            }
            let block = GenericArray::clone_from_slice(&self.pending);
            self.pending.clear();
            self.compress(&[block]);
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            // One block at a time, read where it lies: no copy, and a checkpoint falls between
            // two calls.
            self.compress(std::slice::from_ref(GenericArray::from_slice(block)));
        }
        data = blocks.remainder();
        self.pending.extend_from_slice(data);
    }

    fn compress(&mut self, blocks: &[GenericArray<u8, U64>]) {
        sha2::compress256(&mut self.state, blocks);
        self.done += 64 * blocks.len() as u64;
        if self.done % CHECKPOINT_EVERY == 0 {
            self.checkpoints.push(Checkpoint {
                offset: self.done,
                state: self.state,
            });
        }
    }

    /// The digest, and the checkpoints recorded on the way.
    pub(crate) fn finish(mut self) -> ([u8; 32], Vec<Checkpoint>) {
        let bits = (self.done + self.pending.len() as u64) * 8;
        let mut tail = std::mem::take(&mut self.pending);
        tail.push(0x80);
        while tail.len() % 64 != 56 {
            tail.push(0);
        }
        tail.extend_from_slice(&bits.to_be_bytes());
        let blocks: Vec<_> = tail
            .chunks_exact(64)
            .map(GenericArray::clone_from_slice)
            .collect();
        sha2::compress256(&mut self.state, &blocks);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        (out, self.checkpoints)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn data(len: usize) -> Vec<u8> {
        (0..len as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect()
    }

    #[test]
    fn same_digest_as_sha2_whatever_the_pieces() {
        for len in [0, 1, 55, 56, 63, 64, 65, 1000, 3 << 20 | 17] {
            let bytes = data(len);
            let expected: [u8; 32] = Sha256::digest(&bytes).into();
            for piece in [1, 7, 64, 1000, 1 << 20] {
                let mut h = ResumableSha256::new();
                for chunk in bytes.chunks(piece) {
                    h.update(chunk);
                }
                assert_eq!(h.finish().0, expected, "len {len}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn resumes_from_a_checkpoint() {
        let bytes = data(5 << 20 | 333);
        let mut h = ResumableSha256::new();
        for chunk in bytes.chunks(100_003) {
            h.update(chunk);
        }
        let (digest, checkpoints) = h.finish();
        let offsets: Vec<u64> = checkpoints.iter().map(|c| c.offset).collect();
        assert_eq!(offsets, [1 << 20, 2 << 20, 3 << 20, 4 << 20, 5 << 20]);
        let from = checkpoints[2];
        let mut resumed = ResumableSha256::resume(from);
        resumed.update(&bytes[from.offset as usize..]);
        let (again, later) = resumed.finish();
        assert_eq!(again, digest);
        assert_eq!(later, checkpoints[3..]);
    }
}
