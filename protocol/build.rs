//! Names this build of the protocol and the pages (`protocol::BUILD_ID`): the server
//! says it in every `connected` frame, and a page compiled from another build offers a
//! reload instead of misreading frames. `TICKWIRE_BUILD_ID` when set (a deploy pipeline), else the git
//! commit (`+dirty` with uncommitted changes), else the package version.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=TICKWIRE_BUILD_ID");
    // The crate's own sources, and the commit they belong to.
    println!("cargo:rerun-if-changed=src");
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={head}");
    }
    if let Some(index) = git(&["rev-parse", "--git-path", "index"]) {
        println!("cargo:rerun-if-changed={index}");
    }
    let id = std::env::var("TICKWIRE_BUILD_ID")
        .ok()
        .filter(|id| !id.trim().is_empty())
        .or_else(|| {
            let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|changes| !changes.is_empty());
            Some(if dirty {
                format!("{commit}+dirty")
            } else {
                commit
            })
        })
        .unwrap_or_else(|| format!("v{}", env!("CARGO_PKG_VERSION")));
    println!("cargo:rustc-env=TICKWIRE_BUILD_ID={id}");
}
