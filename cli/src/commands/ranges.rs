//! `atlas-ports ranges`: list the registry's service ranges, and add, change or remove one
//! without editing the JSON. Every change holds the lock across read–modify–write and replaces
//! the file atomically; a refused change leaves it byte for byte as it was.

use super::{Exit, Invocation};
use crate::args::{RangesAction, RangesArgs};
use crate::output;
use atlas_ports_core::{PortRange, Result, ranges};

pub fn run(inv: &Invocation<'_>, args: RangesArgs) -> Result<Exit> {
    let json = inv.json()?;
    let ports = inv.ports();
    let done = |what: String| -> Result<Exit> {
        super::note_created(inv, &ports);
        let list = ranges::list(&ports.load()?);
        if json {
            output::json(&list)?;
        } else {
            output::note(&format!("atlas-ports: {what}"));
        }
        Ok(Exit::Success)
    };
    match args.action.unwrap_or(RangesAction::List) {
        RangesAction::List => {
            let list = ranges::list(&ports.load()?);
            if json {
                output::json(&list)?
            } else {
                output::text(&ranges::text(&list))?
            }
            Ok(Exit::Success)
        }
        RangesAction::Add { service, range, description } => {
            let (start, end) = ranges::parse_range(&range)?;
            let new = PortRange::new(start, end, description.unwrap_or_default());
            ports.change_ranges(|reg| ranges::add(reg, &service, new.clone()).map(|()| ((), true)))?;
            done(format!("added the range {start}-{end} for '{service}'"))
        }
        RangesAction::Set { service, range, description } => {
            let (start, end) = ranges::parse_range(&range)?;
            let changed = ports.change_ranges(|reg| {
                let changed = ranges::set(reg, &service, start, end, description.as_deref())?;
                Ok((changed, changed))
            })?;
            done(if changed {
                format!("the range of '{service}' is now {start}-{end}")
            } else {
                format!("the range of '{service}' was already {start}-{end}")
            })
        }
        RangesAction::Remove { service } => {
            let removed = ports.change_ranges(|reg| ranges::remove(reg, &service).map(|r| (r, true)))?;
            done(format!("removed the range {}-{} of '{service}'", removed.start, removed.end))
        }
    }
}
