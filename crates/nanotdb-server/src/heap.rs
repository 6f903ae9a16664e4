//! Handing memory that a large request freed back to the OS.
//!
//! A large PromQL query or export allocates tens of MiB on threads of its
//! own and frees them when it ends. Allocators keep such memory for reuse:
//! glibc in per-thread arenas, mimalloc (the `nanotdb` binary's allocator)
//! in pages it purges only when it allocates again. Without a release the
//! server's RSS after a few large requests is the sum of their peaks rather
//! than what it holds (BENCHMARKS.md, "PromQL" and "Long ranges"). Small
//! requests skip it: the next one would fault the returned pages back in.

/// Returns the memory both allocators hold free: mimalloc's (the
/// binary's), and glibc's for a program that embeds this crate with the
/// system allocator. Each call is cheap when its allocator holds little.
#[allow(unsafe_code)] // the allocators' own release calls
pub(crate) fn release() {
    // SAFETY: mi_collect takes no pointers; it frees mimalloc's empty
    // pages (this thread's, abandoned threads') and purges its arenas.
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's
    // own free lists under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
