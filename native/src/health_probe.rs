//! The real [`HealthProbe`]: every port is asked in parallel on a bounded pool of small
//! threads, so 200 ports take about as long as the slowest one, not 200 timeouts.

use crate::platform::find_listeners;
use crate::protocols::{Timeouts, ask};
use atlas_ports_core::{HealthProbe, Listener, Observation, ProbeTarget};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Most probes in flight at once.
const MAX_WORKERS: usize = 256;

/// Probes with real sockets, and names listeners through [`crate::platform`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHealthProbe {
    pub timeouts: Timeouts,
}

/// The root of the worktree (main or linked, not a submodule's checkout) a folder is in.
pub(crate) fn worktree_root(cwd: &str) -> Option<String> {
    let w = crate::find_worktree(std::path::Path::new(cwd))?;
    (w.git_id.is_some() || w.root.join(".git").is_dir()).then(|| w.root.display().to_string())
}

impl HealthProbe for SystemHealthProbe {
    fn observe(&self, targets: &[ProbeTarget]) -> Vec<Observation> {
        let answers: Vec<Mutex<Option<(bool, String)>>> = targets.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = targets.len().min(MAX_WORKERS);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let work = || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(t) = targets.get(i) else { break };
                        *answers[i].lock().unwrap_or_else(|p| p.into_inner()) = ask(&t.kind, t.port, self.timeouts);
                    }
                };
                // Small stacks: a probe needs a few kilobytes, and there may be hundreds.
                let spawned = std::thread::Builder::new().stack_size(128 * 1024).spawn_scoped(scope, work);
                if spawned.is_err() {
                    break; // the threads already running take the rest
                }
            }
        });
        let answers: Vec<Option<(bool, String)>> =
            answers.into_iter().map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner())).collect();
        let listening: Vec<u16> =
            targets.iter().zip(&answers).filter(|(_, a)| a.is_some()).map(|(t, _)| t.port).collect();
        let mut owners = if listening.is_empty() { Default::default() } else { find_listeners(&listening) };
        for l in owners.values_mut() {
            l.worktree_root = l.cwd.as_deref().and_then(worktree_root);
        }
        targets
            .iter()
            .zip(answers)
            .map(|(t, answer)| match answer {
                None => Observation::not_listening(),
                Some((healthy, detail)) => Observation {
                    listener: Some(owners.get(&t.port).cloned().unwrap_or_else(Listener::default)),
                    healthy,
                    detail,
                },
            })
            .collect()
    }
}
