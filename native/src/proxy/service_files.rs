//! User-level service definitions that keep the proxy running in the foreground under the
//! system's service manager: a systemd user unit, a launchd agent. Each runs
//! `<exe> dashboard --port P --registry <registry>` and restarts it when it fails. Paths are
//! quoted by each format's own rules, so folders with spaces, quotes, `%` or `$` survive.

use crate::SelfCommand;
use atlas_ports_core::{Error, Result};
use std::path::{Path, PathBuf};

/// The service managers a file is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// A systemd user unit (`systemctl --user`).
    Systemd,
    /// A launchd agent (`launchctl`, macOS).
    Launchd,
}

/// The launchd agent's label (and file name).
const LAUNCHD_LABEL: &str = "dev.atlas-ports.proxy";

/// Where `--install` writes the file: `$XDG_CONFIG_HOME/systemd/user/atlas-ports-proxy.service`
/// (`~/.config` when unset), `~/Library/LaunchAgents/dev.atlas-ports.proxy.plist`; and the
/// command that enables it.
pub fn install_path(kind: ServiceKind) -> Result<(PathBuf, String)> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let no_home = || Error::InvalidArgument {
        what: "HOME",
        value: String::new(),
        reason: "is not set: there is no home folder to install the service file in".to_owned(),
    };
    Ok(match kind {
        ServiceKind::Systemd => {
            let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|c| !c.is_empty()) {
                Some(c) => PathBuf::from(c),
                None => home.ok_or_else(no_home)?.join(".config"),
            };
            let path = config.join("systemd/user/atlas-ports-proxy.service");
            (
                path,
                "systemctl --user daemon-reload && systemctl --user enable --now atlas-ports-proxy.service".to_owned(),
            )
        }
        ServiceKind::Launchd => {
            let path = home.ok_or_else(no_home)?.join(format!("Library/LaunchAgents/{LAUNCHD_LABEL}.plist"));
            let command = format!("launchctl load -w {}", sh_quote(&path.display().to_string()));
            (path, command)
        }
    })
}

/// The service file's text for running atlas-ports (`this`) as the proxy of `registry` on `port`, its log
/// (launchd writes it; systemd keeps the journal) at `log`.
pub fn render(kind: ServiceKind, this: &SelfCommand, registry: &Path, port: u16, log: &Path) -> Result<String> {
    let mut args: Vec<String> = this.words().map(|w| text(w, "the atlas-ports executable")).collect::<Result<_>>()?;
    args.extend(["dashboard".to_owned(), "--port".to_owned(), port.to_string(), "--registry".to_owned()]);
    args.push(text(registry, "the registry")?);
    Ok(match kind {
        ServiceKind::Systemd => {
            let exec: Vec<String> = args.iter().map(|a| systemd_quote(a)).collect();
            format!(
                "[Unit]\nDescription=atlas-ports proxy: named URLs for {}\nAfter=network.target\n\n\
                 [Service]\nType=simple\nExecStart={}\nRestart=on-failure\nRestartSec=2\n\n\
                 [Install]\nWantedBy=default.target\n",
                systemd_line(args.last().expect("the registry")),
                exec.join(" ")
            )
        }
        ServiceKind::Launchd => {
            let program: String = args.iter().map(|a| format!("    <string>{}</string>\n", xml_escape(a))).collect();
            let log = xml_escape(&text(log, "the log")?);
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
                 <plist version=\"1.0\">\n<dict>\n  <key>Label</key>\n  <string>{LAUNCHD_LABEL}</string>\n\
                 \x20 <key>ProgramArguments</key>\n  <array>\n{program}  </array>\n\
                 \x20 <key>RunAtLoad</key>\n  <true/>\n\
                 \x20 <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>\n\
                 \x20 <key>StandardOutPath</key>\n  <string>{log}</string>\n\
                 \x20 <key>StandardErrorPath</key>\n  <string>{log}</string>\n\
                 </dict>\n</plist>\n"
            )
        }
    })
}

/// A path as text: UTF-8 with no control characters (neither format can carry a line break
/// in an argument safely).
fn text(path: &Path, what: &'static str) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidArgument {
        what: "path",
        value: path.display().to_string(),
        reason: format!("{what}'s path {reason}, which a service file can't hold"),
    };
    let s = path.to_str().ok_or_else(|| invalid("is not UTF-8"))?;
    if s.chars().any(char::is_control) {
        return Err(invalid("has a control character"));
    }
    Ok(s.to_owned())
}

/// One argument of `ExecStart=`: in double quotes, with `\` and `"` escaped by a backslash, and
/// systemd's specifier `%` and variable `$` doubled, so it is taken literally.
fn systemd_quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Free text in a unit file line (the description): `%` doubled.
fn systemd_line(text: &str) -> String {
    text.replace('%', "%%")
}

/// Text inside a plist `<string>`.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

/// POSIX single-quoting for a command shown to be pasted.
fn sh_quote(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_each_format() {
        assert_eq!(systemd_quote(r#"/a b/"q"\%$x"#), r#""/a b/\"q\"\\%%$$x""#);
        assert_eq!(xml_escape("a&b<c>'\""), "a&amp;b&lt;c&gt;&apos;&quot;");
        assert_eq!(sh_quote("/h/it's"), r"'/h/it'\''s'");
        let unit = render(
            ServiceKind::Systemd,
            &SelfCommand::new("/o p/atlas-ports", Vec::new()).unwrap(),
            Path::new("/r/ports.json"),
            1355,
            Path::new("/l"),
        )
        .unwrap();
        assert!(
            unit.contains(
                "ExecStart=\"/o p/atlas-ports\" \"dashboard\" \"--port\" \"1355\" \"--registry\" \"/r/ports.json\"\n"
            ),
            "{unit}"
        );
        let node = SelfCommand::new("/usr/bin/node", vec!["/app/bin/atlas-ports.js".into()]).unwrap();
        let unit = render(ServiceKind::Systemd, &node, Path::new("/r/ports.json"), 1355, Path::new("/l")).unwrap();
        assert!(unit.contains("ExecStart=\"/usr/bin/node\" \"/app/bin/atlas-ports.js\" \"dashboard\" "), "{unit}");
        let plist = render(ServiceKind::Launchd, &node, Path::new("/r/ports.json"), 1355, Path::new("/l")).unwrap();
        assert!(plist.contains("<string>/usr/bin/node</string>\n    <string>/app/bin/atlas-ports.js</string>\n    <string>dashboard</string>"), "{plist}");
        let bad = SelfCommand::new("/a\nb", Vec::new()).unwrap();
        assert!(render(ServiceKind::Launchd, &bad, Path::new("/r"), 1, Path::new("/l")).is_err());
    }
}
