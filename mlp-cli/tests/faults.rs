//! `mlp train` under faults, run for real: a disk that fills up and a folder that turns
//! read-only under a checkpoint folder (a tiny tmpfs mounted for the test; `mlp compare`'s
//! result files on a full disk too), two runs on one
//! checkpoint folder (two real processes, the first one killed), and the edges of resuming
//! (nothing left to train, a missing folder, a checkpoint of another architecture or
//! training configuration).
//!
//! Every run trains a tiny model on a tiny synthetic MNIST (64 training images), so a
//! checkpoint is about 94 KB and an epoch takes milliseconds. The tmpfs tests need root (CI
//! runs as root); elsewhere they say loudly that they were skipped, and the atomic writer's
//! behaviour under a failing write is still checked by an injected fault.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mlp_runtime::{Model, Network};
use mlp_test_support::{assert_exit, idx, listing, output, stderr, stdout, Cli};

const MLP: Cli = Cli::new(env!("CARGO_BIN_EXE_mlp"));

const SPEC: &str = "
model Tiny {
    input [28, 28]
    Flatten
    Rescale(0.00392156862745098)
    Dense(16, activation = relu)
    Dense(10, activation = softmax)
    train {
        optimizer = adam
        loss = sparse_categorical_crossentropy
        metrics = [accuracy]
        batch = 8
        epochs = 1
        seed = 1
    }
}
";

/// A folder holding `tiny.mlp` and a tiny MNIST in `data/`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("tiny.mlp"), SPEC).unwrap();
    idx::write_mnist(&dir.path().join("data"), 64, 16);
    dir
}

/// `mlp train tiny.mlp --data data args…` in `dir`.
fn train(dir: &Path, args: &[&str]) -> Output {
    output(&mut train_command(dir, args))
}

fn train_command(dir: &Path, args: &[&str]) -> Command {
    let mut command = MLP.command(dir);
    command
        .args(["train", "tiny.mlp", "--data", "data"])
        .args(args)
        .env_remove("MLP_DATA");
    command
}

/// The temporary files the atomic writer would leave behind, if it left any.
fn temporaries(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| {
            Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tmp") || e.eq_ignore_ascii_case("part"))
        })
        .collect()
}

/// Asserts that the checkpoint at `path` is complete and loads into the spec's model.
fn loads(path: &Path) {
    let model = mlp_spec::compile(SPEC).unwrap().models.remove(0);
    let mut net = Network::new(&model, 0, 1).unwrap();
    net.load(path)
        .unwrap_or_else(|e| panic!("{} no longer loads: {e}", path.display()));
}

// ---------------------------------------------------------------------------------------------
// A. Disk full and read-only folders.

/// A tmpfs mounted for the test, unmounted when dropped (even when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` reads it) at `dir` (created), or says
    /// why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if out.status.success() {
            Ok(Tmpfs {
                dir: dir.to_owned(),
            })
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Makes the mount read-only.
    fn remount_read_only(&self) {
        let out = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so that a failed test's open files cannot keep the mount alive.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Whether this process runs as root (uid 0), from `/proc/self/status`.
fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next().map(|uid| uid == "0"))
            .unwrap_or(false)
    })
}

/// Mounts a tmpfs at `dir`, or, when that is impossible and we are not root, says loudly
/// that the test is skipped and returns `None`. As root (CI), a failed mount fails the test.
fn tmpfs_or_skip(dir: &Path, size: &str, test: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, size) {
        Ok(mount) => Some(mount),
        Err(why) => {
            assert!(
                !is_root(),
                "running as root, yet mounting a tmpfs failed: {why}"
            );
            eprintln!(
                "\n!!!!! SKIPPED `{test}`: cannot mount a tmpfs ({why}); run the tests as root \
                 to exercise a real full disk. The injected-fault test still runs.\n"
            );
            None
        }
    }
}

/// Fills the file system holding `dir` until a write fails with "no space".
fn fill(dir: &Path) {
    let mut file = fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0xAB; 4096];
    loop {
        match file.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    // Whatever part of the last block did fit stays; the file system is now full.
}

#[test]
fn a_full_disk_stops_training_naming_the_file_and_keeps_the_last_checkpoint() {
    let dir = setup();
    let d = dir.path();
    let Some(_mount) = tmpfs_or_skip(&d.join("full"), "256k", "full disk") else {
        return;
    };
    // One checkpoint (about 94 KB) fits.
    assert_exit(&train(d, &["--quiet", "--checkpoint-dir", "full/ck"]), 0);
    let first = d.join("full/ck/epoch-0001.safetensors");
    let before = fs::read(&first).unwrap();
    fill(&d.join("full"));

    // The next one does not: exit 2 naming it, the last one intact, nothing left behind.
    let out = train(
        d,
        &[
            "--quiet",
            "--resume",
            "full/ck",
            "--checkpoint-dir",
            "full/ck",
            "--epochs",
            "3",
        ],
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot write `full/ck/epoch-0002.safetensors`: ")
            && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(
        fs::read(&first).unwrap(),
        before,
        "the last checkpoint changed"
    );
    loads(&first);
    assert_eq!(temporaries(&d.join("full/ck")), Vec::<String>::new());
    assert_eq!(
        listing(&d.join("full/ck")),
        [".lock", "epoch-0001.safetensors"]
    );

    // A History that cannot be written: the same, for a file written after training.
    let out = train(d, &["--quiet", "--history", "full/h.json"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("cannot write `full/h.json`"), "{err}");
    assert!(!d.join("full/h.json").exists());
    assert_eq!(temporaries(&d.join("full")), Vec::<String>::new());

    // --on-write-error continue: warned, trained to the end, other files still written.
    let out = train(
        d,
        &[
            "--quiet",
            "--resume",
            "full/ck",
            "--checkpoint-dir",
            "full/ck",
            "--epochs",
            "3",
            "--on-write-error",
            "continue",
            "--history",
            "full/h.json",
            "--save",
            "model.safetensors",
        ],
    );
    assert_exit(&out, 0);
    let err = stderr(&out);
    for file in [
        "full/ck/epoch-0002.safetensors",
        "full/ck/epoch-0003.safetensors",
        "full/h.json",
    ] {
        assert!(
            err.contains(&format!("warning: cannot write `{file}`")),
            "{file}: {err}"
        );
    }
    assert!(!err.contains("error:"), "{err}");
    assert_eq!(fs::read(&first).unwrap(), before);
    assert_eq!(temporaries(&d.join("full/ck")), Vec::<String>::new());
    // Trained to epoch 3: the model saved outside the full disk says so.
    let model = mlp_spec::compile(SPEC).unwrap().models.remove(0);
    let mut net = Network::new(&model, 0, 1).unwrap();
    let info = net.load(&d.join("model.safetensors")).unwrap();
    assert_eq!(info.training.unwrap().epoch, 3);
}

#[test]
fn a_read_only_checkpoint_folder_stops_training_naming_the_file() {
    let dir = setup();
    let d = dir.path();
    let Some(mount) = tmpfs_or_skip(&d.join("ro"), "1m", "read-only folder") else {
        return;
    };
    assert_exit(&train(d, &["--quiet", "--checkpoint-dir", "ro/ck"]), 0);
    let first = d.join("ro/ck/epoch-0001.safetensors");
    let before = fs::read(&first).unwrap();
    // Root ignores `chmod 0555`; a read-only mount stops root too.
    mount.remount_read_only();
    let out = train(
        d,
        &[
            "--quiet",
            "--resume",
            "ro/ck",
            "--checkpoint-dir",
            "ro/ck",
            "--epochs",
            "2",
        ],
    );
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot write `ro/ck/epoch-0002.safetensors`: ")
            && err.contains("Read-only file system"),
        "{err}"
    );
    assert_eq!(fs::read(&first).unwrap(), before);
    loads(&first);
    assert_eq!(
        listing(&d.join("ro/ck")),
        [".lock", "epoch-0001.safetensors"]
    );
    // And with --on-write-error continue, a warning and exit 0.
    let out = train(
        d,
        &[
            "--quiet",
            "--resume",
            "ro/ck",
            "--checkpoint-dir",
            "ro/ck",
            "--epochs",
            "2",
            "--on-write-error",
            "continue",
        ],
    );
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("warning: cannot write `ro/ck/epoch-0002.safetensors`"),
        "{}",
        stderr(&out)
    );
}

/// `mlp compare tiny.mlp --data data --out OUT args…` in `dir`.
fn compare(dir: &Path, out: &str, args: &[&str]) -> Output {
    let mut command = MLP.command(dir);
    command
        .args(["compare", "tiny.mlp", "--data", "data", "--out", out])
        .args(args)
        .env_remove("MLP_DATA");
    output(&mut command)
}

/// What `mlp compare tiny.mlp` writes into its `--out`, sorted.
const COMPARE_FILES: [&str; 4] = [
    "compare.png",
    "results.md",
    "tiny.history.csv",
    "tiny.history.json",
];

#[test]
fn compare_on_a_full_disk_stops_naming_the_file_unless_told_to_continue() {
    let dir = setup();
    let d = dir.path();
    let Some(_mount) = tmpfs_or_skip(&d.join("full"), "256k", "compare on a full disk") else {
        return;
    };
    assert_exit(&compare(d, "full/cmp", &["--quiet"]), 0);
    let out = d.join("full/cmp");
    assert_eq!(listing(&out), COMPARE_FILES);
    let contents = || -> Vec<Vec<u8>> {
        COMPARE_FILES
            .iter()
            .map(|file| fs::read(out.join(file)).unwrap())
            .collect()
    };
    let before = contents();
    fill(&d.join("full"));

    // By default the first file that cannot be written stops: exit 2 naming it, every
    // previous file intact, nothing left behind.
    let run = compare(d, "full/cmp", &["--quiet"]);
    assert_exit(&run, 2);
    let err = stderr(&run);
    assert!(
        err.starts_with("error: cannot write `full/cmp/tiny.history.json`: ")
            && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(listing(&out), COMPARE_FILES, "a temporary file was left");
    assert!(contents() == before, "a previous result file changed");

    // --on-write-error continue: each file warned about by name, exit 0, the closing line
    // lists them; still nothing changed and nothing left behind.
    let run = compare(d, "full/cmp", &["--on-write-error", "continue"]);
    assert_exit(&run, 0);
    let err = stderr(&run);
    for file in COMPARE_FILES {
        assert!(
            err.contains(&format!(
                "warning: cannot write `full/cmp/{file}`: No space left on device"
            )),
            "{file}: {err}"
        );
    }
    assert!(!err.contains("error:"), "{err}");
    assert!(
        stdout(&run).contains(
            "Could not write `full/cmp/tiny.history.json`, `full/cmp/tiny.history.csv`, \
             `full/cmp/results.md`, `full/cmp/compare.png` (--on-write-error continue)"
        ),
        "{}",
        stdout(&run)
    );
    assert_eq!(listing(&out), COMPARE_FILES, "a temporary file was left");
    assert!(contents() == before, "a previous result file changed");

    // What can be written still is: a plot outside the full disk.
    let run = compare(
        d,
        "full/cmp",
        &[
            "--quiet",
            "--on-write-error",
            "continue",
            "--plot",
            "cmp.png",
        ],
    );
    assert_exit(&run, 0);
    let err = stderr(&run);
    assert_eq!(err.matches("warning: cannot write").count(), 3, "{err}");
    assert!(!err.contains("cmp.png"), "{err}");
    assert!(fs::metadata(d.join("cmp.png")).unwrap().len() > 1000);
}

/// The writer behind every file, under a fault injected half-way through a write (what a
/// full disk does), checked without a mount so that it runs everywhere.
#[test]
fn an_injected_write_fault_leaves_the_previous_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("epoch-0001.safetensors");
    fs::write(&path, b"the previous checkpoint").unwrap();
    let result = mlp_runtime::fs::write_atomic_with(&path, |file| {
        file.write_all(&[7; 10_000])
            .map_err(|e| mlp_runtime::fs::WriteError::new(&path, e))?;
        Err(mlp_runtime::fs::WriteError::new(
            &path,
            io::Error::from_raw_os_error(28),
        ))
    });
    let error = result.unwrap_err();
    assert_eq!(error.path, path);
    assert!(
        error.to_string().contains("No space left on device"),
        "{error}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"the previous checkpoint");
    assert_eq!(listing(dir.path()), ["epoch-0001.safetensors"]);
}

// ---------------------------------------------------------------------------------------------
// B. Two runs, one checkpoint folder.

/// Kills the child when dropped, so a failing test leaves no training process behind.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_second_run_on_a_held_folder_is_refused_naming_the_first_and_a_kill_frees_it() {
    let dir = setup();
    let d = dir.path();
    // Long enough to be killed while training: 8 steps and a checkpoint per epoch.
    let mut first = Running(
        train_command(
            d,
            &["--quiet", "--checkpoint-dir", "ck", "--epochs", "1000000"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let pid = first.0.id();
    // Wait until the first run holds the folder and has written its pid (a generous bound
    // on a busy machine; nothing is timed).
    let lock = d.join("ck/.lock");
    let deadline = Instant::now() + Duration::from_mins(2);
    while !fs::read_to_string(&lock).is_ok_and(|t| t.trim() == pid.to_string()) {
        assert!(
            first.0.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        assert!(
            Instant::now() < deadline,
            "the first run never took the folder"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    for args in [
        &["--quiet", "--checkpoint-dir", "ck"][..],
        &["--quiet", "--resume", "ck", "--checkpoint-dir", "ck"][..],
        &["--quiet", "--resume", "ck"][..],
        &["--quiet", "--resume", "ck", "--checkpoint-dir", "other"][..],
    ] {
        let out = train(d, args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.starts_with("error: cannot use `ck`: the folder is in use by another run")
                && err.contains(&format!("(pid {pid})")),
            "{args:?}: {err}"
        );
    }

    // Killed (no chance to clean up): the folder is free again.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    let out = train(
        d,
        &["--resume", "ck", "--checkpoint-dir", "ck", "--epochs", "1"],
    );
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains("in use"), "{}", stderr(&out));
}

// ---------------------------------------------------------------------------------------------
// C. Resume edge cases.

#[test]
fn resuming_a_finished_run_says_there_is_nothing_to_train() {
    let dir = setup();
    let d = dir.path();
    assert_exit(
        &train(d, &["--quiet", "--checkpoint-dir", "ck", "--epochs", "2"]),
        0,
    );
    let out = train(d, &["--resume", "ck", "--epochs", "2"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "resumed `ck/epoch-0002.safetensors`: epoch 2, step 16\n\
         checkpoint at epoch 2 ≥ --epochs 2: nothing to train\n"
    );
    let out = train(d, &["--resume", "ck"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("checkpoint at epoch 2 ≥ the spec's epochs = 1: nothing to train"),
        "{}",
        stdout(&out)
    );
    // Going on trains the next epoch only, after saying where it starts.
    let out = train(
        d,
        &["--resume", "ck", "--checkpoint-dir", "ck", "--epochs", "3"],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("resumed `ck/epoch-0002.safetensors`: epoch 2, step 16\n"),
        "{text}"
    );
    assert!(
        text.contains("Epoch 3/3") && !text.contains("Epoch 2/3"),
        "{text}"
    );
}

#[test]
fn resuming_into_a_missing_checkpoint_folder_starts_from_scratch_and_creates_it() {
    let dir = setup();
    let d = dir.path();
    let out = train(d, &["--resume", "new", "--checkpoint-dir", "new"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("`new` did not exist (created it): training from scratch\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(listing(&d.join("new")), [".lock", "epoch-0001.safetensors"]);
    // Alone, a missing --resume folder is still refused (a typo must not restart a run).
    let out = train(d, &["--resume", "typo"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("cannot read `typo`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn resuming_under_another_spec_is_refused_naming_the_first_difference() {
    let dir = setup();
    let d = dir.path();
    assert_exit(&train(d, &["--quiet", "--checkpoint-dir", "ck"]), 0);
    let checkpoint = "`ck/epoch-0001.safetensors`";

    // Another architecture: refused, whatever the flags.
    fs::write(d.join("tiny.mlp"), SPEC.replace("Dense(16,", "Dense(32,")).unwrap();
    for extra in [&[][..], &["--allow-config-change"][..]] {
        let out = train(
            d,
            &[&["--resume", "ck", "--epochs", "2"][..], extra].concat(),
        );
        assert_exit(&out, 1);
        assert_eq!(
            stderr(&out),
            format!(
                "error: cannot resume from {checkpoint}: it was written for another \
                 architecture: layer 2 `dense`: units 16 in the checkpoint, 32 in the spec\n"
            )
        );
    }

    // Another training configuration: refused unless allowed, then listed.
    fs::write(
        d.join("tiny.mlp"),
        SPEC.replace("optimizer = adam", "optimizer = adam(lr = 0.01)"),
    )
    .unwrap();
    let out = train(d, &["--resume", "ck", "--epochs", "2", "--batch", "4"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: cannot resume from {checkpoint}: its training configuration differs"
        )) && err.contains("batch 8 in the checkpoint, 4 in this run")
            && err.contains("optimizer.learning_rate 0.001 in the checkpoint, 0.01 in this run")
            && err.contains("--allow-config-change"),
        "{err}"
    );
    let out = train(
        d,
        &[
            "--resume",
            "ck",
            "--epochs",
            "2",
            "--batch",
            "4",
            "--allow-config-change",
        ],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "training configuration changed since the checkpoint (--allow-config-change): \
             batch 8 in the checkpoint, 4 in this run; optimizer.learning_rate 0.001 in the checkpoint, \
             0.01 in this run\nresumed `ck/epoch-0001.safetensors`: epoch 1, step 8\n"
        ),
        "{text}"
    );
    // Only the epochs and the seed may change freely.
    fs::write(d.join("tiny.mlp"), SPEC).unwrap();
    let out = train(d, &["--resume", "ck", "--epochs", "2", "--seed", "9"]);
    assert_exit(&out, 0);
}
