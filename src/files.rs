//! Files the service makes for itself — the SQLite database and its lock, the `dev` secret, mail
//! written as `.eml` — hold cases and people: readable by the service's own user only
//! (directories 0700, files 0600). What exists already is the operator's and keeps its mode.

use std::path::Path;

/// Creates `dir` and its missing parents, owner only.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Options that create a file owner-only (the mode applies only when it is created).
pub fn private_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `file` empty and owner-only, unless it is there.
pub fn private_file(file: &Path) -> std::io::Result<()> {
    match private_options().write(true).create_new(true).open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}
