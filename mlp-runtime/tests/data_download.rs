//! Finding MNIST (`--data`, `$MLP_DATA/mnist`, the cache) and downloading it into the
//! cache from mirrors, against a tiny HTTP server on 127.0.0.1 that the test starts: no
//! test needs the internet.

mod data_fixtures;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use data_fixtures::{class_labels, idx_set, mnist_npz_members, pixel, write_idx_set, write_npz};
use mlp_runtime::data::{
    download, load_idx_dir, load_mnist, load_mnist_with, DataError, Limits, LoadOptions, Mnist,
    Remote, RemoteFile,
};
use sha2::{Digest, Sha256};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// Options that search only what the test sets up.
fn options() -> LoadOptions {
    LoadOptions {
        data_dir: None,
        mlp_data: None,
        cache_dir: None,
        remote: None,
        limits: Limits::default(),
    }
}

/// A file server on 127.0.0.1: `GET /<prefix>/<name>` answers the file's bytes, anything
/// else 404. It serves at most `MAX_REQUESTS` requests for at most 60 s, then stops.
struct Server {
    base: String,
    requests: Arc<AtomicUsize>,
}

const MAX_REQUESTS: usize = 64;

impl Server {
    fn start(prefix: &str, files: Vec<(String, Vec<u8>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let base = format!(
            "http://{}/{prefix}",
            listener.local_addr().expect("local address")
        );
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let files: HashMap<String, Vec<u8>> = files
            .into_iter()
            .map(|(name, bytes)| (format!("/{prefix}/{name}"), bytes))
            .collect();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_mins(1);
            while Instant::now() < deadline && counter.load(Ordering::SeqCst) < MAX_REQUESTS {
                match listener.accept() {
                    Ok((stream, _)) => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        serve(&stream, &files);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Server { base, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers one HTTP/1.1 request and closes the connection.
fn serve(stream: &TcpStream, files: &HashMap<String, Vec<u8>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let mut stream = stream;
    let _ = match files.get(path) {
        Some(body) => stream
            .write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .and_then(|()| stream.write_all(body)),
        None => stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        ),
    };
    let _ = stream.flush();
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A small gzipped MNIST-shaped set: 6 training and 4 test images of 28x28.
fn remote_files() -> Vec<(String, Vec<u8>)> {
    idx_set(6, 4, 28, 28, true)
}

fn remote(mirrors: Vec<String>, files: &[(String, Vec<u8>)]) -> Remote {
    Remote {
        mirrors,
        files: files
            .iter()
            .map(|(name, bytes)| RemoteFile {
                name: name.clone(),
                sha256: sha256_hex(bytes),
            })
            .collect(),
        timeout: Duration::from_secs(10),
    }
}

/// The files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Checks that `mnist` is the fixture set of `train` and `test` samples.
fn check_fixture(mnist: &Mnist, train: usize, test: usize) {
    assert_eq!((mnist.train.len(), mnist.test.len()), (train, test));
    assert_eq!(
        mnist.train.labels().expect("class targets").to_vec(),
        class_labels(train)
    );
    assert_eq!(
        mnist.test.labels().expect("class targets").to_vec(),
        class_labels(test)
    );
    assert_eq!(
        mnist.train.images().expect("u8 features")[[train - 1, 300]],
        pixel(train - 1, 300)
    );
    assert_eq!(
        mnist.test.images().expect("u8 features")[[0, 783]],
        pixel(0, 783)
    );
}

#[test]
fn downloads_into_the_cache_verified_falling_back_to_the_next_mirror() {
    let files = remote_files();
    let server = Server::start("mnist", files.clone());
    let cache = tempdir();
    let cache_dir = cache.path().join("mlp").join("mnist");
    // The first mirror answers 404 for everything; the second has the files.
    let missing_mirror = server.base.replace("/mnist", "/elsewhere");
    let options = LoadOptions {
        cache_dir: Some(cache_dir.clone()),
        remote: Some(remote(vec![missing_mirror, server.base.clone()], &files)),
        ..options()
    };
    let mnist = load_mnist_with(&options).expect("download from the second mirror");
    check_fixture(&mnist, 6, 4);
    let mut expected: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
    expected.sort();
    assert_eq!(
        listing(&cache_dir),
        expected,
        "only the four verified files are kept"
    );
    assert_eq!(server.requests(), 8, "each file: one 404, one download");

    // A second load finds the cache and asks nothing.
    let again = load_mnist_with(&options).expect("from the cache");
    assert_eq!(again, mnist);
    assert_eq!(server.requests(), 8);

    // A cached file that went bad is downloaded again.
    std::fs::write(cache_dir.join(&files[1].0), b"rotten").expect("spoil the cache");
    download(
        options.remote.as_ref().expect("set above"),
        &cache_dir,
        Limits::default(),
    )
    .expect("re-download");
    assert_eq!(server.requests(), 10);
    assert_eq!(
        std::fs::read(cache_dir.join(&files[1].0)).expect("read back"),
        files[1].1
    );
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_kept() {
    let files = remote_files();
    let server = Server::start("mnist", files.clone());
    let cache = tempdir();
    let mut remote = remote(vec![server.base.clone()], &files);
    let wrong = "0".repeat(64);
    remote.files[0].sha256.clone_from(&wrong);
    let options = LoadOptions {
        cache_dir: Some(cache.path().to_owned()),
        remote: Some(remote),
        ..options()
    };
    let error = load_mnist_with(&options).expect_err("checksum mismatch");
    let DataError::NotFound {
        download: Some(cause),
        ..
    } = &error
    else {
        panic!("expected NotFound with a download error, got {error:?}");
    };
    let DataError::Download { file, attempts } = cause.as_ref() else {
        panic!("expected a Download error, got {cause:?}");
    };
    assert_eq!(file, "train-images-idx3-ubyte.gz");
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].0,
        format!("{}/train-images-idx3-ubyte.gz", server.base)
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "checksum mismatch: expected sha256 {wrong}, got {}",
            sha256_hex(&files[0].1)
        )),
        "{message}"
    );
    assert!(message.contains("the file was not kept"), "{message}");
    assert!(
        listing(cache.path()).is_empty(),
        "no file, partial or whole, is left: {:?}",
        listing(cache.path())
    );
}

#[test]
fn unreachable_mirrors_and_oversized_files_are_reported() {
    let files = remote_files();
    // A port that nothing listens on: bind one, then free it.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let server = Server::start("mnist", files.clone());
    let cache = tempdir();
    let unreachable = format!("http://{closed}/mnist/");
    let remote = remote(vec![unreachable.clone(), server.base.clone()], &files);
    // The gzipped image file is larger than 200 bytes, so the download itself is refused.
    assert!(files[0].1.len() > 200);
    let error =
        download(&remote, cache.path(), Limits { max_bytes: 200 }).expect_err("over the limit");
    let message = error.to_string();
    assert!(
        message.starts_with("could not download train-images-idx3-ubyte.gz: "),
        "{message}"
    );
    assert!(
        message.contains(&format!("{unreachable}train-images-idx3-ubyte.gz: ")),
        "{message}"
    );
    assert!(
        message.contains("more than the limit of 200 bytes"),
        "{message}"
    );
    assert!(
        listing(cache.path()).is_empty(),
        "{:?}",
        listing(cache.path())
    );
}

#[test]
fn data_dir_may_hold_the_files_a_mnist_folder_or_mnist_npz() {
    let root = tempdir();
    // The files themselves, gzipped.
    let flat = root.path().join("flat");
    write_idx_set(&flat, 5, 3, true);
    check_fixture(&load_mnist(Some(&flat)).expect("flat folder"), 5, 3);
    // A mnist/ folder inside, plain files.
    let nested = root.path().join("nested");
    write_idx_set(&nested.join("mnist"), 4, 2, false);
    check_fixture(&load_mnist(Some(&nested)).expect("mnist/ inside"), 4, 2);
    // Keras's mnist.npz.
    let keras = root.path().join("keras");
    std::fs::create_dir_all(&keras).expect("mkdir");
    write_npz(&keras.join("mnist.npz"), &mnist_npz_members(3, 2));
    check_fixture(&load_mnist(Some(&keras)).expect("mnist.npz"), 3, 2);
    // The .npz file itself, named directly.
    let npz = keras.join("mnist.npz");
    check_fixture(&load_mnist(Some(&npz)).expect("the .npz file itself"), 3, 2);
    // Another file: a clear message that a folder (or an .npz) was expected.
    let other = keras.join("notes.txt");
    std::fs::write(&other, "not data").expect("write");
    let error = load_mnist(Some(&other)).expect_err("a text file");
    assert!(matches!(error, DataError::NotAFolder { .. }), "{error}");
    assert!(
        error.to_string().contains("is a file, not a folder"),
        "{error}"
    );
    // The dotted spelling some distributions use.
    let dotted = root.path().join("dotted");
    std::fs::create_dir_all(&dotted).expect("mkdir");
    for (name, bytes) in idx_set(2, 2, 28, 28, false) {
        let name = name.replacen("-idx", ".idx", 1);
        std::fs::write(dotted.join(name), bytes).expect("write");
    }
    check_fixture(&load_idx_dir(&dotted).expect("dotted names"), 2, 2);
}

#[test]
fn an_explicit_data_dir_without_mnist_is_an_error_naming_where_it_looked() {
    let root = tempdir();
    let mlp_data = tempdir();
    write_idx_set(&mlp_data.path().join("mnist"), 2, 2, true);
    // --data wins over $MLP_DATA, and is not silently replaced by it when empty.
    let options = LoadOptions {
        data_dir: Some(root.path().to_owned()),
        mlp_data: Some(mlp_data.path().to_owned()),
        ..options()
    };
    let error = load_mnist_with(&options).expect_err("empty --data folder");
    let DataError::NotFound {
        searched,
        explicit: true,
        download,
    } = &error
    else {
        panic!("expected NotFound, got {error:?}");
    };
    assert_eq!(
        searched,
        &vec![root.path().to_owned(), root.path().join("mnist")]
    );
    assert!(download.is_none());
    let message = error.to_string();
    assert!(
        message.starts_with("MNIST not found (looked for the four IDX files or mnist.npz in "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "the folder given should hold the IDX files, a mnist/ folder with them, or mnist.npz"
        ),
        "{message}"
    );
}

#[test]
fn mlp_data_comes_before_the_cache_and_the_cache_before_the_download() {
    let mlp_data = tempdir();
    let cache = tempdir();
    write_idx_set(&mlp_data.path().join("mnist"), 5, 3, true);
    write_idx_set(cache.path(), 4, 2, true);
    let unreachable = Remote {
        mirrors: vec!["http://127.0.0.1:9/".to_owned()],
        files: Vec::new(),
        timeout: Duration::from_secs(1),
    };
    let both = LoadOptions {
        mlp_data: Some(mlp_data.path().to_owned()),
        cache_dir: Some(cache.path().to_owned()),
        remote: Some(unreachable.clone()),
        ..options()
    };
    check_fixture(&load_mnist_with(&both).expect("from MLP_DATA"), 5, 3);
    let cache_only = LoadOptions {
        mlp_data: Some(cache.path().join("nothing-here")),
        ..both
    };
    check_fixture(&load_mnist_with(&cache_only).expect("from the cache"), 4, 2);
    // Nowhere, and downloads disabled.
    let nowhere = LoadOptions {
        mlp_data: Some(cache.path().join("nothing-here")),
        cache_dir: Some(cache.path().join("empty-cache")),
        remote: None,
        ..options()
    };
    let error = load_mnist_with(&nowhere).expect_err("nothing anywhere");
    assert!(
        matches!(&error, DataError::NotFound { searched, explicit: false, download: None } if searched.len() == 2),
        "{error:?}"
    );
}

#[test]
fn a_half_filled_cache_is_completed_and_a_cached_npz_is_used() {
    let files = remote_files();
    let server = Server::start("mnist", files.clone());
    let cache = tempdir();
    // An earlier download stopped after two files.
    for (name, bytes) in &files[..2] {
        std::fs::write(cache.path().join(name), bytes).expect("write");
    }
    let options = LoadOptions {
        cache_dir: Some(cache.path().to_owned()),
        remote: Some(remote(vec![server.base.clone()], &files)),
        ..options()
    };
    check_fixture(&load_mnist_with(&options).expect("completed cache"), 6, 4);
    assert_eq!(
        server.requests(),
        2,
        "only the two missing files are fetched"
    );
    // Keras's file dropped into the cache is read without any download.
    let npz_cache = tempdir();
    write_npz(
        &npz_cache.path().join("mnist.npz"),
        &mnist_npz_members(3, 2),
    );
    let options = LoadOptions {
        cache_dir: Some(npz_cache.path().to_owned()),
        ..options
    };
    check_fixture(&load_mnist_with(&options).expect("cached npz"), 3, 2);
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_partial_idx_folder_names_the_missing_files() {
    let dir = tempdir();
    write_idx_set(dir.path(), 2, 2, true);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).expect("remove");
    let error = load_mnist(Some(dir.path())).expect_err("three of four files");
    assert!(
        matches!(&error, DataError::MissingFiles { missing, .. } if missing == &["t10k-labels-idx1-ubyte"]),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: missing t10k-labels-idx1-ubyte (an IDX dataset needs its four files, each plain or .gz)",
            dir.path().display()
        )
    );
    // A malformed file found on the way is reported, not skipped.
    std::fs::write(
        dir.path().join("t10k-labels-idx1-ubyte"),
        [0, 0, 8, 1, 0, 0, 0, 2, 4, 11],
    )
    .expect("write");
    let error = load_mnist(Some(dir.path())).expect_err("label 11");
    let expected_path: PathBuf = dir.path().join("t10k-labels-idx1-ubyte");
    assert!(
        matches!(&error, DataError::LabelOutOfRange { path, index: 1, label: 11, .. } if path == &expected_path),
        "{error:?}"
    );
}
