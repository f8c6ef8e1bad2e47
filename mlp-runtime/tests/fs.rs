//! `mlp_runtime::fs`, the one atomic writer: new files get the umask's mode, replaced files
//! keep theirs, a failed write leaves the previous file and no temporary file, a symbolic
//! link is written through, and every error names the target.

use mlp_runtime::fs::{write_atomic, write_atomic_by_path, write_atomic_with, WriteError};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("temporary folder: {e}"))
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Set in the child process of [`new_files_get_the_mode_the_umask_allows`]: the file to write.
const CHILD: &str = "MLP_FS_TEST_WRITE";

/// The umask is per process, so each case runs this test binary again, under `sh -c 'umask
/// …; exec …'`, to write one file.
#[test]
fn new_files_get_the_mode_the_umask_allows() {
    if let Some(path) = std::env::var_os(CHILD) {
        write_atomic(Path::new(&path), b"written by the child\n").unwrap();
        return;
    }
    let me = std::env::current_exe().unwrap();
    // 022 is the common default (checkpoints used to come out 0600 under it); 027 and 077
    // show the mode follows the umask rather than being a constant.
    for (umask, expected) in [("022", 0o644), ("027", 0o640), ("077", 0o600)] {
        let dir = tempdir();
        let path = dir.path().join("history.csv");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" --exact new_files_get_the_mode_the_umask_allows --test-threads 1 --quiet"
            ))
            .arg(&me)
            .env(CHILD, &path)
            .status()
            .unwrap();
        assert!(status.success(), "umask {umask}: the child failed");
        assert_eq!(fs::read_to_string(&path).unwrap(), "written by the child\n");
        assert_eq!(
            mode(&path),
            expected,
            "umask {umask}: mode {:o}",
            mode(&path)
        );
        assert_eq!(listing(dir.path()), ["history.csv"], "umask {umask}");
    }
}

#[test]
fn overwriting_replaces_the_content_and_keeps_the_mode() {
    let dir = tempdir();
    let path = dir.path().join("results.md");
    fs::write(&path, "old, and longer than the new text\n").unwrap();
    for m in [0o600, 0o640, 0o755] {
        fs::set_permissions(&path, fs::Permissions::from_mode(m)).unwrap();
        write_atomic(&path, b"new\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(mode(&path), m);
    }
    assert_eq!(listing(dir.path()), ["results.md"]);
}

/// The error of a writer closure: ours, or the writer's.
#[derive(Debug)]
enum Failure {
    Mine(&'static str),
    #[expect(dead_code, reason = "shown by `Debug` when an assertion fails")]
    Writer(WriteError),
}

impl From<WriteError> for Failure {
    fn from(e: WriteError) -> Self {
        Failure::Writer(e)
    }
}

#[test]
fn a_failing_writer_leaves_the_previous_file_and_no_temporary_file() {
    let dir = tempdir();
    let path = dir.path().join("epoch-0001.safetensors");
    fs::write(&path, "previous").unwrap();
    let result = write_atomic_with(&path, |file| {
        // Half a file, then a failure: none of it may show.
        file.write_all(b"half a file")
            .map_err(|e| Failure::Writer(WriteError::new(&path, e)))?;
        Err(Failure::Mine("encoder gave up"))
    });
    assert!(
        matches!(result, Err(Failure::Mine("encoder gave up"))),
        "{result:?}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "previous");
    assert_eq!(listing(dir.path()), ["epoch-0001.safetensors"]);

    // The same by path, for a file that did not exist: still nothing left.
    let png = dir.path().join("loss.png");
    let result = write_atomic_by_path(&png, "png", |temp| {
        assert!(
            temp.to_string_lossy().ends_with(".png"),
            "{}",
            temp.display()
        );
        fs::write(temp, "half a plot").map_err(|e| WriteError::new(temp, e))?;
        Err(Failure::Mine("drawing failed"))
    });
    assert!(
        matches!(result, Err(Failure::Mine("drawing failed"))),
        "{result:?}"
    );
    assert_eq!(listing(dir.path()), ["epoch-0001.safetensors"]);
}

#[test]
fn writing_by_path_commits_what_the_encoder_wrote() {
    let dir = tempdir();
    let png = dir.path().join("loss.png");
    fs::write(&png, "an old plot").unwrap();
    write_atomic_by_path(&png, "png", |temp| -> Result<(), WriteError> {
        // As an image encoder does: create (truncate) the file by its name.
        fs::write(temp, "a new plot").map_err(|e| WriteError::new(temp, e))
    })
    .unwrap();
    assert_eq!(fs::read_to_string(&png).unwrap(), "a new plot");
    assert_eq!(listing(dir.path()), ["loss.png"]);
}

#[test]
fn a_parent_that_is_a_file_or_missing_is_an_error_naming_the_path() {
    let dir = tempdir();
    let file = dir.path().join("not-a-folder");
    fs::write(&file, "a file").unwrap();
    let cases: [(PathBuf, io::ErrorKind); 2] = [
        (file.join("h.json"), io::ErrorKind::NotADirectory),
        (dir.path().join("missing/h.json"), io::ErrorKind::NotFound),
    ];
    for (path, kind) in cases {
        let error = write_atomic(&path, b"{}").unwrap_err();
        assert_eq!(error.path, path);
        assert_eq!(error.source.kind(), kind, "{error}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!("cannot write `{}`: ", path.display())),
            "{message}"
        );
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "a file");
    assert_eq!(listing(dir.path()), ["not-a-folder"]);
}

#[test]
fn a_symbolic_link_is_written_through() {
    let dir = tempdir();
    let real = dir.path().join("real.mlp");
    let link = dir.path().join("link.mlp");
    fs::write(&real, "old").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real.mlp", &link).unwrap();
    write_atomic(&link, b"new").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    assert_eq!(mode(&real), 0o640);
    assert_eq!(listing(dir.path()), ["link.mlp", "real.mlp"]);
}

#[test]
fn a_path_without_a_file_name_is_refused() {
    let dir = tempdir();
    let error = write_atomic(&dir.path().join(".."), b"x").unwrap_err();
    assert_eq!(error.source.kind(), io::ErrorKind::InvalidInput, "{error}");
}
