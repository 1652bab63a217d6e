//! The command line that runs this atlas-ports program again, for the processes it starts to
//! outlive it (the background proxy) and the service files it writes. The native program is
//! its own executable; the npm package's bin is Node running a script, and the addon running
//! inside Node is told that script: Node alone would not know what `dashboard` means.

use atlas_ports_core::{Error, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A program and the arguments that come before a subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfCommand {
    program: PathBuf,
    leading: Vec<OsString>,
}

impl SelfCommand {
    /// This process's own executable, with no leading arguments: the native program.
    pub fn current_exe() -> Result<SelfCommand> {
        let program = std::env::current_exe()
            .map_err(|source| Error::System { action: "find the atlas-ports executable", source })?;
        Ok(SelfCommand { program, leading: Vec::new() })
    }

    /// `program leading…`, e.g. Node and the npm bin's script. An empty program is refused.
    pub fn new(program: impl Into<PathBuf>, leading: Vec<OsString>) -> Result<SelfCommand> {
        let program = program.into();
        if program.as_os_str().is_empty() {
            return Err(Error::InvalidArgument {
                what: "program",
                value: String::new(),
                reason: "the command that runs atlas-ports again names no program".to_owned(),
            });
        }
        Ok(SelfCommand { program, leading })
    }

    /// A [`Command`] for it, ready for a subcommand's arguments.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.leading);
        command
    }

    /// The program, then the leading arguments, as paths (for a service file's text).
    pub fn words(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.program.as_path()).chain(self.leading.iter().map(Path::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leading_arguments_come_before_the_subcommand() {
        let this = SelfCommand::new("/usr/bin/node", vec!["/app/bin/atlas-ports.js".into()]).unwrap();
        let mut c = this.command();
        c.arg("dashboard");
        assert_eq!(c.get_program(), "/usr/bin/node");
        assert_eq!(c.get_args().collect::<Vec<_>>(), ["/app/bin/atlas-ports.js", "dashboard"]);
        assert_eq!(
            this.words().collect::<Vec<_>>(),
            [Path::new("/usr/bin/node"), Path::new("/app/bin/atlas-ports.js")]
        );
        assert!(SelfCommand::new("", Vec::new()).is_err());
        assert_eq!(SelfCommand::current_exe().unwrap().words().count(), 1);
    }
}
