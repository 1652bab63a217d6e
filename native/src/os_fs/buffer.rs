//! The buffer a registry is read into. The file is copied, never mapped: a mapping is memory
//! another program can change (an editor saving in place) or cut short (SIGBUS when it truncates
//! the file), and the registry is written back from what was read. Copying 13.5 MB into fresh
//! 4 KiB pages costs thousands of page faults in a new process; on Linux a large buffer is asked
//! to be backed by huge pages, which takes a handful.

/// Buffers of at least this many bytes are advised to use huge pages: below two of them, no
/// aligned huge page fits.
#[cfg(any(target_os = "linux", target_os = "android"))]
const HUGE_FROM: usize = 4 << 20;

/// The size of a huge page on the platforms that advise them.
#[cfg(any(target_os = "linux", target_os = "android"))]
const HUGE_PAGE: usize = 2 << 20;

/// An empty buffer with room for `len` bytes and one more (which tells a file that grew since
/// its size was taken).
pub fn for_file(len: usize) -> Vec<u8> {
    #[allow(unused_mut)]
    let mut buffer = Vec::with_capacity(len.saturating_add(1));
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if len >= HUGE_FROM {
        advise_huge_pages(&mut buffer);
    }
    buffer
}

/// Asks the kernel to back the huge-page-aligned middle of `buffer`'s allocation with huge pages
/// (Linux's `MADV_HUGEPAGE`; transparent huge pages are often enabled only where advised). A
/// refusal costs nothing but speed, so it is ignored.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn advise_huge_pages(buffer: &mut Vec<u8>) {
    let start = buffer.as_mut_ptr() as usize;
    let end = start + buffer.capacity();
    let (from, to) = (start.next_multiple_of(HUGE_PAGE), end / HUGE_PAGE * HUGE_PAGE);
    if to > from {
        // SAFETY: the range lies inside the buffer's own allocation, and MADV_HUGEPAGE changes
        // only how the kernel backs those pages, never what they hold.
        #[allow(unsafe_code)]
        let _ = unsafe { rustix::mm::madvise(from as *mut _, to - from, rustix::mm::Advice::LinuxHugepage) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_has_room_for_the_file_and_one_byte_more() {
        for len in [0, 10, 5 << 20] {
            let buffer = for_file(len);
            assert!(buffer.is_empty() && buffer.capacity() > len, "{len}: {}", buffer.capacity());
        }
    }
}
