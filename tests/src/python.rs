//! The Python the tests run (third-party clients, grpcio, schemathesis): a virtual environment
//! of the tests' own under the target directory (`<target>/py-venv`), made with
//! `python3 -m venv` and filled from the pinned requirement files on first use, so the test
//! command needs nothing installed by hand and never touches the system Python.
//!
//! Guarantees: [`python`] answers the venv's interpreter once every pinned requirement is
//! installed; the install runs once per process and, across processes (test binaries run in
//! parallel), under an exclusive lock on `<target>/py-venv.lock`; it runs again when a
//! requirements file changes (the venv keeps a copy of what it was filled from in
//! `isthmus-requirements.stamp`). What it does not do: work offline on a fresh machine (pip
//! needs the package index or a cache).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The requirement files the venv is filled from, relative to the workspace root.
pub const REQUIREMENTS: [&str; 2] = [
    "tests/thirdparty/requirements.txt",
    "tests/schemathesis/requirements.txt",
];

/// The venv's `python`, with every pinned requirement installed; `Err` says what failed.
pub fn python() -> Result<PathBuf, String> {
    static READY: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    READY.get_or_init(prepare).clone()
}

/// `<target>/py-venv`: the test binary is `<target>/<profile>/deps/<name>`.
pub fn venv_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("py-venv")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn prepare() -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let mut wanted = String::new();
    for file in REQUIREMENTS {
        let text =
            std::fs::read_to_string(root.join(file)).map_err(|e| format!("reading {file}: {e}"))?;
        wanted.push_str(&format!("# {file}\n{text}\n"));
    }
    let parent = venv.parent().expect("the venv has a parent");
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let lock = std::fs::File::create(parent.join("py-venv.lock"))
        .map_err(|e| format!("creating the venv lock: {e}"))?;
    lock.lock()
        .map_err(|e| format!("locking the venv lock: {e}"))?;
    let stamp = venv.join("isthmus-requirements.stamp");
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .map_err(|e| format!("python3 -m venv {}: {e}", venv.display()))?;
    }
    let mut install = Command::new(&python);
    install.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"]);
    for file in REQUIREMENTS {
        install.arg("-r").arg(root.join(file));
    }
    run(&mut install).map_err(|e| format!("pip install of {REQUIREMENTS:?} into the venv: {e}"))?;
    std::fs::write(&stamp, wanted).map_err(|e| format!("writing {}: {e}", stamp.display()))?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
