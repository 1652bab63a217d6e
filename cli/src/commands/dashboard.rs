//! `atlas-ports dashboard [--port PORT] [--open]`: the live page and named URLs
//! ([`crate::dashboard`]), served until Ctrl+C or `q`.

use super::{Exit, Invocation};
use crate::args::DashboardArgs;
use atlas_ports_core::Result;

pub fn run(inv: &Invocation<'_>, args: DashboardArgs) -> Result<Exit> {
    let json = inv.json()?;
    crate::dashboard::serve(inv, &args, json)?;
    Ok(Exit::Success)
}
