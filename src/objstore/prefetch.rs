//! Fetching overlapped with hashing: a [`Prefetch`] streams bytes `[start, end)` of one object with a
//! single ranged GET on a fetch thread of its own, which hands the bytes over in chunks through a bounded
//! channel ([`DEPTH`] chunks of [`CHUNK`] bytes), so the thread that hashes never waits on the socket
//! while there are bytes in hand, and the socket is never idle while the hasher works. Memory stays
//! bounded whatever the object size (at most `DEPTH + 2` chunks per stream); spent chunks go back to the
//! fetch thread to be filled again (no allocation, no page faults per chunk).
//!
//! The GET is the client's [`super::client::ObjectReader`]: `If-Match` the ETag that was listed (an object
//! replaced midway is an error, never half of one and half of another), resumed from where it broke on a
//! broken connection, counted in [`super::Stats`]. Dropping a `Prefetch` stops its thread at its next
//! chunk (the connection is closed, not reused: its body was not read to the end).

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TryRecvError};

use super::client::{Client, ObjectReader};

/// Bytes per chunk handed from the fetch thread to the reader.
pub const CHUNK: usize = 1 << 20;
/// Chunks in flight between the fetch thread and the reader.
pub const DEPTH: usize = 4;

/// A reader of bytes `[start, end)` of one object, fetched ahead on a thread of its own.
pub struct Prefetch {
    pos: u64,
    end: u64,
    inner: Inner,
}

enum Inner {
    Thread {
        rx: Receiver<io::Result<Vec<u8>>>,
        back: Sender<Vec<u8>>,
        cur: Vec<u8>,
        off: usize,
    },
    /// No thread could be started (a process limit): read in this thread instead.
    Direct(Box<ObjectReader>),
    /// The fetch failed; the error was returned once.
    Failed,
}

impl Prefetch {
    /// Start fetching `[start, end)` of `key` (`etag`: the ETag listed, or empty for none).
    pub fn start(client: &Client, key: &str, start: u64, end: u64, etag: &str) -> Prefetch {
        let end = end.max(start);
        let reader = client.reader(key, start, end, etag);
        // Less than a chunk: nothing to overlap, read in the calling thread.
        if end - start <= CHUNK as u64 {
            return Prefetch {
                pos: start,
                end,
                inner: Inner::Direct(Box::new(reader)),
            };
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(DEPTH);
        let (back, spent) = std::sync::mpsc::channel();
        // The reader is moved into the thread; if the thread cannot start, a fresh one reads directly.
        let spawned = std::thread::Builder::new()
            .name("dangan-s3-fetch".into())
            .spawn(move || fetch(reader, end - start, &tx, &spent));
        let inner = match spawned {
            Ok(_) => Inner::Thread {
                rx,
                back,
                cur: Vec::new(),
                off: 0,
            },
            Err(_) => Inner::Direct(Box::new(client.reader(key, start, end, etag))),
        };
        Prefetch {
            pos: start,
            end,
            inner,
        }
    }

    /// Where the next byte read comes from.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Where the stream ends.
    pub fn end(&self) -> u64 {
        self.end
    }
}

/// The fetch thread: fill chunks (recycled ones first) and send them until the range is done, the
/// reader is gone, or the fetch fails (the error is sent).
fn fetch(
    mut r: ObjectReader,
    mut left: u64,
    tx: &SyncSender<io::Result<Vec<u8>>>,
    spent: &Receiver<Vec<u8>>,
) {
    while left > 0 {
        let want = (CHUNK as u64).min(left) as usize;
        let mut buf = match spent.try_recv() {
            Ok(mut b) => {
                b.resize(want, 0);
                b
            }
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => vec![0u8; want],
        };
        let mut got = 0;
        while got < want {
            match r.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if got == 0 {
            let _ = tx.send(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the object ended {left} bytes before the range did"),
            )));
            return;
        }
        buf.truncate(got);
        left -= got as u64;
        if tx.send(Ok(buf)).is_err() {
            return; // the reader is gone: stop (the connection is dropped with the reader)
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.end {
            return Ok(0);
        }
        let n = match &mut self.inner {
            Inner::Direct(r) => r.read(buf)?,
            Inner::Failed => {
                return Err(io::Error::other("the fetch of this range failed before"));
            }
            Inner::Thread { rx, back, cur, off } => {
                if *off >= cur.len() {
                    match rx.recv() {
                        Ok(Ok(next)) => {
                            let spent = std::mem::replace(cur, next);
                            if spent.capacity() > 0 {
                                let _ = back.send(spent);
                            }
                            *off = 0;
                        }
                        Ok(Err(e)) => {
                            self.inner = Inner::Failed;
                            return Err(e);
                        }
                        Err(_) => {
                            self.inner = Inner::Failed;
                            return Err(io::Error::other(format!(
                                "the fetch thread stopped {} bytes before the end of the range",
                                self.end - self.pos
                            )));
                        }
                    }
                }
                let n = buf.len().min(cur.len() - *off);
                buf[..n].copy_from_slice(&cur[*off..*off + n]);
                *off += n;
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}
