//! Handing memory that a large request freed back to the OS.
//!
//! A large PromQL query or export allocates tens of MiB on threads of its
//! own and frees them when it ends. glibc keeps freed memory in per-thread
//! arenas for reuse: without a release the server's RSS after a few large
//! requests is the sum of their peaks rather than what it holds
//! (BENCHMARKS.md, "PromQL" and "Long ranges"). Small requests skip it: the
//! next one would fault the returned pages back in.

/// Returns the memory glibc's malloc holds free to the OS.
#[allow(unsafe_code)] // malloc_trim, the only way to return arena memory
pub(crate) fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's
    // own free lists under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
