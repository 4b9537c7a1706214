//! CPU affinity for the benchmark: the server on one core, the load generator on another.
//! The only `unsafe` in plio (a libc call).

#![expect(unsafe_code, reason = "sched_setaffinity has no safe wrapper in libc")]

/// Pins the calling thread to one CPU (Linux; elsewhere a no-op). Best effort.
pub fn pin_current_thread(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `set` is a plain bit set on the stack, sized by `size_of`, passed by pointer
    // to sched_setaffinity for the calling thread (pid 0) only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// CPUs available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(super) fn server_cpu() -> Option<usize> {
    (cores() >= 2).then_some(0)
}

pub(super) fn loadgen_cpu() -> Option<usize> {
    (cores() >= 2).then(|| cores() - 1)
}

pub(super) fn workers() -> usize {
    cores().saturating_sub(1).max(1)
}

/// Makes a child process start pinned to one CPU (Linux; elsewhere a no-op): every thread it
/// starts inherits the mask.
pub(super) fn pin_child(command: &mut std::process::Command, cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the hook runs in the child between fork and exec and only calls
        // sched_setaffinity (async-signal-safe) on a bit set on its own stack.
        unsafe {
            command.pre_exec(move || {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (command, cpu);
}
